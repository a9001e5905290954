import { DEFAULT_TIMEOUT_MS } from '../config/annotations.ts';
import type {
  EndpointSlice,
  Labels,
  Namespace,
  NamespacedName,
  NetworkPolicy,
  Node,
  ObjectRef,
  Pod,
  Protocol,
  Service,
} from '../model/types.ts';
import type { Outcome } from '../probe/outcome.ts';
import type { Reason, Severity } from './catalog.ts';

/** A port as a finding names it: the Service port (or container port) and the number connected to. */
export interface PortRef {
  readonly name: string;
  readonly number: number;
  readonly protocol: Protocol;
}

export type PodRef = NamespacedName;

/** A hop of a Service's data path (hops.ts): ClusterIP, NodePort, its health check, load balancer. */
export type HopKind = 'cluster-ip' | 'node-port' | 'health-check' | 'load-balancer';

/** One probe as evidence: where it went and how it ended. */
export interface OutcomeEvidence {
  readonly ip: string;
  readonly port: number;
  readonly outcome: Outcome;
  readonly pod?: string | undefined;
  /** True for a probe the sidecar ran on 127.0.0.1 / ::1 inside the pod. */
  readonly loopback?: boolean | undefined;
  /** Set for a probe of the Service's data path (ClusterIP, NodePort, health check, load balancer). */
  readonly hop?: HopKind | undefined;
  /** The node of a NodePort or health-check probe. */
  readonly node?: string | undefined;
}

export interface Evidence {
  readonly pods: readonly PodRef[];
  readonly outcomes: readonly OutcomeEvidence[];
  /** `namespace/name` of the NetworkPolicies a ConnectTimeout blames. */
  readonly policies: readonly string[];
}

export interface Finding {
  readonly reason: Reason;
  readonly severity: Severity;
  readonly object: ObjectRef;
  readonly port?: PortRef | undefined;
  /** Stable: no times, no latencies, deterministic order. */
  readonly message: string;
  /** Ends with `run: sockeye explain <Reason>`. */
  readonly hint: string;
  readonly evidence: Evidence;
}

/**
 * What a probe of `ip:port` from the prober's pod ended with. Shaped so that src/probe's results (which
 * carry more: latency, errno) can be passed as they are.
 */
export interface ProbeObservation {
  readonly target: { readonly ip: string; readonly port: number };
  readonly outcome: Outcome;
  /** What an HTTP check on an open target saw (kube-proxy's health check: 200, or 503 without a local endpoint). */
  readonly app?: { readonly kind: string; readonly status?: number | undefined } | undefined;
}

/** What the sidecar saw connecting to 127.0.0.1 (or ::1) inside a pod. */
export interface LoopbackResult {
  readonly namespace: string;
  readonly pod: string;
  readonly port: number;
  readonly outcome: Outcome;
}

/** Where sockeye's probes come from, to decide whether a NetworkPolicy drops them. */
export interface ProberIdentity {
  readonly namespace: string;
  readonly labels: Labels;
  /** The prober pod's own IPs, for `ipBlock` peers. */
  readonly ips?: readonly string[] | undefined;
  /** The node the prober runs on (downward API `spec.nodeName`): whose data path a ClusterIP probe crosses. */
  readonly nodeName?: string | undefined;
  /** Probing from outside the cluster (the audit on a workstation): a ClusterIP is reached through this machine's route. */
  readonly outside?: boolean | undefined;
}

export interface RuleOptions {
  /** Probe and judge Services without a selector (their endpoints are managed by someone else). */
  readonly selectorless: boolean;
  /** Probe and judge pods with hostNetwork (their IP is the node's). */
  readonly hostNetwork: boolean;
  /** A pod that is not Ready and started less than this ago is still booting: its refusals are not findings. */
  readonly startupGraceMs: number;
  /** Probe timeout when no `sockeye.dev/timeout` annotation says otherwise. */
  readonly defaultTimeoutMs: number;
  /** The API server's addresses as the caller knows them (its kubeconfig): never an opt-in target. */
  readonly apiServerAddresses?: readonly string[] | undefined;
  /**
   * Service ranges (CIDRs) the caller was given (`--service-cidrs`), for clusters that do not serve
   * ServiceCIDR objects: no address inside them is an opt-in target. With `ClusterState.serviceCIDRs`.
   */
  readonly serviceCIDRs?: readonly string[] | undefined;
  /**
   * The Service data path hops (docs/design.md "Safety"): each ClusterIP on the Service port; each
   * node InternalIP on the Service's own nodePort (and healthCheckNodePort); each load-balancer
   * ingress IP from the Service's status. Off unless the caller can reach them (the operator, in
   * the cluster): from outside, a ClusterIP failing says nothing about the Service.
   */
  readonly checkClusterIP: boolean;
  readonly checkNodePorts: boolean;
  readonly checkLoadBalancers: boolean;
}

/** Which Service data path hops are planned and judged: what the operator's settings and the audit's flags set. */
export type HopChecks = Pick<RuleOptions, 'checkClusterIP' | 'checkNodePorts' | 'checkLoadBalancers'>;

export const DEFAULT_OPTIONS: RuleOptions = {
  selectorless: false,
  hostNetwork: false,
  startupGraceMs: 30_000,
  defaultTimeoutMs: DEFAULT_TIMEOUT_MS,
  checkClusterIP: false,
  checkNodePorts: false,
  checkLoadBalancers: false,
};

/** The cluster state the rules read: plain data, gathered elsewhere. */
export interface ClusterState {
  readonly services: readonly Service[];
  /** The EndpointSlices of those Services (matched by namespace and `kubernetes.io/service-name`). */
  readonly slices: readonly EndpointSlice[];
  /** Every pod of the namespaces involved: the NoEndpoints and TargetPortMismatch rules look past the slices. */
  readonly pods: readonly Pod[];
  readonly networkPolicies: readonly NetworkPolicy[];
  readonly namespaces: readonly Namespace[];
  /** The Nodes, for the NodePort hops; absent when the caller does not watch them. */
  readonly nodes?: readonly Node[] | undefined;
  /**
   * The cluster's Service ranges, from its `networking.k8s.io/v1` ServiceCIDR objects (`spec.cidrs`):
   * no opt-in target lies inside them. Absent when the caller does not read them.
   */
  readonly serviceCIDRs?: readonly string[] | undefined;
  readonly options?: Partial<RuleOptions> | undefined;
}

/** A previous finding, enough to tell that it no longer holds. */
export type PreviousFinding = Pick<Finding, 'reason' | 'severity' | 'object' | 'port'>;

export interface EvaluateInput extends ClusterState {
  readonly probes: readonly ProbeObservation[];
  readonly loopback?: readonly LoopbackResult[] | undefined;
  readonly prober: ProberIdentity;
  /** The findings of the previous round, for TargetsRecovered. */
  readonly previous?: readonly PreviousFinding[] | undefined;
  readonly now: Date;
}

/**
 * The one place that turns `@kubernetes/client-node` objects into sockeye's domain types. Pure: no
 * client, no clock. Objects from a list carry `Date` timestamps and objects from a watch carry strings;
 * both are accepted.
 */
import type {
  V1Container,
  V1EndpointSlice,
  V1LabelSelector,
  V1Namespace,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1Node,
  V1Pod,
  V1Probe,
  V1Service,
  V1ServiceCIDR,
} from '@kubernetes/client-node';
import type {
  AddressType,
  Container,
  Endpoint,
  EndpointSlice,
  LabelSelector,
  LabelSelectorRequirement,
  Labels,
  Namespace,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicyRule,
  Node,
  Pod,
  PodPhase,
  Protocol,
  ReadinessCheck,
  Service,
  ServiceCIDR,
  ServiceType,
  TrafficPolicy,
  WorkloadRef,
} from '../model/types.ts';

/** The label the endpointslice controller puts on every slice it manages for a Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function toService(svc: V1Service): Service {
  const spec = svc.spec ?? {};
  const selector = spec.selector && Object.keys(spec.selector).length > 0 ? { ...spec.selector } : undefined;
  return {
    namespace: svc.metadata?.namespace ?? '',
    name: svc.metadata?.name ?? '',
    uid: svc.metadata?.uid ?? '',
    type: serviceType(spec.type),
    selector,
    ports: (spec.ports ?? []).map((p) => ({
      name: p.name ?? '',
      port: p.port,
      protocol: protocol(p.protocol),
      targetPort: p.targetPort ?? p.port,
      nodePort: p.nodePort,
    })),
    publishNotReadyAddresses: spec.publishNotReadyAddresses === true,
    clusterIPs: (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => ip !== 'None'),
    externalTrafficPolicy: trafficPolicy(spec.externalTrafficPolicy),
    internalTrafficPolicy: trafficPolicy(spec.internalTrafficPolicy),
    healthCheckNodePort: spec.healthCheckNodePort,
    loadBalancerIngress: (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
    createdAt: time(svc.metadata?.creationTimestamp),
    annotations: sockeyeAnnotations(svc.metadata?.annotations),
  };
}

function trafficPolicy(p: string | undefined): TrafficPolicy | undefined {
  return p === 'Local' || p === 'Cluster' ? p : undefined;
}

export function toNode(node: V1Node): Node {
  return {
    name: node.metadata?.name ?? '',
    internalIPs: (node.status?.addresses ?? []).flatMap((a) => (a.type === 'InternalIP' ? [a.address] : [])),
  };
}

export function toServiceCIDR(cidr: V1ServiceCIDR): ServiceCIDR {
  return { name: cidr.metadata?.name ?? '', cidrs: [...(cidr.spec?.cidrs ?? [])] };
}

/** Set by the endpointslice controller on each slice it changes (RFC 3339). */
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

export function toEndpointSlice(slice: V1EndpointSlice): EndpointSlice {
  return {
    namespace: slice.metadata?.namespace ?? '',
    name: slice.metadata?.name ?? '',
    serviceName: slice.metadata?.labels?.[SERVICE_NAME_LABEL] ?? '',
    addressType: addressType(slice.addressType),
    changedAt: time(slice.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME]),
    ports: (slice.ports ?? []).map((p) => ({
      name: p.name ?? '',
      port: p.port,
      protocol: protocol(p.protocol),
    })),
    endpoints: (slice.endpoints ?? []).map((e): Endpoint => {
      const c = e.conditions ?? {};
      const ref = e.targetRef;
      return {
        addresses: [...e.addresses],
        // API convention: a nil condition means "true" for ready and serving, "false" for terminating.
        ready: c.ready !== false,
        serving: c.serving ?? c.ready !== false,
        terminating: c.terminating === true,
        targetRef: ref
          ? {
              kind: ref.kind ?? '',
              namespace: ref.namespace ?? slice.metadata?.namespace ?? '',
              name: ref.name ?? '',
              uid: ref.uid ?? '',
            }
          : undefined,
        nodeName: e.nodeName,
      };
    }),
  };
}

export function toPod(pod: V1Pod): Pod {
  const status = pod.status ?? {};
  const ips = (status.podIPs ?? []).map((p) => p.ip).filter((ip) => ip !== '');
  if (ips.length === 0 && status.podIP) ips.push(status.podIP);
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    labels: labels(pod.metadata?.labels),
    annotations: sockeyeAnnotations(pod.metadata?.annotations),
    phase: podPhase(status.phase),
    podIPs: ips,
    ready: (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    containers: (pod.spec?.containers ?? []).map(container),
    hostNetwork: pod.spec?.hostNetwork === true,
    deletionTimestamp: time(pod.metadata?.deletionTimestamp),
    startTime: time(status.startTime),
    nodeName: pod.spec?.nodeName,
    owner: workloadOf(pod),
  };
}

/** The label the Deployment controller puts on a ReplicaSet's pods (and in the ReplicaSet's name). */
const POD_TEMPLATE_HASH = 'pod-template-hash';

/** The pod's controller; a Deployment's ReplicaSet (`NAME-HASH`) is read as the Deployment. */
function workloadOf(pod: V1Pod): WorkloadRef | undefined {
  const owner = (pod.metadata?.ownerReferences ?? []).find((o) => o.controller === true);
  if (!owner) return undefined;
  const hash = pod.metadata?.labels?.[POD_TEMPLATE_HASH];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
    return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
  }
  return { kind: owner.kind, name: owner.name };
}

export function toNetworkPolicy(np: V1NetworkPolicy): NetworkPolicy {
  const spec = np.spec ?? { podSelector: {} };
  const toRule = (peers: V1NetworkPolicyPeer[] | undefined, ports: V1NetworkPolicyPort[] | undefined) => ({
    peers: (peers ?? []).map(peer),
    ports: (ports ?? []).map(policyPort),
  });
  const ingress: NetworkPolicyRule[] = (spec.ingress ?? []).map((r) => toRule(r._from, r.ports));
  const egress: NetworkPolicyRule[] = (spec.egress ?? []).map((r) => toRule(r.to, r.ports));
  // The API server defaults policyTypes the same way when it is empty.
  const declared = (spec.policyTypes ?? []).filter(
    (t): t is 'Ingress' | 'Egress' => t === 'Ingress' || t === 'Egress',
  );
  const policyTypes: ('Ingress' | 'Egress')[] =
    declared.length > 0
      ? declared
      : spec.egress && spec.egress.length > 0
        ? ['Ingress', 'Egress']
        : ['Ingress'];
  return {
    namespace: np.metadata?.namespace ?? '',
    name: np.metadata?.name ?? '',
    podSelector: selector(spec.podSelector),
    policyTypes,
    ingress,
    egress,
  };
}

export function toNamespace(ns: V1Namespace): Namespace {
  return {
    name: ns.metadata?.name ?? '',
    uid: ns.metadata?.uid ?? '',
    labels: labels(ns.metadata?.labels),
    annotations: sockeyeAnnotations(ns.metadata?.annotations),
  };
}

function container(c: V1Container): Container {
  return {
    name: c.name,
    ports: (c.ports ?? []).map((p) => ({
      name: p.name === '' ? undefined : p.name,
      containerPort: p.containerPort,
      protocol: protocol(p.protocol),
    })),
    readiness: readiness(c.readinessProbe),
  };
}

// Shared by every record that has them (one per container otherwise: 20,000 at 20,000 pods).
const NO_READINESS: ReadinessCheck = Object.freeze({ kind: 'none' });
const EXEC_READINESS: ReadinessCheck = Object.freeze({ kind: 'exec' });

function readiness(probe: V1Probe | undefined): ReadinessCheck {
  if (!probe) return NO_READINESS;
  const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
  if (port !== undefined) return { kind: 'port', port };
  return probe.exec ? EXEC_READINESS : NO_READINESS;
}

function peer(p: V1NetworkPolicyPeer): NetworkPolicyPeer {
  return {
    podSelector: p.podSelector ? selector(p.podSelector) : undefined,
    namespaceSelector: p.namespaceSelector ? selector(p.namespaceSelector) : undefined,
    ipBlock: p.ipBlock ? { cidr: p.ipBlock.cidr, except: [...(p.ipBlock.except ?? [])] } : undefined,
  };
}

function policyPort(p: V1NetworkPolicyPort): NetworkPolicyPort {
  return { protocol: protocol(p.protocol), port: p.port, endPort: p.endPort };
}

function selector(s: V1LabelSelector | undefined): LabelSelector {
  return {
    matchLabels: labels(s?.matchLabels),
    matchExpressions: (s?.matchExpressions ?? []).map(
      (e): LabelSelectorRequirement => ({
        key: e.key,
        operator: selectorOperator(e.operator),
        values: [...(e.values ?? [])],
      }),
    ),
  };
}

function selectorOperator(op: string): LabelSelectorRequirement['operator'] {
  // An operator the API server would reject cannot reach us; `In` with its values is the safe reading.
  return op === 'NotIn' || op === 'Exists' || op === 'DoesNotExist' ? op : 'In';
}

/**
 * Only `sockeye.dev/*`: no rule reads any other annotation, and keeping the rest would make every
 * unrelated annotation change (a tool's bookkeeping, a restart stamp) look like a change worth a
 * new probe, and cost memory on every cached pod.
 */
function sockeyeAnnotations(m: Record<string, string> | undefined): Labels {
  const keys = Object.keys(m ?? {}).filter((k) => k.startsWith('sockeye.dev/'));
  return keys.length === 0 ? NO_LABELS : Object.fromEntries(keys.map((k) => [k, m?.[k] ?? '']));
}

/**
 * One frozen empty map for every object without labels or `sockeye.dev/*` annotations (most pods
 * have no sockeye annotation: an empty object each was 2.4 MB of the heap at 20,000 pods).
 */
export const NO_LABELS: Labels = Object.freeze({});

function labels(m: Record<string, string> | undefined): Labels {
  return m === undefined || Object.keys(m).length === 0 ? NO_LABELS : { ...m };
}

function protocol(p: string | undefined): Protocol {
  return p === 'UDP' || p === 'SCTP' ? p : 'TCP';
}

function serviceType(t: string | undefined): ServiceType {
  return t === 'NodePort' || t === 'LoadBalancer' || t === 'ExternalName' ? t : 'ClusterIP';
}

function addressType(t: string): AddressType {
  return t === 'IPv6' || t === 'FQDN' ? t : 'IPv4';
}

function podPhase(p: string | undefined): PodPhase {
  return p === 'Pending' || p === 'Running' || p === 'Succeeded' || p === 'Failed' ? p : 'Unknown';
}

/** Lists give `Date`, watches give RFC 3339 strings (the generated types claim `Date` for both). */
function time(t: Date | string | undefined): Date | undefined {
  if (t === undefined || t === null) return undefined;
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

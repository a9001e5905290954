/**
 * The catalog of findings (docs/design.md "Findings"). Reason strings are public and stable: users write alerts
 * and switch statements on them. Each reason sits next to its message templates; messages carry no times
 * or latencies, so identical findings aggregate into one Event.
 */
import type { ObjectKind } from '../model/types.ts';

export type Severity = 'Warning' | 'Normal';

export interface ReasonInfo {
  readonly severity: Severity;
  readonly on: readonly ObjectKind[];
  /** One line for `sockeye explain` and the README. */
  readonly summary: string;
  /** The next step, before "run: sockeye explain <Reason>". */
  readonly hint: string;
}

export const REASONS = {
  /**
   * The Service has a selector but not a single endpoint. The message says whether the selector matches
   * no pod at all, or matches pods that have no IP yet or are not Running. Selector-less Services are
   * checked only when opted in.
   */
  NoEndpoints: {
    severity: 'Warning',
    on: ['Service'],
    summary: 'the Service has no endpoints at all',
    hint: 'compare the selector with the pod labels (kubectl get pods --show-labels)',
  },
  /** Endpoints exist but none is ready (not ready, or terminating): kube-proxy has nothing to send to. */
  NoReadyEndpoints: {
    severity: 'Warning',
    on: ['Service'],
    summary: 'the Service has endpoints, but none is ready',
    hint: 'look at why the pods are not Ready (kubectl describe pod)',
  },
  /** Every probed ready backend of one Service port refuses or times out. */
  NoHealthyTargets: {
    severity: 'Warning',
    on: ['Service'],
    summary: 'every ready backend of a Service port refuses or times out',
    hint: 'check what the pods listen on (kubectl exec POD -- ss -ltn)',
  },
  /** Some, not all, probed ready backends of one Service port refuse or time out: the Service is degraded. */
  TargetsRefusing: {
    severity: 'Warning',
    on: ['Service'],
    summary: 'some ready backends of a Service port refuse or time out',
    hint: 'compare the failing pods with the healthy ones (image, args, node)',
  },
  /**
   * A targetPort matches no declared containerPort of the selected pods: a number no pod declares (only
   * when the pods declare ports at all, since declaring is optional), a name no pod defines (the slice
   * then has no port), or a name only some pods define (rollout skew).
   */
  TargetPortMismatch: {
    severity: 'Warning',
    on: ['Service'],
    summary: 'a Service targetPort matches no containerPort of the selected pods',
    hint: "compare spec.ports[].targetPort with the containers' ports",
  },
  /**
   * The selector also matches pods of another workload: the failing backends of a port declare none of
   * the Service's target ports, the ones that declare it answer, and they belong to different owners (or
   * differ in a label outside the selector). The Service's selector is at fault, not those pods.
   */
  SelectorMatchesOtherWorkloads: {
    severity: 'Warning',
    on: ['Service'],
    summary: "the selector also matches another workload's pods, which refuse the Service's port",
    hint: 'add a label only the serving pods carry to the Service selector',
  },
  /**
   * Every probed backend of a Service port answers, yet its ClusterIP refuses or times out from the node
   * sockeye runs on: that node's Service data path (kube-proxy, or the CNI's service handling) does not
   * forward. Names the node.
   */
  ServiceIPNotForwarding: {
    severity: 'Warning',
    on: ['Service'],
    summary: "the pods answer, but the ClusterIP does not forward from sockeye's node",
    hint: "check kube-proxy (or the CNI's service handling) on the named node: its logs and rules",
  },
  /**
   * Every probed backend answers, yet the Service's NodePort refuses or times out on some nodes (or all)
   * that should forward it. With `externalTrafficPolicy: Local` only nodes with a local ready endpoint
   * should: the others drop it by design, and their health check says so.
   */
  NodePortFailing: {
    severity: 'Warning',
    on: ['Service'],
    summary: 'the pods answer, but the NodePort fails on some nodes',
    hint: 'check kube-proxy and the firewall on the failing nodes',
  },
  /**
   * Every probed backend answers, yet the load balancer's address (from the Service's status) refuses
   * or times out: it has no healthy target, or it sends to nodes that drop the traffic (with
   * `externalTrafficPolicy: Local`, nodes without a local endpoint, when it ignores their health checks).
   */
  LoadBalancerFailing: {
    severity: 'Warning',
    on: ['Service'],
    summary: "the pods answer, but the load balancer's address refuses or times out",
    hint: "check the load balancer's target nodes and health checks (kubectl describe svc SVC)",
  },
  /**
   * A port the pod claims refuses on the pod IP: a declared containerPort, or a Service target port of a
   * pod that declares no ports at all (then sockeye cannot tell it from the pod's own port).
   */
  PortNotListening: {
    severity: 'Warning',
    on: ['Pod'],
    summary: 'a pod port refuses connections on the pod IP',
    hint: 'check the listening sockets in the pod (kubectl exec POD -- ss -ltn)',
  },
  /** The port is open on 127.0.0.1 (or ::1) inside the pod but refused on the pod IP: bound to loopback. */
  ListeningOnLoopbackOnly: {
    severity: 'Warning',
    on: ['Pod'],
    summary: 'the app listens on 127.0.0.1 only, so the pod IP refuses',
    hint: 'make the app bind 0.0.0.0 (or ::) instead of localhost',
  },
  /**
   * The pod claims a Service's target port (declares it, or declares no ports), is Ready, and the port
   * refuses. The message says what the readiness probe checks; the hint tells to point it at the serving
   * port only when it checks another port or none.
   */
  ReadyButRefusing: {
    severity: 'Warning',
    on: ['Pod'],
    summary: 'the pod is Ready but the port its Service sends to refuses',
    hint: 'point the readiness probe at the serving port',
  },
  /** A probe timed out: something dropped the SYN. Names the NetworkPolicies that explain it, if any. */
  ConnectTimeout: {
    severity: 'Warning',
    on: ['Pod'],
    summary: 'connections to a pod port time out (dropped, not refused)',
    hint: 'check the NetworkPolicies that select the pod (kubectl get networkpolicy)',
  },
  /** A `sockeye.dev/*` annotation could not be parsed; the default was used. Never hides other findings. */
  InvalidConfiguration: {
    severity: 'Warning',
    on: ['Service', 'Pod', 'Namespace'],
    summary: 'a sockeye.dev/* annotation could not be used; defaults apply',
    hint: 'fix or remove the annotation',
  },
  /** A Warning reported before no longer holds. */
  TargetsRecovered: {
    severity: 'Normal',
    on: ['Service', 'Pod'],
    summary: 'a problem reported before no longer holds',
    hint: 'nothing to do',
  },
} as const satisfies Record<string, ReasonInfo>;

export type Reason = keyof typeof REASONS;

/** Reasons in catalog order. */
export const REASON_NAMES = Object.keys(REASONS) as Reason[];

export function isReason(s: string): s is Reason {
  return Object.hasOwn(REASONS, s);
}

export function severityOf(reason: Reason): Severity {
  return REASONS[reason].severity;
}

/**
 * The hint every finding carries: the reason's, or `next` where the case knows better what to change;
 * it always ends with the `sockeye explain` command.
 */
export function hintFor(reason: Reason, next: string = REASONS[reason].hint): string {
  return `${next}; run: sockeye explain ${reason}`;
}

/** Hints of particular cases, where the reason's own would send the user to the wrong object. */
export const HINTS = {
  targetPortWrong: "set the Service's targetPort to the port the pods declare and listen on",
  readinessSamePort:
    'look at why the app stopped listening (kubectl logs POD); its readiness probe will notice',
} as const;

/** Reasons that rest on a probe outcome: recovered only when the port has an outcome again. */
export const PROBE_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  'NoHealthyTargets',
  'ServiceIPNotForwarding',
  'NodePortFailing',
  'LoadBalancerFailing',
  'TargetsRefusing',
  'SelectorMatchesOtherWorkloads',
  'PortNotListening',
  'ListeningOnLoopbackOnly',
  'ReadyButRefusing',
  'ConnectTimeout',
]);

/** "a, b, c and 2 more": names in messages stay short and deterministic. */
export function nameList(names: readonly string[], max = 3): string {
  const sorted = [...names].sort();
  if (sorted.length <= max) return sorted.join(', ');
  return `${sorted.slice(0, max).join(', ')} and ${sorted.length - max} more`;
}

/** `1 pod`, `2 pods`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The verb (or word) that agrees with `n`: `agree(1, 'does', 'do')`. */
export function agree(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

/** Message templates, next to the reasons they belong to. */
export const MESSAGES = {
  NoEndpoints: {
    noPodMatches: (selector: string, namespace: string) =>
      `selector ${selector} matches no pod in namespace ${namespace}`,
    noLivePod: (selector: string, states: readonly string[]) =>
      `selector ${selector} matches ${plural(states.length, 'pod')}, none Running with an IP: ${nameList(states)}`,
    controllerLag: (selector: string, pods: readonly string[]) =>
      `selector ${selector} matches ${plural(pods.length, 'Running pod')} with an IP (${nameList(pods)}) but the Service has no endpoints: check the endpointslice controller and that the pods' nodes exist`,
    selectorless: () => 'the Service has no selector and no EndpointSlice lists an endpoint for it',
  },
  NoReadyEndpoints: {
    noneReady: (states: readonly string[]) =>
      `${plural(states.length, 'endpoint')}, none ready: ${nameList(states)}`,
  },
  NoHealthyTargets: {
    allFail: (port: string, total: number, tally: string) =>
      `port ${port}: ${total === 1 ? '1 ready target fails' : `all ${total} ready targets fail`} (${tally})`,
  },
  TargetsRefusing: {
    someFail: (port: string, failed: number, total: number, tally: string) =>
      `port ${port}: ${failed} of ${plural(total, 'ready target')} ${agree(failed, 'fails', 'fail')} (${tally})`,
  },
  /** Why targets fail that do not claim the port: appended to NoHealthyTargets and TargetsRefusing. */
  Undeclared: {
    /** No probed pod declares the port, yet they declare others. */
    targetPortWrong: (target: string, pods: number, declared: readonly string[]) =>
      `${pods === 1 ? 'the pod does' : `none of the ${pods} pods`} ${pods === 1 ? 'not declare' : 'declares'} ${target} (${agree(pods, 'it declares', 'they declare')} ${nameList(declared, 5)}): the Service's targetPort is likely wrong`,
    /** Some failing pods declare other ports, not this one; `workload` when they belong to another. */
    someUndeclared: (target: string, pods: readonly string[], workload: string | undefined) =>
      `${nameList(pods)} ${agree(pods.length, 'does', 'do')} not declare ${target}${workload === undefined ? '' : ` (${workload}, which the selector also matches)`}`,
  },
  TargetPortMismatch: {
    numberNotDeclared: (port: string, target: string, pods: number, declared: readonly string[]) =>
      `port ${port}: targetPort ${target} is not declared by ${pods === 1 ? 'the selected pod; it declares' : `any of the ${pods} selected pods; they declare`} ${nameList(declared, 5)}`,
    nameUndefined: (port: string, target: string, pods: number) =>
      `port ${port}: targetPort "${target}" is not a containerPort name of ${pods === 1 ? 'the selected pod' : `any of the ${pods} selected pods`}, so the Service has no target for it`,
    rolloutSkew: (
      port: string,
      target: string,
      defining: number,
      total: number,
      missing: readonly string[],
    ) =>
      `port ${port}: targetPort "${target}" is defined by ${defining} of ${total} selected pods; ${nameList(missing)} ${agree(missing.length, 'does', 'do')} not define it (rollout skew?) and ${agree(missing.length, 'gets', 'get')} no traffic on this port`,
  },
  SelectorMatchesOtherWorkloads: {
    alsoMatches: (
      port: string,
      selector: string,
      foreign: number,
      workload: string,
      tally: string,
      claimers: number,
      target: string,
      label: string | undefined,
    ) =>
      `port ${port}: selector ${selector} also matches ${plural(foreign, 'pod')} of ${workload}, which ${agree(foreign, 'declares', 'declare')} none of the Service's target ports and ${agree(foreign, 'fails', 'fail')} (${tally}); the ${plural(claimers, 'pod')} that ${agree(claimers, 'declares', 'declare')} ${target} ${agree(claimers, 'answers', 'answer')}; ${label === undefined ? 'no label outside the selector tells them apart: give the serving pods one and select on it' : `add ${label} to the selector to leave ${agree(foreign, 'it', 'them')} out`}`,
  },
  ServiceIPNotForwarding: {
    notForwarding: (
      port: string,
      backends: string,
      failures: string,
      node: string | undefined,
      outside = false,
    ) =>
      `port ${port}: ${backends}; ${failures} from ${node !== undefined ? `node ${node}` : outside ? 'this machine, outside the cluster, while other ClusterIPs answer' : "sockeye's node"}: the ${outside ? 'Service data path of the node that routes this machine to the Service network' : "node's Service data path"} (kube-proxy or the CNI) does not forward`,
  },
  NodePortFailing: {
    someNodes: (
      port: string,
      backends: string,
      failures: string,
      failing: number,
      working: readonly string[],
    ) =>
      `port ${port}: ${backends}; ${failures}, answers on ${nameList(working)}: kube-proxy (or the CNI) on ${agree(failing, 'that node does', 'those nodes do')} not forward it`,
    everyNode: (port: string, backends: string, failures: string, nodes: number) =>
      `port ${port}: ${backends}; ${failures}, on ${nodes === 1 ? 'the only node' : `all ${nodes} nodes`} that should forward it: kube-proxy (or the CNI) or a firewall in front of the node ports drops it`,
  },
  LoadBalancerFailing: {
    noHealthyTarget: (port: string, backends: string, failures: string, nodePort: string) =>
      `port ${port}: ${backends}; ${failures}${nodePort}: the load balancer has no healthy target (check its health checks, target nodes and listeners)`,
    ignoresHealthChecks: (
      port: string,
      backends: string,
      failures: string,
      nodes: readonly string[],
      healthCheck: string,
    ) =>
      `port ${port}: ${backends}; ${failures}: it sends to ${agree(nodes.length, 'node', 'nodes')} ${nameList(nodes)} without a local endpoint, which ${agree(nodes.length, 'drops', 'drop')} the NodePort as externalTrafficPolicy Local intends${healthCheck}: the load balancer does not honour the health checks`,
  },
  /** The load balancer's own evidence, appended to NoHealthyTargets when the backends fail too. */
  Hops: {
    tooFailing: (failures: string) => `${failures} too`,
  },
  PortNotListening: {
    refused: (port: string, ips: readonly string[]) =>
      `port ${port} refuses connections on ${ips.join(' and ')}: nothing listens on it`,
    oneFamily: (port: string, refused: readonly string[], open: readonly string[]) =>
      `port ${port} is open on ${open.join(' and ')} but refuses on ${refused.join(' and ')}: the app listens on one address family only`,
  },
  ListeningOnLoopbackOnly: {
    loopbackOnly: (port: string, ips: readonly string[]) =>
      `port ${port} is open on loopback but refuses on the pod IP ${ips.join(' and ')}: the app is bound to localhost`,
  },
  ReadyButRefusing: {
    refusing: (port: string, services: readonly string[], ips: readonly string[], readiness: string) =>
      `pod is Ready but port ${port}, a target of ${agree(services.length, 'Service', 'Services')} ${nameList(services)}, refuses on ${ips.join(' and ')}; ${readiness}`,
    noProbe: () => 'the pod has no readiness probe',
    execProbe: () => 'its readiness probe runs a command, not a connection to this port',
    otherPort: (ports: readonly string[]) =>
      `its readiness probe checks ${agree(ports.length, 'port', 'ports')} ${ports.join(', ')}`,
    samePort: () => 'its readiness probe checks this port: the app stopped listening since the last probe',
  },
  ConnectTimeout: {
    dropped: (
      port: string,
      ips: readonly string[],
      policies: readonly string[],
      direction: 'ingress' | 'egress',
    ) =>
      `port ${port} times out on ${ips.join(' and ')}: dropped by ${agree(policies.length, 'NetworkPolicy', 'NetworkPolicies')} ${policies.join(', ')} (${direction === 'ingress' ? 'ingress to the pod' : "egress from sockeye's pod"})`,
    unexplained: (port: string, ips: readonly string[]) =>
      `port ${port} times out on ${ips.join(' and ')}; no NetworkPolicy explains it: look at the CNI, node firewall or security groups`,
  },
  InvalidConfiguration: {
    invalid: (key: string, value: string, problem: string) =>
      `annotation ${key}="${value}" is ignored: ${problem}; defaults apply`,
  },
  TargetsRecovered: {
    recovered: (reason: string, port: string | undefined) =>
      port === undefined ? `${reason} no longer holds` : `${reason} no longer holds for port ${port}`,
  },
} as const satisfies Record<Reason | 'Undeclared' | 'Hops', Record<string, (...args: never[]) => string>>;

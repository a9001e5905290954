/**
 * The catalog of findings (DESIGN "Findings"). Reason strings are public and stable: users write alerts
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
  /** A declared containerPort, or a Service target port, refuses connections on the pod IP. */
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
  /** The pod is Ready yet a Service port it serves refuses: the readiness probe checks another port or none. */
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

/** The hint every finding carries; it always ends with the `sockeye explain` command. */
export function hintFor(reason: Reason): string {
  return `${REASONS[reason].hint}; run: sockeye explain ${reason}`;
}

/** "a, b, c and 2 more": names in messages stay short and deterministic. */
export function nameList(names: readonly string[], max = 3): string {
  const sorted = [...names].sort();
  if (sorted.length <= max) return sorted.join(', ');
  return `${sorted.slice(0, max).join(', ')} and ${sorted.length - max} more`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
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
      `port ${port}: all ${plural(total, 'ready target')} fail (${tally})`,
  },
  TargetsRefusing: {
    someFail: (port: string, failed: number, total: number, tally: string) =>
      `port ${port}: ${failed} of ${plural(total, 'ready target')} fail (${tally})`,
  },
  TargetPortMismatch: {
    numberNotDeclared: (port: string, target: string, declared: readonly string[]) =>
      `port ${port}: targetPort ${target} is not declared by any selected pod; they declare ${nameList(declared, 5)}`,
    nameUndefined: (port: string, target: string, pods: number) =>
      `port ${port}: targetPort "${target}" is not a containerPort name of any of the ${plural(pods, 'selected pod')}, so the Service has no target for it`,
    rolloutSkew: (
      port: string,
      target: string,
      defining: number,
      total: number,
      missing: readonly string[],
    ) =>
      `port ${port}: targetPort "${target}" is defined by ${defining} of ${total} selected pods; ${nameList(missing)} ${missing.length === 1 ? 'does' : 'do'} not define it (rollout skew?) and get no traffic on this port`,
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
    refusing: (port: string, service: string, ips: readonly string[], readiness: string) =>
      `pod is Ready but port ${port}, a target of Service ${service}, refuses on ${ips.join(' and ')}; ${readiness}`,
    noProbe: () => 'the pod has no readiness probe',
    execProbe: () => 'its readiness probe runs a command, not a connection to this port',
    otherPort: (ports: readonly string[]) => `its readiness probe checks port ${ports.join(', ')}`,
    samePort: () => 'its readiness probe checks this port: the app stopped listening since the last probe',
  },
  ConnectTimeout: {
    dropped: (
      port: string,
      ips: readonly string[],
      policies: readonly string[],
      direction: 'ingress' | 'egress',
    ) =>
      `port ${port} times out on ${ips.join(' and ')}: dropped by NetworkPolicy ${policies.join(', ')} (${direction === 'ingress' ? 'ingress to the pod' : "egress from sockeye's pod"})`,
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
} as const satisfies Record<Reason, Record<string, (...args: never[]) => string>>;

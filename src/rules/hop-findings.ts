/**
 * Findings about the Service data path (hops.ts): the pods answer, yet the path users connect through
 * fails. Judged only on a port whose every probed ready backend is open: when backends fail, the pod
 * and Service rules say so, and a failing hop is their consequence (NoHealthyTargets then carries the
 * load balancer's evidence). Each hop is its own chain: the ClusterIP from sockeye's node, the NodePort
 * per node, the load balancer's address.
 */
import { isTargetFailure, type Outcome } from '../probe/outcome.ts';
import { agree, MESSAGES, nameList, plural } from './catalog.ts';
import { type Context, judgedTargets, probedTargets, targetEvidence } from './context.ts';
import { finding } from './finding.ts';
import { type Hop, isLocal } from './hops.ts';
import type { Finding, HopKind, OutcomeEvidence, PortRef } from './types.ts';
import { type ServicePortView, type ServiceView, servicePortLabel, type TargetView } from './view.ts';

interface HopResult {
  readonly hop: Hop;
  readonly outcome: Outcome;
  /** Set when some of several connects failed and others answered (a load balancer: connects.ts). */
  readonly partly?: { readonly failed: number; readonly total: number } | undefined;
}

type Probed = { readonly target: TargetView; readonly outcome: Outcome };

/** The hops of `kind` with a definite outcome (an `error` is the prober's own problem). */
function results(hops: readonly Hop[], kind: HopKind, ctx: Context): HopResult[] {
  return hops.flatMap((hop) => {
    if (hop.kind !== kind) return [];
    const c = ctx.connects(hop.ip, hop.port);
    if (c === undefined || c.outcome === 'error') return [];
    const partly = c.failed > 0 && c.failed < c.total ? { failed: c.failed, total: c.total } : undefined;
    return [{ hop, outcome: c.outcome, partly }];
  });
}

const failing = (rs: readonly HopResult[]) => rs.filter((r) => isTargetFailure(r.outcome));

/**
 * The port's probed backends when every one of them is open and the data path has had time to follow
 * them; else undefined (other rules judge it, or it is too early to).
 */
function answering(v: ServiceView, pv: ServicePortView, ctx: Context): Probed[] | undefined {
  if (pv.skip !== undefined || pv.hops.length === 0) return undefined;
  const probed = probedTargets(judgedTargets(pv.targets), ctx);
  if (probed.length === 0 || probed.some((p) => p.outcome !== 'open')) return undefined;
  return portSettling(v, probed, ctx) ? undefined : probed;
}

/** settling() for a port of the Service, from its probed backends' start times. */
function portSettling(v: ServiceView, probed: readonly Probed[], ctx: Context): boolean {
  const starts = probed.map((p) => p.target.pod?.startTime);
  return settling(v, starts, ctx.input.now, ctx.index.options.startupGraceMs);
}

/**
 * kube-proxy, the CNI and a load balancer's health checks follow a change in seconds, not at once
 * (kube-proxy batches its syncs; a cloud load balancer wants several health checks in a row): a
 * Service whose data path changed less than the grace ago (`startupGraceMs`, as for a booting pod)
 * is not judged on it yet. Changed: the Service was created, its backends all started (nothing older
 * serves it), or its endpoints changed (a pod added, removed or moved: until kube-proxy syncs, the
 * ClusterIP and NodePorts may still send to a removed pod, and under `externalTrafficPolicy: Local`
 * a node that just got or lost its endpoint still drops or takes the NodePort, and the load balancer
 * still sends by the old health checks). The endpointslice controller stamps that last time on the
 * slice; without it (another controller's slices) the first two still hold.
 */
export function settling(
  v: Pick<ServiceView, 'service' | 'endpointsChangedAt'>,
  startTimes: readonly (Date | undefined)[],
  now: Date,
  graceMs: number,
): boolean {
  const young = (t: Date | undefined) => t !== undefined && now.getTime() - t.getTime() < graceMs;
  return (
    young(v.service.createdAt) ||
    young(v.endpointsChangedAt) ||
    (startTimes.length > 0 && startTimes.every(young))
  );
}

/** "3/3 pods open on 8080". */
function backendsText(probed: readonly Probed[]): string {
  const pods = new Set(probed.map((p) => p.target.pod?.name ?? p.target.ip)).size;
  const ports = [...new Set(probed.map((p) => p.target.port))].join('/');
  return `${pods}/${plural(pods, 'pod')} open on ${ports}`;
}

const VERBS: Readonly<Record<Outcome, readonly [string, string]>> = {
  refused: ['refuses', 'refuse'],
  timeout: ['times out', 'time out'],
  unreachable: ['is unreachable', 'are unreachable'],
  reset: ['resets', 'reset'],
  open: ['answers', 'answer'],
  error: ['fails', 'fail'],
};
const FAILURES: readonly Outcome[] = ['refused', 'timeout', 'unreachable', 'reset'];

export function address(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** "A:80", or "A:80 (2 of 3 connects)" for an address that failed some of its connects. */
function where(r: HopResult): string {
  const a = address(r.hop.ip, r.hop.port);
  return r.partly ? `${a} (${r.partly.failed} of ${r.partly.total} connects)` : a;
}

/**
 * "ClusterIP 198.19.0.12:80 times out", "load balancers A:80 and B:80 refuse", by outcome; "load
 * balancer A:80 (2 of 3 connects) times out" when only some connects failed.
 */
function addressFailures(noun: string, failed: readonly HopResult[]): string {
  return FAILURES.flatMap((o) => {
    const hit = failed.filter((r) => r.outcome === o).map(where);
    if (hit.length === 0) return [];
    const [one, many] = VERBS[o];
    return [`${hit.length === 1 ? noun : `${noun}s`} ${hit.join(' and ')} ${hit.length === 1 ? one : many}`];
  }).join('; ');
}

/** The nodes of some results, each once, in order. */
const nodesOf = (rs: readonly HopResult[]) => [
  ...new Set(rs.flatMap((r) => (r.hop.node ? [r.hop.node] : []))),
];

/** "NodePort 30080 times out on node sim-node-1; refuses on nodes a, b". */
function nodeFailures(nodePort: number, failed: readonly HopResult[]): string {
  const parts = FAILURES.flatMap((o) => {
    const nodes = nodesOf(failed.filter((r) => r.outcome === o));
    return nodes.length === 0
      ? []
      : [`${VERBS[o][0]} on ${agree(nodes.length, 'node', 'nodes')} ${nameList(nodes)}`];
  });
  return `NodePort ${nodePort} ${parts.join('; ')}`;
}

function hopEvidence(rs: readonly HopResult[]): OutcomeEvidence[] {
  return rs.map((r) => ({
    ip: r.hop.ip,
    port: r.hop.port,
    outcome: r.outcome,
    hop: r.hop.kind,
    node: r.hop.node,
  }));
}

function portRef(pv: ServicePortView): PortRef {
  return { name: pv.port.name, number: pv.port.port, protocol: pv.port.protocol };
}

function hopFinding(
  reason: 'ServiceIPNotForwarding' | 'NodePortFailing' | 'LoadBalancerFailing',
  v: ServiceView,
  pv: ServicePortView,
  message: string,
  probed: readonly Probed[],
  hops: readonly HopResult[],
): Finding {
  const outcomes = [...probed.map((p) => targetEvidence(p.target, p.outcome)), ...hopEvidence(hops)];
  return finding(reason, v.ref, message, portRef(pv), { outcomes });
}

const label = (pv: ServicePortView) => servicePortLabel(pv.port);

/**
 * Each port whose backends all answer and whose `kind` hops (those `keep` keeps) fail somewhere:
 * `judge` gets the backends, every such hop's result, and the failing ones.
 */
function failingHops(
  v: ServiceView,
  ctx: Context,
  kind: HopKind,
  judge: (pv: ServicePortView, probed: Probed[], rs: HopResult[], failed: HopResult[]) => Finding[],
  keep: (pv: ServicePortView) => (r: HopResult) => boolean = () => () => true,
): Finding[] {
  return v.ports.flatMap((pv) => {
    const probed = answering(v, pv, ctx);
    if (!probed) return [];
    const rs = results(pv.hops, kind, ctx).filter(keep(pv));
    const failed = failing(rs);
    return failed.length === 0 ? [] : judge(pv, probed, rs, failed);
  });
}

/** The ClusterIP fails from sockeye's node while every backend answers. */
export function serviceIPNotForwarding(v: ServiceView, ctx: Context): Finding[] {
  return failingHops(v, ctx, 'cluster-ip', (pv, probed, rs, failed) => {
    const message = MESSAGES.ServiceIPNotForwarding.notForwarding(
      label(pv),
      backendsText(probed),
      addressFailures('ClusterIP', failed),
      ctx.input.prober.nodeName,
      ctx.input.prober.outside,
    );
    return [hopFinding('ServiceIPNotForwarding', v, pv, message, probed, rs)];
  });
}

/** The nodes with a ready endpoint of the port: with externalTrafficPolicy Local, the only ones that forward. */
function localNodes(pv: ServicePortView): ReadonlySet<string> {
  return new Set(
    judgedTargets(pv.targets).flatMap((t) => (t.endpoint.nodeName ? [t.endpoint.nodeName] : [])),
  );
}

/** The NodePort fails on nodes that should forward it (all, or with Local the ones with a local endpoint). */
export function nodePortFailing(v: ServiceView, ctx: Context): Finding[] {
  const shouldForward = (pv: ServicePortView) => {
    const local = isLocal(v.service) ? localNodes(pv) : undefined;
    return (r: HopResult) => !local || local.has(r.hop.node ?? '');
  };
  const judge = (pv: ServicePortView, probed: Probed[], rs: HopResult[], failed: HopResult[]) => {
    const bad = nodesOf(failed);
    const working = nodesOf(rs).filter((n) => !bad.includes(n));
    const m = MESSAGES.NodePortFailing;
    const failures = nodeFailures(pv.port.nodePort ?? 0, failed);
    const message =
      working.length > 0
        ? m.someNodes(label(pv), backendsText(probed), failures, bad.length, working)
        : m.everyNode(label(pv), backendsText(probed), failures, bad.length);
    return [hopFinding('NodePortFailing', v, pv, message, probed, rs)];
  };
  return failingHops(v, ctx, 'node-port', judge, shouldForward);
}

/**
 * What the health checks of the nodes without a local endpoint say, for the message. kube-proxy's
 * healthCheckNodePort answers HTTP 503 on a node with no local ready endpoint and 200 with one, so
 * a load balancer that honours it takes those nodes out: 503 there means the load balancer ignores
 * it; 200 means kube-proxy on the node still counts an endpoint the EndpointSlice no longer puts there.
 */
function healthCheckSays(checks: readonly HopResult[], port: number | undefined, ctx: Context): string {
  if (checks.length === 0 || port === undefined) return '';
  if (failing(checks).length > 0) return `, and their health check (port ${port}) does not answer`;
  const statuses = checks.map((r) => ctx.httpStatus(r.hop.ip, r.hop.port));
  if (statuses.every((s) => s === 503)) return `, and their health check (port ${port}) says so (HTTP 503)`;
  const passing = checks.filter((_, i) => Math.trunc((statuses[i] ?? 0) / 100) === 2);
  if (passing.length > 0)
    return `, though their health check (port ${port}) passes on ${agree(passing.length, 'node', 'nodes')} ${nameList(nodesOf(passing))} (HTTP 200: kube-proxy there still counts a local endpoint)`;
  return `, though their health check (port ${port}) answers`;
}

/** The load balancer's address fails while every backend answers. */
export function loadBalancerFailing(v: ServiceView, ctx: Context): Finding[] {
  return failingHops(v, ctx, 'load-balancer', (pv, probed, lb, failed) => {
    const failures = addressFailures('load balancer', failed);
    const nodePorts = results(pv.hops, 'node-port', ctx);
    const m = MESSAGES.LoadBalancerFailing;
    const local = isLocal(v.service) ? localNodes(pv) : undefined;
    const nodes = (ctx.input.nodes ?? []).map((n) => n.name);
    const without = local && local.size > 0 ? nodes.filter((n) => !local.has(n)) : [];
    if (without.length > 0) {
      const checks = results(v.healthChecks, 'health-check', ctx).filter((r) =>
        without.includes(r.hop.node ?? ''),
      );
      const says = healthCheckSays(checks, v.service.healthCheckNodePort, ctx);
      const message = m.ignoresHealthChecks(label(pv), backendsText(probed), failures, without, says);
      return [hopFinding('LoadBalancerFailing', v, pv, message, probed, [...lb, ...nodePorts, ...checks])];
    }
    const bad = nodesOf(failing(nodePorts));
    const good = nodesOf(nodePorts).filter((n) => !bad.includes(n));
    const behind =
      nodePorts.length === 0
        ? ''
        : good.length === 0
          ? ' while the NodePort fails on every node'
          : ` while the NodePort answers on ${agree(good.length, 'node', 'nodes')} ${nameList(good)}`;
    const message = m.noHealthyTarget(label(pv), backendsText(probed), failures, behind);
    return [hopFinding('LoadBalancerFailing', v, pv, message, probed, [...lb, ...nodePorts])];
  });
}

/**
 * The failing hops of a port, for the status summary: `ClusterIP 198.19.0.12:80 timeout`,
 * `NodePort 30080 failing on 1 of 3 nodes`, `load balancer 198.19.176.1:80 timeout`. Under
 * `externalTrafficPolicy: Local` only the nodes that should forward count.
 */
export function hopSummary(v: ServiceView, pv: ServicePortView, ctx: Context): string[] {
  // A hop that fails while the data path settles is no finding yet (answering): the summary says so,
  // or a Healthy Service would name a failing hop with nothing to explain it.
  const note = portSettling(v, probedTargets(judgedTargets(pv.targets), ctx), ctx) ? ' (settling)' : '';
  const each = (kind: HopKind, noun: string) =>
    failing(results(pv.hops, kind, ctx)).map((r) => `${noun} ${where(r)} ${r.outcome}${note}`);
  const local = isLocal(v.service) ? localNodes(pv) : undefined;
  const nodePorts = results(pv.hops, 'node-port', ctx).filter((r) => !local || local.has(r.hop.node ?? ''));
  const nodes = nodesOf(nodePorts).length;
  const bad = nodesOf(failing(nodePorts)).length;
  return [
    ...each('cluster-ip', 'ClusterIP'),
    ...(bad === 0
      ? []
      : [`NodePort ${pv.port.nodePort} failing on ${bad} of ${plural(nodes, 'node')}${note}`]),
    ...each('load-balancer', 'load balancer'),
  ];
}

/** When the backends fail too: the load balancer's own failures, for NoHealthyTargets to carry. */
export function loadBalancerEvidence(
  pv: ServicePortView,
  ctx: Context,
): { readonly text: string; readonly outcomes: readonly OutcomeEvidence[] } | undefined {
  const failed = failing(results(pv.hops, 'load-balancer', ctx));
  if (failed.length === 0) return undefined;
  return {
    text: MESSAGES.Hops.tooFailing(addressFailures('load balancer', failed)),
    outcomes: hopEvidence(failed),
  };
}

/**
 * One audit: gather -> plan targets -> probe -> evaluate. The same planning, engine and rules as the
 * operator; what is particular to a one-shot run from a workstation lives here: the label selector, the
 * opt-out override, noticing that pod IPs are not routable from this machine at all, and judging the
 * Service data path hops only where this machine reaches them (hop-reach.ts).
 */

import type { ClusterListers } from '../kube/list.ts';
import { PROBE_ANNOTATION } from '../model/annotation-keys.ts';
import type { Pod } from '../model/types.ts';
import { type ProbeOptions, probeTargets } from '../probe/engine.ts';
import { OUTCOMES, type Outcome } from '../probe/outcome.ts';
import { PROBE_REASONS } from '../rules/catalog.ts';
import { observation } from '../rules/observation.ts';
import { expandConnects, rulesFor } from '../rules/rules.ts';
import { selectsPod } from '../rules/selectors.ts';
import type { StatusReport } from '../rules/status.ts';
import type { PlannedTarget } from '../rules/targets.ts';
import type { ClusterState, Finding, HopChecks, ProbeObservation, ProberIdentity } from '../rules/types.ts';
import { type AccessProblem, type Gathered, type GatherOptions, gather, type Resource } from './gather.ts';
import { type HopCoverage, hopReach } from './hop-reach.ts';

/** How many of the first results decide whether pod IPs are routable from here. */
export const FIRST_BATCH = 32;
/** Fewer distinct pods than this in an all-failing first batch could be a real outage, not routing. */
const MIN_PODS_FOR_VERDICT = 3;
/** After a handshake, how long to watch for the listener aborting (the `reset` outcome). */
const RESET_WINDOW_MS = 100;

export interface AuditOptions extends Omit<GatherOptions, 'onProgress'> {
  /** Probe deadline for targets without a `sockeye.dev/timeout` annotation. */
  readonly timeoutMs: number;
  readonly concurrency: number;
  /** Audit objects annotated `sockeye.dev/probe: "false"` too. */
  readonly includeOptedOut: boolean;
  readonly now: Date;
  readonly onProgress?: ((p: Progress) => void) | undefined;
  /** Injected in tests; the engine's default dialer otherwise. */
  readonly dialer?: ProbeOptions['dialer'];
  /** The Service data path checks, as the rules name them; all off when absent. */
  readonly hops?: HopChecks | undefined;
  /** The audit runs in a pod (`KUBERNETES_SERVICE_HOST` set): every hop is judged, as the operator does (hop-reach.ts). */
  readonly inCluster?: boolean | undefined;
  /** In the cluster, the node the audit's pod runs on (`--node-name`): named when a ClusterIP does not forward. */
  readonly nodeName?: ProberIdentity['nodeName'];
}

const NO_HOPS: HopChecks = { checkClusterIP: false, checkNodePorts: false, checkLoadBalancers: false };

export type Progress =
  | { readonly phase: 'list'; readonly resource: Resource; readonly items: number }
  | { readonly phase: 'probe'; readonly done: number; readonly total: number };

export type Reachability =
  | { readonly routable: true }
  | {
      readonly routable: false;
      /** The first batch, as evidence: how many probes, to how many pods, ending how. */
      readonly probes: number;
      readonly pods: number;
      readonly outcomes: Readonly<Partial<Record<Outcome, number>>>;
    };

export interface AuditFinding extends Finding {
  /** What the audit could not check that bears on this finding (e.g. NetworkPolicies unreadable). */
  readonly caveat?: string | undefined;
}

export interface AuditResult {
  readonly namespaces: readonly string[];
  readonly services: number;
  readonly pods: number;
  readonly targets: number;
  /** Per outcome, the probes that ran. */
  readonly outcomes: Readonly<Record<Outcome, number>>;
  readonly reachability: Reachability;
  readonly problems: readonly AccessProblem[];
  readonly findings: readonly AuditFinding[];
  /** Every audited Service and Pod with its status, for renderers that list passing objects (JUnit). */
  readonly statuses: readonly StatusReport[];
  /** Per hop kind, what was planned, judged and not checked from here (hop-reach.ts). */
  readonly hops: readonly HopCoverage[];
}

export async function runAudit(listers: ClusterListers, options: AuditOptions): Promise<AuditResult> {
  const checks = options.hops ?? NO_HOPS;
  const gathered = await gather(listers, {
    ...options,
    nodes: checks.checkNodePorts,
    onProgress: (resource, items) => options.onProgress?.({ phase: 'list', resource, items }),
  });
  const state = auditState(gathered, options, checks);
  const audited = auditedPods(state, gathered.labelledPods);
  const rules = rulesFor(state);
  const planned = rules.planAllTargets().filter((t) => t.pod === undefined || audited(t.pod));
  // Pods first: their first batch decides whether anything is routable from here, and a hop is
  // judged only against pods that answer.
  const targets = planned.filter((t) => t.hop === undefined);
  const hopTargets = planned.filter((t) => t.hop !== undefined);
  const dials = expandConnects(hopTargets);
  const progress = { done: 0, total: targets.length + dials.length };
  const probe = await probeAll(targets, options, progress, true);
  const routable = probe.reachability.routable;
  const hopProbes =
    routable && dials.length > 0 ? (await probeAll(dials, options, progress, false)).observations : [];
  const reach = hopReach(hopTargets, hopProbes, {
    enabled: {
      'cluster-ip': checks.checkClusterIP,
      'node-port': checks.checkNodePorts,
      'health-check': checks.checkNodePorts,
      'load-balancer': checks.checkLoadBalancers,
    },
    inCluster: options.inCluster ?? false,
    routable,
    nodesReadable: !gathered.problems.some((p) => p.resource === 'nodes'),
  });
  const judgement = rules.judge(
    {
      probes: routable ? [...probe.observations, ...reach.judged] : [],
      prober: options.inCluster ? { ...IN_CLUSTER_PROBER, nodeName: options.nodeName } : OUTSIDE_PROBER,
      now: options.now,
    },
    (f) => (f.object.kind !== 'Pod' || audited(f.object)) && (routable || !PROBE_REASONS.has(f.reason)),
  );
  return {
    namespaces: gathered.namespaces,
    services: state.services.length,
    pods: state.pods.filter(audited).length,
    targets: targets.length,
    outcomes: probe.outcomes,
    reachability: probe.reachability,
    problems: gathered.problems,
    findings: judgement.findings.map((f) => withCaveat(f, gathered.problems, options.inCluster ?? false)),
    statuses: judgement.statuses.filter((s) => s.object.kind !== 'Pod' || audited(s.object)),
    hops: reach.coverage,
  };
}

/**
 * The audit runs from a workstation or a Job: not a pod that NetworkPolicy peers name. An identity in
 * no namespace, with no labels, is what an `ipBlock`-less policy sees of such a client.
 */
const OUTSIDE_PROBER = { namespace: '', labels: {}, outside: true } as const;
/** In a pod (the chart's audit Job), as a client in no namespace, with no labels, as outside. */
const IN_CLUSTER_PROBER = { namespace: '', labels: {} } as const;

function auditState(g: Gathered, options: AuditOptions, checks: HopChecks): ClusterState {
  const base: ClusterState = {
    ...g.state,
    options: { defaultTimeoutMs: options.timeoutMs, ...checks },
  };
  if (!options.includeOptedOut) return base;
  const optIn = <T extends { annotations: Readonly<Record<string, string>> }>(o: T): T => {
    if (!(PROBE_ANNOTATION in o.annotations)) return o;
    const { [PROBE_ANNOTATION]: _, ...annotations } = o.annotations;
    return { ...o, annotations };
  };
  return {
    ...base,
    services: base.services.map(optIn),
    pods: base.pods.map(optIn),
    namespaces: base.namespaces.map(optIn),
  };
}

/**
 * Which pods the audit reports on. Without `-l`, all of them; with it, the pods the selector matches and
 * the pods the selected Services send to (their refusals are the Services' problem).
 */
function auditedPods(
  state: ClusterState,
  labelled: ReadonlySet<string> | undefined,
): (pod: { readonly namespace: string; readonly name: string }) => boolean {
  if (labelled === undefined) return () => true;
  const keep = new Set(labelled);
  const byNs = Map.groupBy(state.pods, (p: Pod) => p.namespace);
  for (const svc of state.services) {
    for (const p of byNs.get(svc.namespace) ?? []) {
      if (svc.selector && selectsPod(svc.selector, p.labels)) keep.add(`${p.namespace}/${p.name}`);
    }
  }
  return (pod) => keep.has(`${pod.namespace}/${pod.name}`);
}

interface ProbeRun {
  readonly observations: ProbeObservation[];
  readonly outcomes: Record<Outcome, number>;
  readonly reachability: Reachability;
}

/**
 * Probes every target, each under its own deadline (annotations may set one), in one run. No fairness
 * between namespaces (probe/slots.ts): a one-shot audit waits for every result, so sharing would end it
 * no sooner, and a per-namespace cap would slow an audit of one namespace. The first FIRST_BATCH
 * results decide routability: when every one of them is unreachable or timed out, across several pods
 * (or the kernel has no route at all), the machine cannot reach pod IPs, and the rest is not probed.
 */
async function probeAll(
  targets: readonly PlannedTarget[],
  options: AuditOptions,
  progress: { done: number; readonly total: number },
  decideRoutability: boolean,
): Promise<ProbeRun> {
  const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const observations: ProbeObservation[] = [];
  const first: { outcome: Outcome; errno: string | undefined; pod: string }[] = [];
  const batch = decideRoutability ? Math.min(FIRST_BATCH, targets.length) : 0;
  let reachability: Reachability = { routable: true };
  options.onProgress?.({ phase: 'probe', done: progress.done, total: progress.total });
  for await (const result of probeTargets(targets, {
    concurrency: options.concurrency,
    resetWindowMs: RESET_WINDOW_MS,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.dialer ? { dialer: options.dialer } : {}),
  })) {
    outcomes[result.outcome]++;
    observations.push(observation(result));
    options.onProgress?.({ phase: 'probe', done: ++progress.done, total: progress.total });
    if (first.length < batch) {
      const t = result.target;
      first.push({
        outcome: result.outcome,
        errno: 'errno' in result ? result.errno : undefined,
        pod: t.pod ? `${t.pod.namespace}/${t.pod.name}` : t.ip,
      });
      if (first.length === batch) {
        reachability = routability(first);
        if (!reachability.routable) break;
      }
    }
  }
  return { observations, outcomes, reachability };
}

export function routability(
  first: readonly { outcome: Outcome; errno?: string | undefined; pod: string }[],
): Reachability {
  const failing = first.every((r) => r.outcome === 'unreachable' || r.outcome === 'timeout');
  const pods = new Set(first.map((r) => r.pod)).size;
  const noRoute = first.some((r) => r.errno === 'ENETUNREACH');
  if (first.length === 0 || !failing || (pods < MIN_PODS_FOR_VERDICT && !noRoute)) return { routable: true };
  const tally: Partial<Record<Outcome, number>> = {};
  for (const r of first) tally[r.outcome] = (tally[r.outcome] ?? 0) + 1;
  return { routable: false, probes: first.length, pods, outcomes: tally };
}

/** Findings whose cause the audit could not fully check, e.g. a timeout where policies were unreadable. */
function withCaveat(f: Finding, problems: readonly AccessProblem[], inCluster: boolean): AuditFinding {
  if (HOP_REASONS.has(f.reason) && !inCluster)
    return {
      ...f,
      caveat:
        'judged from outside the cluster, whose part of the data path answered this machine (some address of it did): a firewall between this machine and the failing hop would look the same',
    };
  if (f.reason !== 'ConnectTimeout') return f;
  const unread = problems.find(
    (p) =>
      p.resource === 'networkpolicies' &&
      (p.namespaces.length === 0 || p.namespaces.includes(f.object.namespace)),
  );
  if (!unread) return f;
  return {
    ...f,
    caveat: `NetworkPolicies in namespace ${f.object.namespace} could not be read (${unread.reason}): whether one drops this is unknown`,
  };
}

const HOP_REASONS: ReadonlySet<string> = new Set([
  'ServiceIPNotForwarding',
  'NodePortFailing',
  'LoadBalancerFailing',
]);

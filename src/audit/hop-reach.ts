/**
 * Which Service data path hops the audit can judge from where it runs (docs/design.md "The audit
 * and the data path"). The operator runs in the cluster: a ClusterIP, a node or a load balancer
 * that does not answer it is the data path's fault. The audit often runs on a workstation, where
 * the Service network is not routed, node addresses sit behind a firewall, or an internal load
 * balancer is out of reach: there a hop that does not answer says nothing about the Service.
 *
 * The rule. In the cluster (`KUBERNETES_SERVICE_HOST` is set: a pod, such as the chart's audit Job)
 * every hop is judged as the operator judges it. Outside, a hop is judged only where this machine
 * has shown it reaches that part of the path: some address of it answered (`open`, or `refused` /
 * `reset`, which only the far end or its data path sends). The parts: each node (any NodePort or
 * health check on its InternalIP answered), the Service network per address family (any ClusterIP
 * answered), the load balancers per family (any ingress address answered). Where nothing of a part
 * answered (every probe timed out or was unreachable), its hops are "not checked from here", never
 * a finding. Everywhere: when pod IPs are not routable from here, no hop is probed (a hop is judged
 * only against pods that answer), and the checks turned off or without Nodes to go to are said.
 * Pure: the audit's probes come in, the observations to judge and the coverage per hop kind go out.
 */
import type { Outcome } from '../probe/outcome.ts';
import type { PlannedTarget } from '../rules/targets.ts';
import type { HopKind, ProbeObservation } from '../rules/types.ts';

export const HOP_KINDS: readonly HopKind[] = ['cluster-ip', 'node-port', 'health-check', 'load-balancer'];

/** Why some hops of a kind were not judged. */
export type NotCheckedWhy =
  /** Turned off (`--no-check-…`). */
  | 'off'
  /** Nodes could not be listed: no NodePort or health-check hop was planned. */
  | 'nodes-unreadable'
  /** Pod IPs are not routable from here: no hop was probed. */
  | 'pods-unroutable'
  /** Outside the cluster, nothing of that part of the path answered from here. */
  | 'no-answer-from-here';

export interface HopCoverage {
  readonly hop: HopKind;
  /** Addresses planned (each `ip:port` once; a load balancer's address takes several connects). */
  readonly planned: number;
  /** Judged: their outcomes are the rules' input. */
  readonly checked: number;
  readonly notChecked: number;
  readonly why?: NotCheckedWhy | undefined;
  /** For node hops not checked from here: the nodes that answered nothing. */
  readonly nodes?: readonly string[] | undefined;
}

export interface HopSetup {
  /** Per kind, whether its check is on (`health-check` goes with `node-port`). */
  readonly enabled: Readonly<Record<HopKind, boolean>>;
  readonly inCluster: boolean;
  /** Pod IPs are routable from here (run.ts's first-batch verdict). */
  readonly routable: boolean;
  /** Whether the Nodes could be read (false: NodePort Services in scope, Nodes forbidden). */
  readonly nodesReadable: boolean;
}

/** An answer only the far end (or the data path in front of it) gives: this machine reaches it. */
const ANSWERS: ReadonlySet<Outcome> = new Set(['open', 'refused', 'reset']);

/** The part of the path a hop belongs to, for "did anything of it answer from here". */
function partOf(t: PlannedTarget): string {
  const kind = t.hop?.kind;
  return kind === 'node-port' || kind === 'health-check' ? `node|${t.ip}` : `${kind}|${t.family}`;
}

const key = (ip: string, port: number) => `${ip}|${port}`;

/**
 * The hop observations the rules may judge, and what was checked of each kind. `hops` are the
 * planned hop targets (each once), `observations` every connect made to them.
 */
export function hopReach(
  hops: readonly PlannedTarget[],
  observations: readonly ProbeObservation[],
  setup: HopSetup,
): { readonly judged: ProbeObservation[]; readonly coverage: HopCoverage[] } {
  const partByKey = new Map(hops.map((t) => [key(t.ip, t.port), partOf(t)]));
  const answered = new Set<string>();
  for (const o of observations) {
    const part = partByKey.get(key(o.target.ip, o.target.port));
    if (part !== undefined && ANSWERS.has(o.outcome)) answered.add(part);
  }
  const reached = (t: PlannedTarget) => setup.inCluster || answered.has(partOf(t));
  const reachedKeys = new Set(hops.filter(reached).map((t) => key(t.ip, t.port)));
  const judged = setup.routable
    ? observations.filter((o) => reachedKeys.has(key(o.target.ip, o.target.port)))
    : [];
  const coverage = HOP_KINDS.map((hop): HopCoverage => {
    const of = hops.filter((t) => t.hop?.kind === hop);
    const planned = of.length;
    if (!setup.enabled[hop]) return { hop, planned: 0, checked: 0, notChecked: 0, why: 'off' };
    const nodeHop = hop === 'node-port' || hop === 'health-check';
    if (nodeHop && !setup.nodesReadable)
      return { hop, planned, checked: 0, notChecked: 0, why: 'nodes-unreadable' };
    if (!setup.routable)
      return {
        hop,
        planned,
        checked: 0,
        notChecked: planned,
        ...(planned > 0 ? { why: 'pods-unroutable' } : {}),
      };
    const missed = of.filter((t) => !reached(t));
    if (missed.length === 0) return { hop, planned, checked: planned, notChecked: 0 };
    const nodes = nodeHop
      ? [...new Set(missed.flatMap((t) => (t.hop?.node ? [t.hop.node] : [])))].sort()
      : [];
    return {
      hop,
      planned,
      checked: planned - missed.length,
      notChecked: missed.length,
      why: 'no-answer-from-here',
      ...(nodes.length > 0 ? { nodes } : {}),
    };
  });
  return { judged, coverage };
}

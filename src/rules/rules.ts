/**
 * The rules' public entry for one cluster state: indexed once, then planned, judged, described and
 * tallied from that one index. Callers (the operator's reconcile, the audit) use only this; how the
 * rules index, view and chain is theirs to change.
 */
import type { Pod, Service } from '../model/types.ts';
import { expandConnects } from './connects.ts';
import { buildContext, connectsByTarget, judgedTargets } from './context.ts';
import { evaluate } from './evaluate.ts';
import { describeAll, type StatusReport } from './status.ts';
import { type PlannedTarget, planAllTargets, planPodTargets, planTargets } from './targets.ts';
import type { ClusterState, EvaluateInput, Finding, HopKind, ProbeObservation } from './types.ts';
import { type Index, indexState, podSkip, targetKey } from './view.ts';

/** What was observed about a state: everything `EvaluateInput` has beyond the state itself. */
export type Observations = Omit<EvaluateInput, keyof ClusterState>;

export interface Judgement {
  readonly findings: readonly Finding[];
  /** The status annotations of every Service and Pod of the state. */
  readonly statuses: readonly StatusReport[];
}

/** How many targets were counted, and how many of them are open, for metrics. */
export interface Tally {
  readonly targets: number;
  readonly open: number;
}

/** One Service port's targets in rotation and how many of them are open. */
export interface PortTally extends Tally {
  readonly port: string;
  /** The port's data path hops of each kind it has (ClusterIP, NodePort, load balancer), probed and open. */
  readonly hops: readonly HopTally[];
}

export interface HopTally extends Tally {
  readonly hop: HopKind;
}

const TALLIED_HOPS: readonly HopKind[] = ['cluster-ip', 'node-port', 'load-balancer'];

/** Why a Service is not judged, and the pods that leave with it (not judged themselves either). */
export interface Skip {
  readonly why: string;
  readonly pods: readonly Pod[];
}

export interface Rules {
  readonly state: ClusterState;
  /** Undefined when the Service is judged; else why not (opt-out, ExternalName, selector-less). */
  skip(service: Service): Skip | undefined;
  planTargets(service: Service): PlannedTarget[];
  planPodTargets(pod: Pod): PlannedTarget[];
  planAllTargets(): PlannedTarget[];
  /**
   * What judging one Service needs probed: its targets, and every declared port of the pods behind
   * them (their pod-level findings and status depend on those too).
   */
  planService(service: Service): PlannedTarget[];
  /** Findings (those `keep` keeps) and the statuses they make. */
  judge(observed: Observations, keep?: (finding: Finding) => boolean): Judgement;
  /** The Service's ports counted from a round's probes (an address connected to several times counts once). */
  tally(service: Service, probes: readonly ProbeObservation[]): PortTally[];
}

export function rulesFor(state: ClusterState): Rules {
  const index: Index = indexState(state);
  return {
    state,
    skip(service) {
      const view = index.serviceView(service);
      if (view.skip === undefined) return undefined;
      return { why: view.skip, pods: view.matched.filter((p) => podSkip(p, index) !== undefined) };
    },
    planTargets: (service) => planTargets(service, index),
    planPodTargets: (pod) => planPodTargets(pod, index),
    planAllTargets: () => planAllTargets(index),
    planService(service) {
      const own = planTargets(service, index);
      const pods = new Set(own.flatMap((t) => (t.pod ? [t.pod.name] : [])));
      const ownKeys = new Set(own.map((t) => targetKey(t.ip, t.port)));
      return planAllTargets(index).filter(
        (t) => ownKeys.has(targetKey(t.ip, t.port)) || (t.pod !== undefined && pods.has(t.pod.name)),
      );
    },
    judge(observed, keep = () => true) {
      const input: EvaluateInput = { ...state, ...observed };
      const ctx = buildContext(input, index);
      const findings = evaluate(input, ctx).filter(keep);
      return { findings, statuses: describeAll(input, findings, ctx) };
    },
    tally(service, probes) {
      const connects = connectsByTarget(probes);
      const outcome = (ip: string, port: number) => connects.get(targetKey(ip, port))?.outcome;
      return index.serviceView(service).ports.flatMap((pv) => {
        if (pv.skip !== undefined) return [];
        const judged = judgedTargets(pv.targets);
        const open = judged.filter((t) => outcome(t.ip, t.port) === 'open').length;
        const hops = TALLIED_HOPS.flatMap((hop): HopTally[] => {
          const of = pv.hops.filter((h) => h.kind === hop);
          if (of.length === 0) return [];
          return [
            { hop, targets: of.length, open: of.filter((h) => outcome(h.ip, h.port) === 'open').length },
          ];
        });
        return [{ port: pv.port.name || String(pv.port.port), targets: judged.length, open, hops }];
      });
    },
  };
}

/** For callers that probe: dial each target its number of connects, read them back as one verdict each. */
export { connectsByTarget, expandConnects, targetKey };

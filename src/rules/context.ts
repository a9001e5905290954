/**
 * Everything one evaluation reads, indexed once: the cluster state, the Service views, the pod views and
 * the probe outcomes. Shared by evaluate() and the status derivation so the two tell the same story.
 */
import type { Pod } from '../model/types.ts';
import type { Outcome } from '../probe/outcome.ts';
import { forbiddenAddress } from './address.ts';
import { type Connects, combineConnects } from './connects.ts';
import type { EvaluateInput, OutcomeEvidence, ProbeObservation } from './types.ts';
import {
  type Index,
  indexState,
  type PodView,
  podViews,
  type ServiceView,
  type TargetView,
  targetKey,
} from './view.ts';

/** The outcomes seen for one pod port: on each pod IP, and on loopback from the sidecar. */
export interface PortOutcomes {
  readonly byIP: readonly { readonly ip: string; readonly outcome: Outcome }[];
  readonly loopback: readonly Outcome[];
}

export interface Context {
  readonly input: EvaluateInput;
  readonly index: Index;
  readonly services: readonly ServiceView[];
  readonly pods: readonly PodView[];
  /** The outcome of `ip:port`, all its connects of the round together (connects.ts). */
  outcome(ip: string, port: number): Outcome | undefined;
  connects(ip: string, port: number): Connects | undefined;
  /** The HTTP status an app check on `ip:port` saw (health-check hops), if one ran and got an answer. */
  httpStatus(ip: string, port: number): number | undefined;
  podOutcomes(pod: Pod, port: number): PortOutcomes;
}

/** The context of one evaluation; `index` is the state's, when the caller has it already (rules.ts). */
export function buildContext(input: EvaluateInput, index: Index = indexState(input)): Context {
  const probes = connectsByTarget(input.probes);
  const loopback = new Map<string, Outcome[]>();
  for (const l of input.loopback ?? []) {
    const key = `${l.namespace}/${l.pod}|${l.port}`;
    loopback.set(key, [...(loopback.get(key) ?? []), l.outcome]);
  }
  const services = input.services.map((s) => index.serviceView(s));
  const connects = (ip: string, port: number) => probes.get(targetKey(ip, port));
  const outcome = (ip: string, port: number) => connects(ip, port)?.outcome;
  const statuses = new Map<string, number>();
  for (const p of input.probes)
    if (p.app?.status !== undefined) statuses.set(targetKey(p.target.ip, p.target.port), p.app.status);
  return {
    input,
    index,
    services,
    pods: podViews(input.pods, services, index),
    outcome,
    connects,
    httpStatus: (ip, port) => statuses.get(targetKey(ip, port)),
    podOutcomes: (pod, port) => ({
      byIP: pod.podIPs.flatMap((ip) => {
        const o = forbiddenAddress(ip) === undefined ? outcome(ip, port) : undefined;
        return o === undefined ? [] : [{ ip, outcome: o }];
      }),
      loopback: loopback.get(`${pod.namespace}/${pod.name}|${port}`) ?? [],
    }),
  };
}

/** Each probed address's connects of the round as one verdict (an address probed once: its outcome). */
export function connectsByTarget(probes: readonly ProbeObservation[]): Map<string, Connects> {
  const outcomes = new Map<string, Outcome[]>();
  for (const p of probes) {
    const key = targetKey(p.target.ip, p.target.port);
    const seen = outcomes.get(key);
    if (seen) seen.push(p.outcome);
    else outcomes.set(key, [p.outcome]);
  }
  const out = new Map<string, Connects>();
  for (const [key, list] of outcomes) {
    const c = combineConnects(list);
    if (c) out.set(key, c);
  }
  return out;
}

/** Targets a Service port is judged on: in rotation and not terminating (draining pods may refuse). */
export function judgedTargets(targets: readonly TargetView[]): readonly TargetView[] {
  return targets.filter((t) => t.inRotation && !t.endpoint.terminating);
}

/** The targets with a definite outcome (an `error` is the prober's own problem, never the target's). */
export function probedTargets(
  targets: readonly TargetView[],
  ctx: Context,
): { readonly target: TargetView; readonly outcome: Outcome }[] {
  return targets.flatMap((target) => {
    const outcome = ctx.outcome(target.ip, target.port);
    return outcome === undefined || outcome === 'error' ? [] : [{ target, outcome }];
  });
}

export function targetEvidence(t: TargetView, outcome: Outcome): OutcomeEvidence {
  return { ip: t.ip, port: t.port, outcome, pod: t.pod?.name };
}

/** A target's name in messages: the pod, and its IP when the pod has several (dual-stack). */
export function targetName(t: TargetView): string {
  if (!t.pod) return t.ip;
  return t.pod.podIPs.length > 1 ? `${t.pod.name} ${t.ip}` : t.pod.name;
}

/**
 * Everything one evaluation reads, indexed once: the cluster state, the Service views, the pod views and
 * the probe outcomes. Shared by evaluate() and the status derivation so the two tell the same story.
 */
import { isIgnored } from '../config/annotations.ts';
import type { Pod, Service, ServicePort } from '../model/types.ts';
import type { Outcome } from '../probe/outcome.ts';
import { forbiddenAddress } from './address.ts';
import type { EvaluateInput, OutcomeEvidence } from './types.ts';
import {
  claimsPort,
  declaredPorts,
  type Index,
  indexState,
  podSkip,
  resolveTargetPort,
  type ServiceView,
  serviceView,
  type TargetView,
  targetKey,
} from './view.ts';

/**
 * One port of a pod: declared, and/or the target of Service ports the pod claims (it declares the port,
 * or no ports at all). A Service target the pod does not declare, beside ports it does, is left out: it
 * is probed as the Service's target and judged on the Service, never on the pod.
 */
export interface PodPortView {
  readonly number: number;
  /** The declared containerPort name, or '' when undeclared or unnamed. */
  readonly name: string;
  readonly declared: boolean;
  readonly serving: readonly { readonly service: Service; readonly port: ServicePort }[];
}

export interface PodView {
  readonly pod: Pod;
  readonly skip?: string | undefined;
  readonly ports: readonly PodPortView[];
}

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
  outcome(ip: string, port: number): Outcome | undefined;
  podOutcomes(pod: Pod, port: number): PortOutcomes;
}

export function buildContext(input: EvaluateInput): Context {
  const index = indexState(input);
  const probes = new Map(input.probes.map((p) => [targetKey(p.target.ip, p.target.port), p.outcome]));
  const loopback = new Map<string, Outcome[]>();
  for (const l of input.loopback ?? []) {
    const key = `${l.namespace}/${l.pod}|${l.port}`;
    loopback.set(key, [...(loopback.get(key) ?? []), l.outcome]);
  }
  const services = input.services.map((s) => serviceView(s, index));
  const outcome = (ip: string, port: number) => probes.get(targetKey(ip, port));
  return {
    input,
    index,
    services,
    pods: podViews(input.pods, services, index),
    outcome,
    podOutcomes: (pod, port) => ({
      byIP: pod.podIPs.flatMap((ip) => {
        const o = forbiddenAddress(ip) === undefined ? outcome(ip, port) : undefined;
        return o === undefined ? [] : [{ ip, outcome: o }];
      }),
      loopback: loopback.get(`${pod.namespace}/${pod.name}|${port}`) ?? [],
    }),
  };
}

function podViews(pods: readonly Pod[], services: readonly ServiceView[], index: Index): PodView[] {
  // Sets, not Array.includes: a large Service over thousands of pods must stay linear.
  const selected = services.map((v) => ({ view: v, pods: new Set(v.selected) }));
  return pods.map((p) => podView(p, selected, index));
}

function podView(
  pod: Pod,
  services: readonly { readonly view: ServiceView; readonly pods: ReadonlySet<Pod> }[],
  index: Index,
): PodView {
  const skip = podSkip(pod, index);
  if (skip !== undefined) return { pod, skip, ports: [] };
  const config = index.config(pod);
  const ports = new Map<
    number,
    { name: string; declared: boolean; serving: PodPortView['serving'][number][] }
  >();
  const entry = (n: number) => {
    let e = ports.get(n);
    if (!e) {
      e = { name: '', declared: false, serving: [] };
      ports.set(n, e);
    }
    return e;
  };
  for (const cp of declaredPorts(pod)) {
    if (cp.protocol !== 'TCP') continue;
    const e = entry(cp.containerPort);
    e.declared = true;
    if (e.name === '' && cp.name) e.name = cp.name;
  }
  for (const { view: v, pods } of services) {
    if (v.skip !== undefined || !pods.has(pod)) continue;
    for (const pv of v.ports) {
      if (pv.skip !== undefined) continue;
      const n = resolveTargetPort(pv.port, pod);
      // Only ports the pod claims: it is not told about traffic it never asked for (evaluate.ts, top).
      if (n !== undefined && claimsPort(pv.port, pod))
        entry(n).serving.push({ service: v.service, port: pv.port });
    }
  }
  const views = [...ports.entries()]
    .filter(([n, e]) => !isIgnored(config, e.name, n))
    .sort(([a], [b]) => a - b)
    .map(([number, e]): PodPortView => ({ number, ...e }));
  return { pod, ports: views };
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

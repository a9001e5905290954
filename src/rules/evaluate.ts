/**
 * evaluate(): cluster state + probe outcomes -> findings. Rules are pure functions kept in ordered chains
 * (cert-manager's policy chains): within a chain the first rule that finds something wins, so one problem
 * is reported once, by its most specific reason. Separate chains report independent problems.
 *
 * Blame the object whose change fixes it. A finding is a promise: change this object and the problem goes
 * away; its hint says what to change there. So a pod gets a pod-level finding for a port only when it is
 * plausibly at fault: it declares that port (by number, or by the name the Service uses), or it declares
 * no ports at all (then nothing tells the port is not its own). A pod that declares other ports, not the
 * one a Service sends to, is not told to fix itself: the Service's targetPort or selector is at fault,
 * and the Service's finding says which and names those pods (claimsPort, in view.ts, draws the line).
 */
import { type AnnotationLayer, type KnownPorts, parseLayer } from '../config/annotations.ts';
import type { ObjectRef, Pod, Service } from '../model/types.ts';
import { isTargetFailure, type Outcome } from '../probe/outcome.ts';
import { HINTS, MESSAGES, nameList, PROBE_REASONS, type Reason } from './catalog.ts';
import {
  buildContext,
  type Context,
  judgedTargets,
  type PortOutcomes,
  probedTargets,
  targetEvidence,
  targetName,
} from './context.ts';
import { finding, podRefs } from './finding.ts';
import {
  loadBalancerEvidence,
  loadBalancerFailing,
  nodePortFailing,
  serviceIPNotForwarding,
  settling,
} from './hop-findings.ts';
import { networkPolicyVerdict } from './netpol.ts';
import { formatSelector } from './selectors.ts';
import type { EvaluateInput, Finding, PortRef, PreviousFinding } from './types.ts';
import {
  claimsPort,
  declaredPorts,
  hasSelector,
  isLive,
  namespaceRef,
  type PodPortView,
  type PodView,
  portLabel,
  refOf,
  resolveTargetPort,
  type ServicePortView,
  type ServiceView,
  servicePortLabel,
  type TargetView,
  targetPortLabel,
} from './view.ts';
import { otherWorkload } from './workloads.ts';

export function evaluate(input: EvaluateInput, ctx: Context = buildContext(input)): Finding[] {
  const findings = [
    ...invalidConfiguration(ctx),
    ...ctx.services.flatMap((v) => (v.skip === undefined ? runChains(SERVICE_CHAINS, v, ctx) : [])),
    ...ctx.pods.flatMap((v) =>
      v.skip === undefined ? v.ports.flatMap((port) => runChain(POD_PORT_CHAIN, { view: v, port }, ctx)) : [],
    ),
  ];
  return [...findings, ...targetsRecovered(input.previous ?? [], findings, ctx)];
}

type Rule<T> = (subject: T, ctx: Context) => Finding[];

function runChain<T>(chain: readonly Rule<T>[], subject: T, ctx: Context): Finding[] {
  for (const rule of chain) {
    const found = rule(subject, ctx);
    if (found.length > 0) return found;
  }
  return [];
}

function runChains<T>(chains: readonly (readonly Rule<T>[])[], subject: T, ctx: Context): Finding[] {
  return chains.flatMap((chain) => runChain(chain, subject, ctx));
}

// ---------------------------------------------------------------------------------------------------------
// Service rules. Chain 1: is there anything to send to, and does it answer? Chain 2: do the ports line up?

const SERVICE_CHAINS: readonly (readonly Rule<ServiceView>[])[] = [
  [noEndpoints, noReadyEndpoints, portHealth],
  [targetPortMismatch],
  // The path users connect through, judged only where every backend answers (hop-findings.ts).
  [serviceIPNotForwarding],
  [nodePortFailing],
  [loadBalancerFailing],
];

/** Why a matched pod is not a usable endpoint, for NoEndpoints' message. */
function podState(p: Pod): string {
  if (p.deletionTimestamp !== undefined) return `${p.name} terminating`;
  if (p.phase === 'Succeeded' || p.phase === 'Failed') return `${p.name} ${p.phase}`;
  if (p.podIPs.length === 0) return `${p.name} ${p.phase} without an IP`;
  return `${p.name} ${p.phase}`;
}

function noEndpoints(v: ServiceView, ctx: Context): Finding[] {
  if (v.endpoints.some((e) => e.addresses.length > 0)) return [];
  const svc = v.service;
  const m = MESSAGES.NoEndpoints;
  if (!hasSelector(svc) || svc.selector === undefined)
    return [finding('NoEndpoints', v.ref, m.selectorless())];
  const selector = formatSelector(svc.selector);
  const pods = { pods: podRefs(v.matched) };
  if (v.matched.length === 0) return [finding('NoEndpoints', v.ref, m.noPodMatches(selector, svc.namespace))];
  const running = v.matched.filter((p) => isLive(p) && p.phase === 'Running' && p.podIPs.length > 0);
  if (running.length === 0) {
    return [finding('NoEndpoints', v.ref, m.noLivePod(selector, v.matched.map(podState)), undefined, pods)];
  }
  // The endpointslice controller lists a new Service's pods, or new pods, a second or so later (it
  // batches): before the grace has passed that is its lag, not a finding (the status says Unknown, no
  // targets), and the slice it writes brings the Service back for judging.
  const starts = running.map((p) => p.startTime);
  if (settling(v, starts, ctx.input.now, ctx.index.options.startupGraceMs)) return [];
  const names = running.map((p) => p.name);
  return [finding('NoEndpoints', v.ref, m.controllerLag(selector, names), undefined, pods)];
}

function noReadyEndpoints(v: ServiceView): Finding[] {
  if (v.service.publishNotReadyAddresses || v.endpoints.length === 0 || v.endpoints.some((e) => e.ready))
    return [];
  const states = v.endpoints.map(
    (e) => `${e.targetRef?.name ?? e.addresses[0] ?? '?'} ${e.terminating ? 'terminating' : 'not ready'}`,
  );
  const pods = v.endpoints.flatMap((e) =>
    e.targetRef ? [{ namespace: e.targetRef.namespace, name: e.targetRef.name }] : [],
  );
  return [
    finding('NoReadyEndpoints', v.ref, MESSAGES.NoReadyEndpoints.noneReady(states), undefined, { pods }),
  ];
}

function servicePortRef(pv: ServicePortView): PortRef {
  return { name: pv.port.name, number: pv.port.port, protocol: pv.port.protocol };
}

type Probed = { readonly target: TargetView; readonly outcome: Outcome };

/**
 * Per port: SelectorMatchesOtherWorkloads when only pods of another workload fail (pods that declare none
 * of the Service's target ports, while the ones that declare this one answer); otherwise NoHealthyTargets
 * when every judged target fails, TargetsRefusing when some do, each saying which failing pods do not
 * declare the port (then the Service's targetPort or selector is at fault, not those pods).
 */
function portHealth(v: ServiceView, ctx: Context): Finding[] {
  return v.ports.flatMap((pv) => {
    if (pv.skip !== undefined) return [];
    const probed = probedTargets(judgedTargets(pv.targets), ctx);
    const failed = probed.filter((p) => isTargetFailure(p.outcome));
    if (failed.length === 0) return [];
    const sp = pv.port;
    const claims = (p: Probed) => p.target.pod === undefined || claimsPort(sp, p.target.pod);
    const claimers = probed.filter(claims);
    const foreign = failed.filter((p) => !claims(p));
    const tally = tallyFailures(failed);
    const label = servicePortLabel(sp);
    const evidence = {
      pods: podRefs(failed.flatMap((f) => (f.target.pod ? [f.target.pod] : []))),
      outcomes: probed.map((p) => targetEvidence(p.target, p.outcome)),
    };
    const at = servicePortRef(pv);
    const foreignPods = podsOf(foreign);
    const other = otherWorkload(v.service, podsOf(claimers), foreignPods);
    if (
      other !== undefined &&
      foreign.length === failed.length &&
      claimers.length > 0 &&
      foreignPods.every((p) => v.service.ports.every((port) => !claimsPort(port, p)))
    ) {
      const message = MESSAGES.SelectorMatchesOtherWorkloads.alsoMatches(
        label,
        formatSelector(v.service.selector ?? {}),
        foreignPods.length,
        other.workload,
        tally,
        podsOf(claimers).length,
        targetPortLabel(sp),
        other.label,
      );
      return [
        finding('SelectorMatchesOtherWorkloads', v.ref, message, at, {
          ...evidence,
          pods: podRefs(foreignPods),
        }),
      ];
    }
    const u = MESSAGES.Undeclared;
    const wrongTarget = foreign.length > 0 && claimers.length === 0;
    const cause = wrongTarget
      ? u.targetPortWrong(targetPortLabel(sp), podsOf(probed).length, declaredList(podsOf(probed)))
      : foreign.length > 0
        ? u.someUndeclared(
            targetPortLabel(sp),
            foreignPods.map((p) => p.name),
            other?.workload,
          )
        : undefined;
    const why = (message: string) => (cause === undefined ? message : `${message}; ${cause}`);
    const hint = wrongTarget ? HINTS.targetPortWrong : undefined;
    if (failed.length === probed.length) {
      const lb = loadBalancerEvidence(pv, ctx);
      const message = why(MESSAGES.NoHealthyTargets.allFail(label, probed.length, tally));
      const withLb = lb === undefined ? message : `${message}; ${lb.text}`;
      const outcomes = [...evidence.outcomes, ...(lb?.outcomes ?? [])];
      return [finding('NoHealthyTargets', v.ref, withLb, at, { ...evidence, outcomes }, hint)];
    }
    const message = why(MESSAGES.TargetsRefusing.someFail(label, failed.length, probed.length, tally));
    return [finding('TargetsRefusing', v.ref, message, at, evidence, hint)];
  });
}

/** The distinct pods behind some targets (a dual-stack pod is two targets), in order. */
function podsOf(targets: readonly Probed[]): Pod[] {
  return [...new Set(targets.flatMap((t) => (t.target.pod ? [t.target.pod] : [])))];
}

/** `8080/TCP (http)` for each distinct declared port of the pods. */
function declaredList(pods: readonly Pod[]): string[] {
  const declared = pods.flatMap((p) => declaredPorts(p));
  return [...new Set(declared.map((d) => `${d.containerPort}/${d.protocol}${d.name ? ` (${d.name})` : ''}`))];
}

/** "2 refused: web-1, web-2; 1 timeout: web-3", outcomes in a fixed order. */
function tallyFailures(failed: readonly Probed[]): string {
  const order: Outcome[] = ['refused', 'timeout', 'unreachable', 'reset'];
  return order
    .map((o) => failed.filter((f) => f.outcome === o).map((f) => targetName(f.target)))
    .map((names, i) => (names.length === 0 ? '' : `${names.length} ${order[i]}: ${nameList(names)}`))
    .filter((s) => s !== '')
    .join('; ');
}

function targetPortMismatch(v: ServiceView): Finding[] {
  if (!hasSelector(v.service) || v.selected.length === 0) return [];
  const m = MESSAGES.TargetPortMismatch;
  return v.ports.flatMap((pv) => {
    if (pv.skip?.includes('ignore-ports')) return [];
    const sp = pv.port;
    const label = servicePortLabel(sp);
    const at = servicePortRef(pv);
    if (typeof sp.targetPort === 'number') {
      const declared = v.selected.flatMap((p) => declaredPorts(p));
      // Declaring ports is optional: only pods that declare some can be said to miss this one.
      if (
        declared.length === 0 ||
        declared.some((d) => d.containerPort === sp.targetPort && d.protocol === sp.protocol)
      ) {
        return [];
      }
      const message = m.numberNotDeclared(
        label,
        targetPortLabel(sp),
        v.selected.length,
        declaredList(v.selected),
      );
      return [finding('TargetPortMismatch', v.ref, message, at, { pods: podRefs(v.selected) })];
    }
    const missing = v.selected.filter((p) => resolveTargetPort(sp, p) === undefined);
    if (missing.length === 0) return [];
    const evidence = { pods: podRefs(missing) };
    if (missing.length === v.selected.length) {
      return [
        finding(
          'TargetPortMismatch',
          v.ref,
          m.nameUndefined(label, sp.targetPort, v.selected.length),
          at,
          evidence,
        ),
      ];
    }
    const names = missing.map((p) => p.name);
    const message = m.rolloutSkew(
      label,
      sp.targetPort,
      v.selected.length - missing.length,
      v.selected.length,
      names,
    );
    return [finding('TargetPortMismatch', v.ref, message, at, evidence)];
  });
}

// ---------------------------------------------------------------------------------------------------------
// Pod rules, per port: the most specific explanation of a refusal wins; a timeout is judged on its own.

interface PodPort {
  readonly view: PodView;
  readonly port: PodPortView;
}

const POD_PORT_CHAIN: readonly Rule<PodPort>[] = [
  listeningOnLoopbackOnly,
  readyButRefusing,
  portNotListening,
  connectTimeout,
];

function podPortLabel(port: PodPortView): string {
  return portLabel(port.name, port.number, 'TCP');
}

function podFinding(
  reason: Reason,
  s: PodPort,
  o: PortOutcomes,
  message: string,
  policies: string[] = [],
  hint?: string,
): Finding {
  const { pod } = s.view;
  const outcomes = [
    ...o.byIP.map((b) => ({ ip: b.ip, port: s.port.number, outcome: b.outcome, pod: pod.name })),
    ...o.loopback.map((outcome) => ({
      ip: 'loopback',
      port: s.port.number,
      outcome,
      pod: pod.name,
      loopback: true,
    })),
  ];
  const port: PortRef = { name: s.port.name, number: s.port.number, protocol: 'TCP' };
  return finding(reason, refOf(pod), message, port, { pods: podRefs([pod]), outcomes, policies }, hint);
}

const ipsWith = (o: PortOutcomes, outcome: Outcome) =>
  o.byIP.filter((b) => b.outcome === outcome).map((b) => b.ip);

function listeningOnLoopbackOnly(s: PodPort, ctx: Context): Finding[] {
  const o = ctx.podOutcomes(s.view.pod, s.port.number);
  const refused = ipsWith(o, 'refused');
  if (refused.length === 0 || ipsWith(o, 'open').length > 0 || !o.loopback.includes('open')) return [];
  const message = MESSAGES.ListeningOnLoopbackOnly.loopbackOnly(podPortLabel(s.port), refused);
  return [podFinding('ListeningOnLoopbackOnly', s, o, message)];
}

/** What the pod's readiness probes check, in words, relative to `port`; `same` when they check it. */
function readinessText(pod: Pod, port: PodPortView): { readonly text: string; readonly same: boolean } {
  const m = MESSAGES.ReadyButRefusing;
  const checks = pod.containers.map((c) => c.readiness);
  const ports = checks.flatMap((c) => (c.kind === 'port' ? [c.port] : []));
  const resolved = ports.map((p) =>
    typeof p === 'number' ? p : (declaredPorts(pod).find((d) => d.name === p)?.containerPort ?? p),
  );
  if (resolved.includes(port.number)) return { text: m.samePort(), same: true };
  const text =
    resolved.length > 0
      ? m.otherPort([...new Set(resolved.map(String))])
      : checks.some((c) => c.kind === 'exec')
        ? m.execProbe()
        : m.noProbe();
  return { text, same: false };
}

function readyButRefusing(s: PodPort, ctx: Context): Finding[] {
  const { pod } = s.view;
  if (!pod.ready || s.port.serving.length === 0) return [];
  const o = ctx.podOutcomes(pod, s.port.number);
  const refused = ipsWith(o, 'refused');
  if (refused.length === 0) return [];
  const services = [...new Set(s.port.serving.map((x) => x.service.name))];
  const readiness = readinessText(pod, s.port);
  const message = MESSAGES.ReadyButRefusing.refusing(podPortLabel(s.port), services, refused, readiness.text);
  // "Point the readiness probe at the serving port" only when it does not check it already.
  const hint = readiness.same ? HINTS.readinessSamePort : undefined;
  return [podFinding('ReadyButRefusing', s, o, message, [], hint)];
}

/** A pod that is not Ready yet and started moments ago is still booting: refusing is expected. */
function isBooting(pod: Pod, ctx: Context): boolean {
  if (pod.ready || pod.startTime === undefined) return false;
  return ctx.input.now.getTime() - pod.startTime.getTime() < ctx.index.options.startupGraceMs;
}

function portNotListening(s: PodPort, ctx: Context): Finding[] {
  const o = ctx.podOutcomes(s.view.pod, s.port.number);
  const refused = ipsWith(o, 'refused');
  if (refused.length === 0 || isBooting(s.view.pod, ctx)) return [];
  const open = ipsWith(o, 'open');
  const m = MESSAGES.PortNotListening;
  const label = podPortLabel(s.port);
  const message = open.length > 0 ? m.oneFamily(label, refused, open) : m.refused(label, refused);
  return [podFinding('PortNotListening', s, o, message)];
}

function connectTimeout(s: PodPort, ctx: Context): Finding[] {
  const { pod } = s.view;
  const o = ctx.podOutcomes(pod, s.port.number);
  const timedOut = ipsWith(o, 'timeout');
  const [first] = timedOut;
  if (first === undefined) return [];
  const { input } = ctx;
  const conn = { pod, ip: first, port: s.port.number, protocol: 'TCP' as const };
  const verdict = networkPolicyVerdict(conn, input.prober, input.networkPolicies, input.namespaces);
  const label = podPortLabel(s.port);
  if (verdict.kind === 'dropped') {
    const message = MESSAGES.ConnectTimeout.dropped(label, timedOut, verdict.policies, verdict.direction);
    return [podFinding('ConnectTimeout', s, o, message, [...verdict.policies])];
  }
  return [podFinding('ConnectTimeout', s, o, MESSAGES.ConnectTimeout.unexplained(label, timedOut))];
}

// ---------------------------------------------------------------------------------------------------------
// Configuration: every object's own annotations, independent of all other findings.

function knownServicePorts(svc: Service): KnownPorts {
  const names = svc.ports.flatMap((p) => [p.name, typeof p.targetPort === 'string' ? p.targetPort : '']);
  const numbers = svc.ports.flatMap((p) => [p.port, typeof p.targetPort === 'number' ? p.targetPort : 0]);
  return { names: new Set(names.filter((n) => n !== '')), numbers: new Set(numbers.filter((n) => n > 0)) };
}

function knownPodPorts(pod: Pod): KnownPorts {
  return { names: new Set(declaredPorts(pod).flatMap((p) => (p.name ? [p.name] : []))) };
}

function invalidConfiguration(ctx: Context): Finding[] {
  const { input, index } = ctx;
  const layers: AnnotationLayer[] = [
    ...input.namespaces.map((ns) => ({ object: namespaceRef(ns), annotations: ns.annotations })),
    ...input.services
      .filter((s) => index.config(s).probe)
      .map((s) => ({ object: refOf(s), annotations: s.annotations, knownPorts: knownServicePorts(s) })),
    ...input.pods
      .filter((p) => index.config(p).probe)
      .map((p) => ({ object: refOf(p), annotations: p.annotations, knownPorts: knownPodPorts(p) })),
  ];
  return layers.flatMap((layer) => {
    const { config, problems } = parseLayer(layer);
    // An opted-out Namespace is silent, like the objects in it.
    return config.probe === false
      ? []
      : problems.map((p) =>
          finding(
            'InvalidConfiguration',
            p.object,
            MESSAGES.InvalidConfiguration.invalid(p.key, p.value, p.problem),
          ),
        );
  });
}

// ---------------------------------------------------------------------------------------------------------
// Recovery: a previous Warning that no longer holds, on an object that is still judged.

const sameObject = (a: ObjectRef, b: ObjectRef) =>
  a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
const samePort = (a: PortRef | undefined, b: PortRef | undefined) =>
  a?.name === b?.name && a?.number === b?.number && a?.protocol === b?.protocol;

/** The previous Warnings, each once (the same finding can come back from more than one source). */
function previousWarnings(previous: readonly PreviousFinding[]): PreviousFinding[] {
  const byKey = new Map<string, PreviousFinding>();
  for (const prev of previous) {
    if (prev.severity !== 'Warning' || prev.reason === 'TargetsRecovered') continue;
    const { object: o, port: p } = prev;
    const key = `${prev.reason}|${o.kind}/${o.namespace}/${o.name}|${p?.name}/${p?.number}/${p?.protocol}`;
    if (!byKey.has(key)) byKey.set(key, prev);
  }
  return [...byKey.values()];
}

/**
 * A previous Warning recovered when it no longer holds and nothing took its place: no current Warning on
 * the same port (a refusal now explained by another reason is not a recovery) or on the whole object.
 */
function targetsRecovered(
  previous: readonly PreviousFinding[],
  current: readonly Finding[],
  ctx: Context,
): Finding[] {
  return previousWarnings(previous).flatMap((prev) => {
    const { object: o, port: p } = prev;
    const onObject = current.filter((f) => f.severity === 'Warning' && sameObject(f.object, o));
    const holds =
      prev.reason === 'InvalidConfiguration'
        ? onObject.some((f) => f.reason === 'InvalidConfiguration')
        : onObject.some(
            (f) =>
              f.reason !== 'InvalidConfiguration' &&
              (f.port === undefined || (p !== undefined && samePort(f.port, p))),
          );
    const object = currentRef(o, ctx);
    if (holds || object === undefined || !stillJudged(prev, ctx)) return [];
    const message = MESSAGES.TargetsRecovered.recovered(
      prev.reason,
      p && portLabel(p.name, p.number, p.protocol),
    );
    return [finding('TargetsRecovered', object, message, p)];
  });
}

function currentRef(ref: ObjectRef, ctx: Context): ObjectRef | undefined {
  if (ref.kind === 'Service') {
    const v = ctx.services.find((s) => s.ref.namespace === ref.namespace && s.ref.name === ref.name);
    return v && v.skip === undefined ? v.ref : undefined;
  }
  if (ref.kind === 'Pod') {
    const v = ctx.pods.find((p) => p.pod.namespace === ref.namespace && p.pod.name === ref.name);
    return v && v.skip === undefined ? refOf(v.pod) : undefined;
  }
  const ns = ctx.index.namespace(ref.name);
  return ns ? namespaceRef(ns) : undefined;
}

/** The object still exists and is evaluated; for a probe reason, its port has a definite outcome now. */
function stillJudged(prev: PreviousFinding, ctx: Context): boolean {
  if (currentRef(prev.object, ctx) === undefined) return false;
  if (!PROBE_REASONS.has(prev.reason)) return true;
  const port = prev.port;
  if (port === undefined) return false;
  if (prev.object.kind === 'Service') {
    const v = ctx.services.find(
      (s) => s.ref.namespace === prev.object.namespace && s.ref.name === prev.object.name,
    );
    const pv = v?.ports.find((p) => p.port.name === port.name && p.port.port === port.number);
    return pv !== undefined && probedTargets(judgedTargets(pv.targets), ctx).length > 0;
  }
  const pod = ctx.index.pod(prev.object.namespace, prev.object.name);
  if (!pod) return false;
  return ctx.podOutcomes(pod, port.number).byIP.some((b) => b.outcome !== 'error');
}

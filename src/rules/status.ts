/**
 * The `sockeye.dev/status` and `sockeye.dev/summary` annotation values (docs/design.md "Annotations") of a
 * Service or Pod, from the same input evaluate() read and the findings it returned. Pure; the writer
 * patches only when a value changes, so nothing here may vary between identical inputs.
 */
import type { ObjectRef, Pod, Service } from '../model/types.ts';
import { isTargetFailure, type Outcome } from '../probe/outcome.ts';
import type { Reason } from './catalog.ts';
import { buildContext, type Context, judgedTargets, probedTargets } from './context.ts';
import { hopSummary } from './hop-findings.ts';
import type { EvaluateInput, Finding } from './types.ts';
import { type PodView, refOf, type ServiceView } from './view.ts';

export const STATUSES = [
  'Healthy',
  'Degraded',
  'NoHealthyTargets',
  'NoEndpoints',
  'NotListening',
  'Unknown',
] as const;
export type ObjectStatus = (typeof STATUSES)[number];

export interface StatusReport {
  readonly object: ObjectRef;
  readonly status: ObjectStatus;
  /** One line, e.g. `http: 2/3 open, 1 refused (pod web-7d9 8080)`. */
  readonly summary: string;
}

export function describeService(
  input: EvaluateInput,
  service: Service,
  findings: readonly Finding[],
): StatusReport {
  const ctx = buildContext({ ...input, services: [service] });
  const [view] = ctx.services;
  return view ? serviceReport(view, findings, ctx) : unknown(refOf(service), 'not probed');
}

export function describePod(input: EvaluateInput, pod: Pod, findings: readonly Finding[]): StatusReport {
  const ctx = buildContext(input);
  const view = ctx.pods.find((p) => p.pod.namespace === pod.namespace && p.pod.name === pod.name);
  return view ? podReport(view, findings, ctx) : unknown(refOf(pod), 'not probed');
}

/** Every Service and Pod of the input, built from one index (or the evaluation's own context). */
export function describeAll(
  input: EvaluateInput,
  findings: readonly Finding[],
  ctx: Context = buildContext(input),
): StatusReport[] {
  return [
    ...ctx.services.map((v) => serviceReport(v, findings, ctx)),
    ...ctx.pods.map((v) => podReport(v, findings, ctx)),
  ];
}

function unknown(object: ObjectRef, summary: string): StatusReport {
  return { object, status: 'Unknown', summary };
}

function warningsOn(object: ObjectRef, findings: readonly Finding[]): Finding[] {
  return findings.filter(
    (f) =>
      f.severity === 'Warning' &&
      f.reason !== 'InvalidConfiguration' &&
      f.object.kind === object.kind &&
      f.object.namespace === object.namespace &&
      f.object.name === object.name,
  );
}

const FAILURE_ORDER: readonly Outcome[] = ['refused', 'timeout', 'unreachable', 'reset'];

function serviceReport(v: ServiceView, findings: readonly Finding[], ctx: Context): StatusReport {
  if (v.skip !== undefined) return unknown(v.ref, `not probed: ${v.skip}`);
  const warnings = warningsOn(v.ref, findings);
  const has = (r: Reason) => warnings.find((f) => f.reason === r);
  const structural = has('NoEndpoints') ?? has('NoReadyEndpoints');
  if (structural) {
    return {
      object: v.ref,
      status: structural.reason === 'NoEndpoints' ? 'NoEndpoints' : 'NoHealthyTargets',
      summary: structural.message,
    };
  }
  let probedAny = false;
  const parts = v.ports.map((pv) => {
    const label = pv.port.name === '' ? String(pv.port.port) : pv.port.name;
    if (pv.skip !== undefined) return `${label}: not probed (${pv.skip})`;
    const probed = probedTargets(judgedTargets(pv.targets), ctx);
    if (probed.length === 0)
      return `${label}: ${pv.targets.length === 0 ? 'no targets' : 'no probe results'}`;
    probedAny = true;
    const open = probed.filter((p) => p.outcome === 'open').length;
    const failures = FAILURE_ORDER.flatMap((outcome) => {
      const hit = probed.filter((p) => p.outcome === outcome);
      if (hit.length === 0) return [];
      const names = [...new Set(hit.map((h) => h.target.pod?.name ?? h.target.ip))].sort();
      const shown = names.length > 3 ? [...names.slice(0, 3), '…'] : names;
      const ports = [...new Set(hit.map((h) => h.target.port))].join('/');
      return [
        `${hit.length} ${outcome} (${names.length === 1 ? 'pod' : 'pods'} ${shown.join(', ')} ${ports})`,
      ];
    });
    return [`${label}: ${open}/${probed.length} open`, ...failures, ...hopSummary(v, pv, ctx)].join(', ');
  });
  const summary = parts.length === 0 ? 'no ports' : joinCapped(parts);
  if (has('NoHealthyTargets')) return { object: v.ref, status: 'NoHealthyTargets', summary };
  if (warnings.length > 0) return { object: v.ref, status: 'Degraded', summary };
  return { object: v.ref, status: probedAny ? 'Healthy' : 'Unknown', summary };
}

const NOT_LISTENING: ReadonlySet<Reason> = new Set([
  'PortNotListening',
  'ListeningOnLoopbackOnly',
  'ReadyButRefusing',
]);

function podReport(v: PodView, findings: readonly Finding[], ctx: Context): StatusReport {
  const ref = refOf(v.pod);
  if (v.skip !== undefined) return unknown(ref, `not probed: ${v.skip}`);
  let open = 0;
  let failed = 0;
  const parts = v.ports.map((port) => {
    const label = port.name === '' ? String(port.number) : port.name;
    const o = ctx.podOutcomes(v.pod, port.number);
    const definite = o.byIP.filter((b) => b.outcome !== 'error');
    if (definite.length === 0) return `${label}: no probe results`;
    open += definite.filter((b) => b.outcome === 'open').length;
    failed += definite.filter((b) => isTargetFailure(b.outcome)).length;
    const outcomes = new Set(definite.map((b) => b.outcome));
    const text =
      outcomes.size === 1
        ? [...outcomes].join('')
        : definite.map((b) => `${b.outcome} on ${b.ip}`).join(', ');
    const loop = o.loopback.includes('open') && outcomes.has('refused') ? ' (open on loopback)' : '';
    return `${label}: ${text}${loop}`;
  });
  const summary = parts.length === 0 ? 'no TCP ports to probe' : joinCapped(parts);
  const warnings = warningsOn(ref, findings);
  if (warnings.some((f) => NOT_LISTENING.has(f.reason)))
    return { object: ref, status: 'NotListening', summary };
  if (warnings.length > 0 || failed > 0) {
    // Refusals no rule reported come from a pod still booting: not known to be wrong yet.
    const booting = warnings.length === 0 && !v.pod.ready;
    return { object: ref, status: booting ? 'Unknown' : 'Degraded', summary };
  }
  return { object: ref, status: open > 0 ? 'Healthy' : 'Unknown', summary };
}

/**
 * The longest summary annotation sockeye writes. An object's annotations share 256 KiB: a Service with
 * hundreds of ports must not grow its summary past what the API server accepts (a patch it rejects
 * would be retried forever), and a one-line summary longer than this is not read anyway.
 */
export const MAX_SUMMARY_CHARS = 1024;

/** `parts` joined with "; ", or as many as fit in `max` characters followed by "… and N more ports". */
export function joinCapped(parts: readonly string[], max = MAX_SUMMARY_CHARS): string {
  const full = parts.join('; ');
  if (full.length <= max) return full;
  const tail = (rest: number) => `… and ${rest} more ${rest === 1 ? 'port' : 'ports'}`;
  // The longest tail any cut can need, so the kept parts never push it past `max`.
  const room = max - `; ${tail(parts.length)}`.length;
  const kept: string[] = [];
  let length = 0;
  for (const part of parts) {
    const grown = length + (kept.length > 0 ? 2 : 0) + part.length;
    if (grown > room) break;
    kept.push(part);
    length = grown;
  }
  return [...kept, tail(parts.length - kept.length)].join('; ');
}

/**
 * The OpenReports `Report` sockeye keeps per namespace with `reports.enabled` (docs/design.md
 * "Policy reports"), from that namespace's current findings: pure, plain data in and out, so the
 * writer can compare what it wants with what the API holds and write only a difference.
 *
 * - one Report named `sockeye` per namespace with a Warning, labelled
 *   `app.kubernetes.io/managed-by: sockeye`, `source: sockeye`; none when the namespace has none
 *   (recoveries are no results: a result leaves the Report when its finding clears);
 * - one result per finding: `policy` is the reason, `result` `fail` when the object serves nothing on
 *   that path and `warn` when it is degraded or a setting was ignored, a `severity`, the finding's
 *   message, the object in `resources`, and `properties` (port, hint, failing hops, pods, policies);
 * - nothing that changes while the state does not: no times, sorted results and lists, so the same
 *   findings always give the same Report.
 */
import { REPORT_API_VERSION, type ReportObject } from '../kube/reports.ts';
import type { Shard } from '../model/shard.ts';
import { REASONS, type Reason } from '../rules/catalog.ts';
import type { Finding } from '../rules/types.ts';

export const REPORT_NAME = 'sockeye';

/**
 * The name of a shard's Report in each namespace. Shards know only the findings they write
 * (docs/design.md "Sharding"), so with N > 1 each keeps its own Report (`sockeye-I`) beside the
 * others' rather than all of them fighting over one; with one shard it is `sockeye`.
 */
export function reportName(shard: Shard): string {
  return shard.count > 1 ? `${REPORT_NAME}-${shard.index}` : REPORT_NAME;
}

/** The names every shard's Reports have while the operator runs as `count` shards. */
export function reportNames(count: number): ReadonlySet<string> {
  return new Set(Array.from({ length: count }, (_, index) => reportName({ index, count })));
}
export const REPORT_SOURCE = 'sockeye';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'sockeye';
/** Results one Report holds at most (the object must stay far below etcd's 1.5 MB); the summary counts all. */
export const MAX_RESULTS = 1000;
/** Names in one property at most (pods, hops, policies), then "and N more". */
const MAX_NAMES = 20;

export type ResultKind = 'fail' | 'warn';
export type ResultSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';

/** The reasons a report can hold: the Warnings (a recovery is the absence of a result). */
export type WarningReason = {
  [R in Reason]: (typeof REASONS)[R]['severity'] extends 'Warning' ? R : never;
}[Reason];

export interface ResultClass {
  readonly result: ResultKind;
  readonly severity: ResultSeverity;
  /** Policy Reporter groups results by category. */
  readonly category: string;
}

const BACKENDS = 'Service backends';
const DATA_PATH = 'Service data path';
const POD_PORTS = 'Pod ports';

/** Every backend, the ClusterIP from sockeye's node or the load balancer: traffic gets nowhere. */
const SERVICE_DOWN: ResultClass = { result: 'fail', severity: 'high', category: BACKENDS };
/** Degraded: some backends still serve, or the selector also takes in other workloads' pods. */
const SERVICE_DEGRADED: ResultClass = { result: 'warn', severity: 'medium', category: BACKENDS };
const PATH_DOWN: ResultClass = { ...SERVICE_DOWN, category: DATA_PATH };
/** Some nodes still serve. */
const PATH_DEGRADED: ResultClass = { ...SERVICE_DEGRADED, category: DATA_PATH };
/** One pod's port: the pod serves nothing there, but its Service may have others. */
const PORT_DOWN: ResultClass = { result: 'fail', severity: 'medium', category: POD_PORTS };
/** A Ready pod that refuses: kube-proxy sends traffic to it. */
const READY_PORT_DOWN: ResultClass = { ...PORT_DOWN, severity: 'high' };
const SETTING_IGNORED: ResultClass = { result: 'warn', severity: 'low', category: 'Configuration' };

/**
 * `fail`: traffic on that path gets nowhere (every backend, the ClusterIP from sockeye's node, the
 * load balancer, or the pod's port); `warn`: degraded (some backends or nodes still serve) or a
 * `sockeye.dev/*` setting was ignored. Typed over every Warning reason: a new one must be placed here.
 */
export const RESULT_CLASSES: Readonly<Record<WarningReason, ResultClass>> = {
  NoEndpoints: SERVICE_DOWN,
  NoReadyEndpoints: SERVICE_DOWN,
  NoHealthyTargets: SERVICE_DOWN,
  TargetsRefusing: SERVICE_DEGRADED,
  TargetPortMismatch: SERVICE_DOWN,
  SelectorMatchesOtherWorkloads: SERVICE_DEGRADED,
  ServiceIPNotForwarding: PATH_DOWN,
  NodePortFailing: PATH_DEGRADED,
  LoadBalancerFailing: PATH_DOWN,
  PortNotListening: PORT_DOWN,
  ListeningOnLoopbackOnly: PORT_DOWN,
  ReadyButRefusing: READY_PORT_DOWN,
  ConnectTimeout: PORT_DOWN,
  InvalidConfiguration: SETTING_IGNORED,
};

export interface ResultResource {
  readonly apiVersion: 'v1';
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
}

export interface ReportResult {
  readonly policy: string;
  readonly category: string;
  readonly result: ResultKind;
  readonly severity: ResultSeverity;
  readonly scored: true;
  readonly message: string;
  readonly resources: readonly ResultResource[];
  readonly properties: Readonly<Record<string, string>>;
}

export interface ReportSummary {
  readonly pass: number;
  readonly fail: number;
  readonly warn: number;
  readonly error: number;
  readonly skip: number;
}

export interface PolicyReport extends ReportObject {
  readonly apiVersion: typeof REPORT_API_VERSION;
  readonly kind: 'Report';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
  };
  readonly source: string;
  readonly summary: ReportSummary;
  readonly results: readonly ReportResult[];
  readonly configuration?: { readonly limits: { readonly maxResults: number } };
}

/** The namespace whose Report holds a finding (a Namespace's own finding: that namespace's). */
export function reportNamespaceOf(f: Finding): string {
  return f.object.kind === 'Namespace' ? f.object.name : f.object.namespace;
}

function isWarningReason(reason: Reason): reason is WarningReason {
  return REASONS[reason].severity === 'Warning';
}

/** The Report `namespace` should have for `findings` (others' are ignored); undefined: none. */
export function policyReport(
  namespace: string,
  findings: readonly Finding[],
  name: string = REPORT_NAME,
): PolicyReport | undefined {
  const seen = new Set<string>();
  const results: ReportResult[] = [];
  for (const f of findings) {
    if (f.severity !== 'Warning' || !isWarningReason(f.reason) || reportNamespaceOf(f) !== namespace)
      continue;
    const result = toResult(f, RESULT_CLASSES[f.reason]);
    const key = identity(result);
    if (seen.has(key)) continue;
    seen.add(key);
    results.push(result);
  }
  if (results.length === 0) return undefined;
  results.sort((a, b) => compare(identity(a), identity(b)));
  const kept = results.slice(0, MAX_RESULTS);
  return {
    apiVersion: REPORT_API_VERSION,
    kind: 'Report',
    metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    source: REPORT_SOURCE,
    summary: {
      pass: 0,
      fail: results.filter((r) => r.result === 'fail').length,
      warn: results.filter((r) => r.result === 'warn').length,
      error: 0,
      skip: 0,
    },
    results: kept,
    ...(kept.length < results.length ? { configuration: { limits: { maxResults: MAX_RESULTS } } } : {}),
  };
}

/**
 * The part of a Report sockeye owns, as one canonical text (keys sorted): equal texts mean the
 * Report on the server already says what sockeye wants, so nothing is written. Reads a Report from
 * the API as well as one from `policyReport`; the metadata the API server adds does not count.
 */
export function reportContent(report: ReportObject): string {
  const r = report as Partial<PolicyReport>;
  return canonical({
    labels: { [MANAGED_BY_LABEL]: r.metadata?.labels?.[MANAGED_BY_LABEL] },
    source: r.source,
    summary: r.summary,
    results: r.results,
    configuration: r.configuration,
  });
}

function toResult(f: Finding, cls: ResultClass): ReportResult {
  const { kind, name, namespace, uid } = f.object;
  return {
    policy: f.reason,
    category: cls.category,
    result: cls.result,
    severity: cls.severity,
    scored: true,
    message: f.message,
    resources: [
      {
        apiVersion: 'v1',
        kind,
        name,
        ...(namespace ? { namespace } : {}),
        ...(uid ? { uid } : {}),
      },
    ],
    properties: properties(f),
  };
}

function properties(f: Finding): Record<string, string> {
  const out: Record<string, string> = { hint: f.hint };
  if (f.port) {
    out.port = String(f.port.number);
    out.protocol = f.port.protocol;
    if (f.port.name !== '' && f.port.name !== String(f.port.number)) out.portName = f.port.name;
  }
  const hops = f.evidence.outcomes
    .filter((o) => o.hop !== undefined && o.outcome !== 'open')
    .map((o) => `${o.hop} ${hostPort(o.ip, o.port)}${o.node ? ` on ${o.node}` : ''}: ${o.outcome}`);
  const failing = f.evidence.outcomes
    .filter((o) => o.hop === undefined && o.outcome !== 'open')
    .map((o) => `${o.pod ?? hostPort(o.ip, o.port)}${o.loopback ? ' (loopback)' : ''}: ${o.outcome}`);
  const lists: [string, readonly string[]][] = [
    ['hops', hops],
    ['failing', failing],
    ['pods', f.evidence.pods.map((p) => p.name)],
    ['networkPolicies', f.evidence.policies],
  ];
  for (const [key, items] of lists) if (items.length > 0) out[key] = nameList(items);
  return out;
}

const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Sorted, without repeats, at most MAX_NAMES then "and N more". */
function nameList(items: readonly string[]): string {
  const unique = [...new Set(items)].sort(compare);
  const shown = unique.slice(0, MAX_NAMES).join(', ');
  return unique.length > MAX_NAMES ? `${shown} and ${unique.length - MAX_NAMES} more` : shown;
}

/** What makes a result one: the object, the reason, the port. */
function identity(r: ReportResult): string {
  const res = r.resources[0];
  return [res?.kind, res?.name, r.policy, r.properties.port ?? '', r.properties.portName ?? ''].join(
    '\u0000',
  );
}

/** Code-unit order: the same in every locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => compare(a, b)))
      : v,
  );
}

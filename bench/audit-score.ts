// Pure logic of `npm run bench:audit`: the seeded problems, each tool's output reduced to the objects
// it reports, and the score of one run against the truth. No I/O here (see bench/audit-score.test.ts).

/** One object a tool reports on; `namespace` is undefined for cluster-scoped objects. */
export interface Reported {
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
  /** What the tool said (first line), for the breakdown of false alarms. */
  readonly what: string;
}

/**
 * A seeded problem: a broken Service or pod with a known reason. A report on the object itself or on
 * one of its `related` objects (the pods behind it, its NetworkPolicy) finds it; `family` also counts
 * the Deployment's ReplicaSets and pods (`NAME-HASH`, `NAME-HASH-ID`).
 */
export interface SeededProblem {
  readonly name: string;
  readonly reason: string;
  readonly related?: readonly string[];
  readonly family?: boolean;
}

/**
 * test/audit/testdata/scenario.yaml, per namespace. Its healthy objects (web, web-1, upstream, shop-1)
 * are not problems; `web-canary` (an invalid sockeye annotation on a healthy Service) and `legacy`
 * (opted out of sockeye) are about sockeye's own annotations and are left out of the score.
 */
export const SCENARIO_PROBLEMS: readonly SeededProblem[] = [
  { name: 'ghost', reason: 'NoEndpoints' },
  { name: 'warming', reason: 'NoReadyEndpoints', related: ['warming-1'] },
  { name: 'api', reason: 'NoHealthyTargets', related: ['api-1', 'api-2'] },
  { name: 'shop', reason: 'TargetsRefusing', related: ['shop-2', 'shop-3'] },
  { name: 'metrics', reason: 'TargetPortMismatch', related: ['metrics-1'] },
  { name: 'worker', reason: 'PortNotListening' },
  { name: 'vault', reason: 'ConnectTimeout', related: ['vault-deny-all'] },
  { name: 'batch', reason: 'ConnectTimeout' },
];
export const SCENARIO_UNSCORED: readonly string[] = ['web-canary', 'legacy'];

/** The broken shop of `npm run demo` (scripts/demo.ts), Deployments behind Services. */
export const SHOP_PROBLEMS: readonly SeededProblem[] = [
  { name: 'payments', reason: 'NoHealthyTargets (Ready pods, nothing listens)', family: true },
  { name: 'orders', reason: 'NoHealthyTargets (targetPort 8081, pods serve 8080)', family: true },
  { name: 'cache', reason: 'NoHealthyTargets (bound to 127.0.0.1)', family: true },
  { name: 'inventory', reason: 'NoReadyEndpoints', family: true },
  { name: 'db', reason: 'ConnectTimeout (default-deny policy)', family: true, related: ['db-default-deny'] },
];

export const SEEDED_PER_NAMESPACE: readonly SeededProblem[] = [...SCENARIO_PROBLEMS, ...SHOP_PROBLEMS];

export interface Truth {
  /** Namespaces holding the scenario and the shop. */
  readonly broken: readonly string[];
  /** Namespaces holding only healthy Services. */
  readonly healthy: readonly string[];
  readonly problems?: readonly SeededProblem[];
  readonly unscored?: readonly string[];
}

/**
 * Reports about the harness's v1 Endpoints rather than about a Service, neither a find nor a false
 * alarm; counted apart, so a run that has them shows them instead of scoring them:
 * - popeye's POP-1105 "No associated endpoints found": no v1 Endpoints object at all. The endpoints
 *   controller writes one for every Service with a selector (with no addresses when no pod is
 *   ready), so on the bench's cluster, which runs it (cluster/local.ts `endpointsController`), this
 *   means the controller is missing. (k8sgpt, which lists Endpoints, then says nothing.)
 * - the endpoints controller's own Warning event "Failed to create endpoint for service NS/NAME:
 *   endpoints "NAME" already exists": its informer lagging its own writes while the bench creates
 *   thousands of objects; it retries and succeeds. k8sgpt reports every Warning event whose object
 *   has the Service's name, in any namespace, so one such event lands on every Service of that name.
 */
export function isEndpointsArtifact(what: string): boolean {
  return /\bPOP-1105\b/.test(what) || /Failed to create endpoint for service .*already exists/.test(what);
}

export interface Score {
  readonly seeded: number;
  /**
   * Seeded problems reported by a statement the tool makes about no healthy object: a linter's
   * hygiene warning (no probes, no limits) that it also makes about healthy objects does not find a
   * refusing backend, even when it happens to sit on one.
   */
  readonly found: number;
  /** Seeded problems with any report at all on them or their related objects. */
  readonly foundAny: number;
  /** `namespace/name` of the seeded problems not reported. */
  readonly missed: readonly string[];
  /** Distinct healthy objects reported (in the bench's namespaces). */
  readonly falseAlarms: number;
  /** False alarms counted by what the tool said (its code or first words), most first. */
  readonly falseAlarmsBy: readonly (readonly [string, number])[];
  /** Distinct objects reported outside the bench's namespaces (cluster-scoped, kube-system, ...). */
  readonly outside: number;
  /** Distinct objects reported that the score leaves out (sockeye's own annotations). */
  readonly unscored: number;
  /** Distinct objects in the bench's namespaces with a report about the harness's v1 Endpoints (see above). */
  readonly endpointsArtifacts: number;
}

function belongsTo(problem: SeededProblem, name: string): boolean {
  if (name === problem.name || problem.related?.includes(name)) return true;
  return problem.family === true && new RegExp(`^${problem.name}-[a-z0-9]+(-[a-z0-9]+)?$`).test(name);
}

/** Where a report on `namespace/name` lands: a seeded problem, a false alarm, unscored or outside. */
export function classify(
  truth: Truth,
  namespace: string | undefined,
  name: string,
): { readonly problem: string } | 'false-alarm' | 'unscored' | 'outside' {
  if (namespace === undefined) return 'outside';
  if (truth.broken.includes(namespace)) {
    const problem = (truth.problems ?? SEEDED_PER_NAMESPACE).find((p) => belongsTo(p, name));
    if (problem) return { problem: `${namespace}/${problem.name}` };
    return (truth.unscored ?? SCENARIO_UNSCORED).includes(name) ? 'unscored' : 'false-alarm';
  }
  return truth.healthy.includes(namespace) ? 'false-alarm' : 'outside';
}

/** A short label for what a tool said: popeye's `POP-NNN` code, else the first words. */
export function label(what: string): string {
  const code = /\bPOP-\d+\b/.exec(what);
  if (code) return code[0];
  return what.replace(/\s+/g, ' ').trim().split(' ').slice(0, 6).join(' ');
}

export function score(truth: Truth, reports: readonly Reported[]): Score {
  const problems = truth.problems ?? SEEDED_PER_NAMESPACE;
  const hits: { problem: string; label: string }[] = [];
  const alarms = new Map<string, string>();
  const noise = new Set<string>();
  const outside = new Set<string>();
  const unscored = new Set<string>();
  const artifacts = new Set<string>();
  for (const r of reports) {
    const key = `${r.kind}/${r.namespace ?? ''}/${r.name}`;
    const where = classify(truth, r.namespace, r.name);
    if (where === 'outside') outside.add(key);
    else if (isEndpointsArtifact(r.what)) artifacts.add(key);
    else if (where === 'unscored') unscored.add(key);
    else if (where === 'false-alarm') {
      noise.add(label(r.what));
      if (!alarms.has(key)) alarms.set(key, label(r.what));
    } else hits.push({ problem: where.problem, label: label(r.what) });
  }
  const found = new Set(hits.filter((h) => !noise.has(h.label)).map((h) => h.problem));
  const any = new Set(hits.map((h) => h.problem));
  const all = truth.broken.flatMap((ns) => problems.map((p) => `${ns}/${p.name}`));
  const by = new Map<string, number>();
  for (const l of alarms.values()) by.set(l, (by.get(l) ?? 0) + 1);
  return {
    seeded: all.length,
    found: all.filter((p) => found.has(p)).length,
    foundAny: all.filter((p) => any.has(p)).length,
    missed: all.filter((p) => !found.has(p)),
    falseAlarms: alarms.size,
    falseAlarmsBy: [...by].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    outside: outside.size,
    unscored: unscored.size,
    endpointsArtifacts: artifacts.size,
  };
}

// ---- each tool's output reduced to the objects it reports ----

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function splitName(fqn: string): { namespace: string | undefined; name: string } {
  const slash = fqn.indexOf('/');
  return slash < 0
    ? { namespace: undefined, name: fqn }
    : { namespace: fqn.slice(0, slash), name: fqn.slice(slash + 1) };
}

/** `sockeye audit -o json` (schema sockeye.dev/audit/v1): every finding of severity Warning. */
export function parseSockeye(json: string): Reported[] {
  const report: unknown = JSON.parse(json);
  if (!isRecord(report) || !Array.isArray(report.findings)) throw new Error('not a sockeye audit report');
  const out: Reported[] = [];
  for (const f of report.findings) {
    if (!isRecord(f) || !isRecord(f.object) || f.severity !== 'Warning') continue;
    const { kind, namespace, name } = f.object;
    if (typeof kind !== 'string' || typeof name !== 'string') continue;
    out.push({
      kind,
      namespace: typeof namespace === 'string' ? namespace : undefined,
      name,
      what: String(f.reason),
    });
  }
  return out;
}

/** popeye's levels: 0 ok, 1 info, 2 warning, 3 error. */
export const POPEYE_WARNING = 2;

/**
 * `popeye -o json`: `{popeye: {sections: [{linter, gvr, issues: {FQN: [{level, message}]}}]}}`. One
 * report per issue at `minLevel` (default: warning) or above.
 */
export function parsePopeye(json: string, minLevel = POPEYE_WARNING): Reported[] {
  const doc: unknown = JSON.parse(json);
  const report = isRecord(doc) ? doc.popeye : undefined;
  if (!isRecord(report)) throw new Error('not a popeye report');
  const out: Reported[] = [];
  for (const section of Array.isArray(report.sections) ? report.sections : []) {
    if (!isRecord(section) || !isRecord(section.issues)) continue;
    const kind = typeof section.linter === 'string' ? section.linter : '?';
    for (const [fqn, issues] of Object.entries(section.issues)) {
      if (!Array.isArray(issues)) continue;
      for (const issue of issues) {
        if (!isRecord(issue) || typeof issue.level !== 'number' || issue.level < minLevel) continue;
        out.push({ kind, ...splitName(fqn), what: String(issue.message) });
      }
    }
  }
  return out;
}

/** `k8sgpt analyze -o json`: `{results: [{kind, name: "NS/NAME", error: [{Text}]}]}`. */
export function parseK8sgpt(json: string): Reported[] {
  const doc: unknown = JSON.parse(json);
  if (!isRecord(doc)) throw new Error('not a k8sgpt report');
  const out: Reported[] = [];
  for (const r of Array.isArray(doc.results) ? doc.results : []) {
    if (!isRecord(r) || typeof r.name !== 'string') continue;
    const first = Array.isArray(r.error) ? r.error[0] : undefined;
    out.push({
      kind: typeof r.kind === 'string' ? r.kind : '?',
      ...splitName(r.name),
      what: isRecord(first) ? String(first.Text) : '',
    });
  }
  return out;
}

/** `/usr/bin/time -v`'s peak RSS ("Maximum resident set size (kbytes)") in bytes. */
export function parseTimeV(stderr: string): number | undefined {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return m?.[1] === undefined ? undefined : Number(m[1]) * 1024;
}

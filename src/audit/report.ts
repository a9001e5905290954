/**
 * The audit report: one versioned document every renderer reads. Its JSON form (`-o json`) is public:
 * schema `sockeye.dev/audit/v1`, documented in README "sockeye audit". Fields are only ever added within
 * a version. Nothing here varies between identical runs (no times, no latencies), so reports diff well.
 */

import { byText } from '../model/order.ts';
import type { ObjectRef } from '../model/types.ts';
import { OUTCOMES, type Outcome } from '../probe/outcome.ts';
import { nameList, REASON_NAMES, type Reason, type Severity } from '../rules/catalog.ts';
import type { Evidence, HopKind, PortRef } from '../rules/types.ts';
import type { AccessProblem } from './gather.ts';
import type { HopCoverage } from './hop-reach.ts';
import type { AuditFinding, AuditResult, Reachability } from './run.ts';

export const SCHEMA_VERSION = 'sockeye.dev/audit/v1';

export const FAIL_ON = ['warning', 'normal', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

/**
 * Worst first: nothing to send to, then every target failing, then the path users connect through
 * failing while the pods answer, then partial and per-pod problems.
 */
const RANK: Readonly<Record<Reason, number>> = {
  NoEndpoints: 0,
  NoReadyEndpoints: 1,
  NoHealthyTargets: 2,
  LoadBalancerFailing: 3,
  ServiceIPNotForwarding: 4,
  NodePortFailing: 5,
  TargetPortMismatch: 6,
  TargetsRefusing: 7,
  SelectorMatchesOtherWorkloads: 8,
  ReadyButRefusing: 9,
  ListeningOnLoopbackOnly: 10,
  PortNotListening: 11,
  ConnectTimeout: 12,
  InvalidConfiguration: 13,
  TargetsRecovered: 14,
};

export interface ReportFinding {
  readonly reason: Reason;
  readonly severity: Severity;
  readonly object: { readonly kind: ObjectRef['kind']; readonly namespace: string; readonly name: string };
  readonly port?: PortRef | undefined;
  readonly message: string;
  readonly hint: string;
  readonly caveat?: string | undefined;
  readonly evidence: Evidence;
}

/** An object the audit judged, with its status (Healthy, Degraded, …): JUnit lists passing ones too. */
export interface ReportObject {
  readonly kind: ObjectRef['kind'];
  readonly namespace: string;
  readonly name: string;
  readonly status: string;
  readonly summary: string;
}

export interface AuditReport {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly cluster: { readonly context: string; readonly server: string };
  readonly scope: {
    /** The namespaces audited (all readable ones when none was asked for). */
    readonly namespaces: readonly string[];
    readonly allNamespaces: boolean;
    readonly labelSelector: string | null;
    readonly includeOptedOut: boolean;
  };
  readonly failOn: FailOn;
  /** 0 no finding at or above failOn, 1 findings, 2 the audit could not do its job (see reachability). */
  readonly exitCode: number;
  readonly reachability: Reachability & { readonly message?: string };
  /** What the credentials did not allow reading, once per resource. */
  readonly access: readonly (AccessProblem & { readonly message: string })[];
  readonly summary: {
    readonly namespaces: number;
    readonly services: number;
    readonly pods: number;
    readonly targets: { readonly planned: number; readonly probed: number } & Readonly<
      Record<Outcome, number>
    >;
    readonly findings: {
      readonly total: number;
      readonly bySeverity: Readonly<Record<Severity, number>>;
      readonly byReason: Readonly<Partial<Record<Reason, number>>>;
    };
  };
  /** Grouped by namespace (worst namespace first), worst finding first within one. */
  readonly findings: readonly ReportFinding[];
  readonly objects: readonly ReportObject[];
  /**
   * Per hop kind of the Service data path (ClusterIP, NodePort, health check, load balancer): the
   * addresses planned, judged and not checked from where the audit ran, and why (hop-reach.ts).
   */
  readonly hops: readonly ReportHops[];
}

export interface ReportHops extends HopCoverage {
  /** Says why some hops were not checked; set whenever `why` is. */
  readonly message?: string | undefined;
}

export interface ReportMeta {
  readonly context: string;
  readonly server: string;
  readonly allNamespaces: boolean;
  readonly labelSelector: string | undefined;
  readonly includeOptedOut: boolean;
  readonly failOn: FailOn;
}

/** The namespace a finding is grouped under (a Namespace's own findings go under its name). */
export function groupOf(f: {
  readonly object: { readonly kind: string; readonly namespace: string; readonly name: string };
}) {
  return f.object.kind === 'Namespace' ? f.object.name : f.object.namespace;
}

function compareFindings(a: ReportFinding, b: ReportFinding): number {
  return (
    RANK[a.reason] - RANK[b.reason] ||
    byText(a.object.kind, b.object.kind) ||
    byText(a.object.name, b.object.name) ||
    (a.port?.number ?? 0) - (b.port?.number ?? 0)
  );
}

/** Namespaces ordered by their worst finding, then by how many, then by name. */
export function sortFindings(findings: readonly ReportFinding[]): ReportFinding[] {
  const groups = Map.groupBy([...findings].sort(compareFindings), groupOf);
  const worst = (list: readonly ReportFinding[]) => Math.min(...list.map((f) => RANK[f.reason]));
  return [...groups.entries()]
    .sort(([an, a], [bn, b]) => worst(a) - worst(b) || b.length - a.length || byText(an, bn))
    .flatMap(([, list]) => list);
}

export function exitCodeFor(
  findings: readonly { readonly severity: Severity }[],
  failOn: FailOn,
  reachability: Reachability,
): number {
  if (!reachability.routable) return 2;
  const fails = (s: Severity) => failOn === 'normal' || (failOn === 'warning' && s === 'Warning');
  return findings.some((f) => fails(f.severity)) ? 1 : 0;
}

export function reachabilityMessage(r: Reachability): string | undefined {
  if (r.routable) return undefined;
  const how = OUTCOMES.filter((o) => r.outcomes[o]).map((o) => `${r.outcomes[o]} ${o}`);
  return [
    `pod IPs are not routable from this machine: the first ${r.probes} probes (${r.pods} pods) all ended ${how.join(', ')}.`,
    'sockeye stopped probing and blames no target for it; findings that need a probe are not reported.',
    "Run it inside the cluster instead, with the Helm chart's audit Job:",
    '`helm upgrade --install sockeye charts/sockeye --set auditJob.enabled=true`, then read the report with',
    '`kubectl logs -l app.kubernetes.io/component=audit --tail=-1`.',
  ].join(' ');
}

export function accessMessage(p: AccessProblem): string {
  const where =
    p.namespaces.length === 0
      ? 'cluster-wide'
      : `in namespace${p.namespaces.length > 1 ? 's' : ''} ${p.namespaces.join(', ')}`;
  return `cannot read ${p.resource} ${where} (${p.reason}): ${p.consequence}`;
}

export function buildReport(result: AuditResult, meta: ReportMeta): AuditReport {
  const findings = sortFindings(result.findings.map(reportFinding));
  const bySeverity: Record<Severity, number> = { Warning: 0, Normal: 0 };
  const byReason: Partial<Record<Reason, number>> = {};
  for (const f of findings) {
    bySeverity[f.severity]++;
    byReason[f.reason] = (byReason[f.reason] ?? 0) + 1;
  }
  const orderedByReason = Object.fromEntries(
    REASON_NAMES.filter((r) => byReason[r]).map((r) => [r, byReason[r]]),
  ) as Partial<Record<Reason, number>>;
  const probed = OUTCOMES.reduce((n, o) => n + result.outcomes[o], 0);
  const message = reachabilityMessage(result.reachability);
  return {
    schemaVersion: SCHEMA_VERSION,
    cluster: { context: meta.context, server: meta.server },
    scope: {
      namespaces: result.namespaces,
      allNamespaces: meta.allNamespaces,
      labelSelector: meta.labelSelector ?? null,
      includeOptedOut: meta.includeOptedOut,
    },
    failOn: meta.failOn,
    exitCode: exitCodeFor(findings, meta.failOn, result.reachability),
    reachability: message === undefined ? result.reachability : { ...result.reachability, message },
    access: result.problems.map((p) => ({ ...p, message: accessMessage(p) })),
    summary: {
      namespaces: result.namespaces.length,
      services: result.services,
      pods: result.pods,
      targets: { planned: result.targets, probed, ...result.outcomes },
      findings: { total: findings.length, bySeverity, byReason: orderedByReason },
    },
    findings,
    objects: reportObjects(result),
    hops: result.hops.map((h) => {
      const message = hopMessage(h);
      return message === undefined ? h : { ...h, message };
    }),
  };
}

/** How a hop kind is named in messages, and the flag that turns its check off. */
export const HOP_NAMES: Readonly<Record<HopKind, { readonly name: string; readonly flag: string }>> = {
  'cluster-ip': { name: 'ClusterIP', flag: 'check-cluster-ip' },
  'node-port': { name: 'NodePort', flag: 'check-node-ports' },
  'health-check': { name: 'health check', flag: 'check-node-ports' },
  'load-balancer': { name: 'load balancer', flag: 'check-load-balancers' },
};

/** "3 ClusterIP addresses", "1 load balancer address". */
function addresses(n: number, h: HopKind): string {
  return `${n} ${HOP_NAMES[h].name} address${n === 1 ? '' : 'es'}`;
}

/** Why some hops of a kind were not checked, for the reader; undefined when all were. */
export function hopMessage(h: HopCoverage): string | undefined {
  const { name, flag } = HOP_NAMES[h.hop];
  const inside = "run the audit inside the cluster (the chart's audit Job) to check them";
  switch (h.why) {
    case undefined:
      return undefined;
    case 'off':
      return `${name} hops are not checked: turned off (--no-${flag})`;
    case 'nodes-unreadable':
      return `${name} hops are not checked: the Nodes cannot be listed, so their addresses are unknown`;
    case 'pods-unroutable':
      return `${addresses(h.notChecked, h.hop)} not checked: pod IPs are not routable from here, and a hop is judged only against pods that answer`;
    case 'no-answer-from-here': {
      const what = `${addresses(h.notChecked, h.hop)} not checked from here`;
      if (h.hop === 'cluster-ip')
        return `${what}: no ClusterIP answered this machine (they time out or are unreachable), as where the Service network is not routed outside the cluster; ${inside}`;
      if (h.hop === 'load-balancer')
        return `${what}: no load balancer answered this machine (an internal load balancer is out of reach outside its network); ${inside}`;
      const nodes = h.nodes ?? [];
      return `${what}: ${nodes.length === 1 ? 'node' : 'nodes'} ${nameList(nodes)} answered nothing from here (a firewall or a private network in between); ${inside}`;
    }
  }
}

/**
 * The hop lines a reader must see once: those not checked from here. Turned-off checks were asked
 * for, missing Nodes are an access line already, unroutable pods the reachability line.
 */
export function hopNotices(report: Pick<AuditReport, 'hops'>): string[] {
  return report.hops.flatMap((h) => (h.why === 'no-answer-from-here' && h.message ? [h.message] : []));
}

function reportFinding(f: AuditFinding): ReportFinding {
  return {
    reason: f.reason,
    severity: f.severity,
    object: { kind: f.object.kind, namespace: f.object.namespace, name: f.object.name },
    ...(f.port ? { port: f.port } : {}),
    message: f.message,
    hint: f.hint,
    ...(f.caveat ? { caveat: f.caveat } : {}),
    evidence: sortedEvidence(f.evidence),
  };
}

/** Evidence in a stable order (slices list endpoints in no guaranteed order). */
function sortedEvidence(e: Evidence): Evidence {
  return {
    pods: [...e.pods].sort((a, b) => byText(a.namespace, b.namespace) || byText(a.name, b.name)),
    outcomes: [...e.outcomes].sort(
      (a, b) => byText(a.pod ?? '', b.pod ?? '') || byText(a.ip, b.ip) || a.port - b.port,
    ),
    policies: [...e.policies].sort(),
  };
}

function reportObjects(result: AuditResult): ReportObject[] {
  return result.statuses
    .map((s) => ({
      kind: s.object.kind,
      namespace: s.object.namespace,
      name: s.object.name,
      status: s.status,
      summary: s.summary,
    }))
    .sort((a, b) => byText(a.namespace, b.namespace) || byText(b.kind, a.kind) || byText(a.name, b.name));
}

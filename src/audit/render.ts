/**
 * Renderers of the audit report for people: the terminal table (`-o table`, `-o wide` with each
 * target's pod IP and outcome, as kubectl's wide adds columns) and Markdown for tickets and PR comments
 * (`-o markdown`). JSON and YAML are the report itself; JUnit and SARIF live in ci.ts.
 */
import { stringify } from 'yaml';
import { OUTCOMES } from '../probe/outcome.ts';
import { REASON_NAMES } from '../rules/catalog.ts';
import { portLabel } from '../rules/view.ts';
import { type AuditReport, groupOf, HOP_NAMES, hopNotices, type ReportFinding } from './report.ts';

export const OUTPUTS = ['table', 'wide', 'json', 'yaml', 'markdown', 'junit', 'sarif'] as const;
export type Output = (typeof OUTPUTS)[number];

export function renderJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** The JSON report as YAML: the same fields and values, for people who keep their tooling in YAML. */
export function renderYaml(report: AuditReport): string {
  // No anchors for objects the report happens to share, and no folding: one message, one line.
  return stringify(report, { aliasDuplicateObjects: false, lineWidth: 0 });
}

export function objectLabel(f: Pick<ReportFinding, 'object'>): string {
  return `${f.object.kind}/${f.object.name}`;
}

export function portText(f: Pick<ReportFinding, 'port'>): string {
  return f.port ? portLabel(f.port.name, f.port.number, f.port.protocol) : '-';
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "3 probed: 1 open, 2 refused" — outcomes in the catalog order, zero counts left out. */
export function targetsLine(report: AuditReport): string {
  const t = report.summary.targets;
  const counts = OUTCOMES.filter((o) => t[o] > 0).map((o) => `${t[o]} ${o}`);
  const skipped = t.planned - t.probed;
  return `${plural(t.planned, 'target')}, ${t.probed} probed${counts.length ? `: ${counts.join(', ')}` : ''}${skipped > 0 ? ` (${skipped} not probed)` : ''}`;
}

export function findingsLine(report: AuditReport): string {
  const f = report.summary.findings;
  if (f.total === 0) return 'no findings';
  const reasons = REASON_NAMES.filter((r) => f.byReason[r]).map((r) => `${r} ${f.byReason[r]}`);
  const severities = (['Warning', 'Normal'] as const)
    .filter((s) => f.bySeverity[s] > 0)
    .map((s) => `${f.bySeverity[s]} ${s}`);
  return `${plural(f.total, 'finding')} (${severities.join(', ')}): ${reasons.join(', ')}`;
}

export function scopeLine(report: AuditReport): string {
  const s = report.scope;
  const where = s.allNamespaces ? 'all namespaces' : plural(s.namespaces.length, 'namespace');
  return `${where}${s.labelSelector ? `, selector ${s.labelSelector}` : ''}: ${plural(report.summary.services, 'Service')}, ${plural(report.summary.pods, 'pod')}`;
}

/**
 * The messages that must reach the reader once: reachability first, then what could not be read,
 * then the data path hops not checked from here.
 */
export function notices(report: AuditReport): string[] {
  return [
    ...(report.reachability.message ? [report.reachability.message] : []),
    ...report.access.map((a) => a.message),
    ...hopNotices(report),
  ];
}

/**
 * "NodePort 3/3 checked, load balancer 0/1 checked; off: ClusterIP": per hop kind planned, how many
 * were judged; kinds turned off or without Nodes named after. "none planned" when there is nothing.
 */
export function hopsLine(report: Pick<AuditReport, 'hops'>): string {
  const hops = report.hops;
  const counted = hops
    .filter((h) => h.why !== 'off' && h.why !== 'nodes-unreadable' && h.planned > 0)
    .map((h) => `${HOP_NAMES[h.hop].name} ${h.checked}/${h.planned} checked`);
  const off = hops.filter((h) => h.why === 'off').map((h) => HOP_NAMES[h.hop].name);
  const blind = hops.filter((h) => h.why === 'nodes-unreadable').map((h) => HOP_NAMES[h.hop].name);
  const parts = [
    counted.length > 0 ? counted.join(', ') : 'none planned',
    ...(blind.length > 0 ? [`Nodes unreadable: ${blind.join(', ')}`] : []),
    ...(off.length > 0 ? [`off: ${off.join(', ')}`] : []),
  ];
  return parts.join('; ');
}

export function groups(report: AuditReport): [string, ReportFinding[]][] {
  return [...Map.groupBy(report.findings, groupOf).entries()];
}

// ---------------------------------------------------------------------------------------------------------

const SGR = { bold: '1', dim: '2', red: '31', yellow: '33', green: '32', cyan: '36' } as const;
type Tone = keyof typeof SGR;

interface Column {
  readonly header: string;
  readonly cell: (f: ReportFinding) => string;
  readonly tone?: (f: ReportFinding) => Tone;
}

/** Each probe behind a finding, in evidence order; "-" for a finding that rests on no probe. */
const targetsOf = (f: ReportFinding, part: (o: ReportFinding['evidence']['outcomes'][number]) => string) =>
  f.evidence.outcomes.map(part).join(',') || '-';

const COLUMN = {
  severity: {
    header: 'SEVERITY',
    cell: (f) => f.severity,
    tone: (f) => (f.severity === 'Warning' ? 'yellow' : 'green'),
  },
  object: { header: 'OBJECT', cell: objectLabel },
  port: { header: 'PORT', cell: portText },
  reason: { header: 'REASON', cell: (f) => f.reason, tone: () => 'red' },
  podIp: { header: 'POD-IP', cell: (f) => targetsOf(f, (o) => o.ip) },
  outcome: { header: 'OUTCOME', cell: (f) => targetsOf(f, (o) => o.outcome) },
  cause: { header: 'CAUSE', cell: (f) => f.message },
} as const satisfies Record<string, Column>;

const TABLE_COLUMNS: readonly Column[] = [
  COLUMN.severity,
  COLUMN.object,
  COLUMN.port,
  COLUMN.reason,
  COLUMN.cause,
];
/** `-o wide`: the table plus, per target probed, its pod IP and outcome (same order in both columns). */
const WIDE_COLUMNS: readonly Column[] = [
  COLUMN.severity,
  COLUMN.object,
  COLUMN.port,
  COLUMN.reason,
  COLUMN.podIp,
  COLUMN.outcome,
  COLUMN.cause,
];

/** `program` is how the user ran it (`sockeye`, or `kubectl sockeye` as a plugin): the report says it back. */
export function renderTable(report: AuditReport, colour: boolean, program = 'sockeye'): string {
  return renderColumns(report, colour, TABLE_COLUMNS, program);
}

export function renderWide(report: AuditReport, colour: boolean, program = 'sockeye'): string {
  return renderColumns(report, colour, WIDE_COLUMNS, program);
}

function renderColumns(
  report: AuditReport,
  colour: boolean,
  columns: readonly Column[],
  program: string,
): string {
  const paint = (code: Tone, text: string) => (colour ? `\u001b[${SGR[code]}m${text}\u001b[0m` : text);
  const out: string[] = [`${program} audit of ${report.cluster.context} (${scopeLine(report)})`, ''];
  for (const [ns, findings] of groups(report)) {
    const warnings = findings.filter((f) => f.severity === 'Warning').length;
    out.push(
      `${paint('bold', `NAMESPACE ${ns}`)}  ${plural(findings.length, 'finding')}, ${warnings} Warning`,
    );
    const rows = findings.map((f) => columns.map((c) => c.cell(f)));
    const header = columns.map((c) => c.header);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: readonly string[], painted: readonly string[] = cells) =>
      `  ${cells
        .map((c, i) =>
          i === cells.length - 1 ? painted[i] : `${painted[i]}${' '.repeat((widths[i] ?? 0) - c.length)}`,
        )
        .join('  ')}`;
    out.push(paint('dim', line(header)));
    findings.forEach((f, i) => {
      const cells = rows[i] ?? [];
      out.push(
        line(
          cells,
          cells.map((c, j) => {
            const tone = columns[j]?.tone?.(f);
            return tone ? paint(tone, c) : c;
          }),
        ),
      );
      if (f.caveat) out.push(`    ${paint('dim', `note: ${f.caveat}`)}`);
    });
    out.push('');
  }
  if (report.findings.length === 0) {
    out.push(
      report.reachability.routable
        ? paint('green', 'No findings: every audited backend that was probed accepts connections.')
        : 'No findings that do not need a probe.',
      '',
    );
  }
  const notes = notices(report);
  if (notes.length > 0) {
    out.push(paint('bold', 'Not checked'));
    for (const n of notes) out.push(`  - ${n}`);
    out.push('');
  }
  out.push(paint('bold', 'Summary'));
  out.push(`  Scope     ${scopeLine(report)}`);
  out.push(`  Targets   ${targetsLine(report)}`);
  out.push(`  Hops      ${hopsLine(report)}`);
  out.push(`  Findings  ${findingsLine(report)}`);
  if (report.findings.length > 0)
    out.push(`  Next      ${program} explain REASON prints the troubleshooting guide`);
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------

/** Table cells: a pipe would end the cell, a newline the row. */
function cell(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replaceAll('\n', ' ');
}

export function renderMarkdown(report: AuditReport): string {
  const out: string[] = ['## sockeye audit', ''];
  out.push(
    `**${findingsLine(report)}** in ${scopeLine(report)}; ${targetsLine(report)}; hops: ${hopsLine(report)}.`,
    '',
  );
  const notes = notices(report);
  if (notes.length > 0) {
    out.push('> [!WARNING]', '> Not checked:');
    for (const n of notes) out.push(`> - ${n}`);
    out.push('');
  }
  for (const [ns, findings] of groups(report)) {
    out.push(`### Namespace \`${ns}\``, '');
    out.push('| Severity | Object | Port | Reason | Cause |', '| --- | --- | --- | --- | --- |');
    for (const f of findings) {
      const cause = f.caveat ? `${f.message} _(${f.caveat})_` : f.message;
      out.push(
        `| ${f.severity} | \`${objectLabel(f)}\` | ${f.port ? `\`${portText(f)}\`` : '-'} | \`${f.reason}\` | ${cell(cause)} |`,
      );
    }
    out.push('');
  }
  if (report.findings.length > 0) {
    const reasons = REASON_NAMES.filter((r) => report.summary.findings.byReason[r]);
    out.push('| Reason | Findings | Guide |', '| --- | --- | --- |');
    for (const r of reasons) {
      out.push(`| \`${r}\` | ${report.summary.findings.byReason[r]} | \`sockeye explain ${r}\` |`);
    }
    out.push('');
  }
  return `${out.join('\n')}`;
}

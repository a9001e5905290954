/**
 * Renderers for CI systems. JUnit (`-o junit`): one testsuite per namespace, one testcase per audited
 * Service and Pod (a failure per Warning, skipped when the object is not probed), and a `sockeye`
 * suite for what the audit could not check. SARIF 2.1.0 (`-o sarif`): one rule per reason, one result
 * per finding, located logically (namespace/Kind/name), since findings are about cluster objects, and
 * physically (the manifest that defines the object, or a stable path per object), since code scanning
 * rejects a result without an artifact location.
 */

import { byText } from '../model/order.ts';
import { REASON_NAMES, REASONS, type Reason } from '../rules/catalog.ts';
import { type ManifestIndex, type SourceLocation, syntheticLocation } from './manifests.ts';
import { objectLabel, portText } from './render.ts';
import { type AuditReport, HOP_NAMES, hopNotices, type ReportFinding, type ReportObject } from './report.ts';

/** XML 1.0 forbids most control characters, even escaped: drop them. */
function allowedInXml(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return c >= 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function xml(text: string): string {
  return [...text]
    .filter(allowedInXml)
    .join('')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

interface Case {
  readonly classname: string;
  readonly name: string;
  readonly failures: readonly ReportFinding[];
  readonly skipped?: string | undefined;
  readonly error?: string | undefined;
}

function caseXml(c: Case): string {
  const open = `    <testcase classname="${xml(c.classname)}" name="${xml(c.name)}" time="0"`;
  const body = [
    ...c.failures.map(
      (f) =>
        `      <failure type="${xml(f.reason)}" message="${xml(`${f.reason} ${portText(f)}: ${f.message}`)}">${xml(
          [f.message, f.caveat ? `note: ${f.caveat}` : '', f.hint].filter((s) => s !== '').join('\n'),
        )}</failure>`,
    ),
    ...(c.error !== undefined ? [`      <error type="NotRoutable" message="${xml(c.error)}"/>`] : []),
    ...(c.skipped !== undefined && c.failures.length === 0
      ? [`      <skipped message="${xml(c.skipped)}"/>`]
      : []),
  ];
  return body.length === 0 ? `${open}/>` : [`${open}>`, ...body, '    </testcase>'].join('\n');
}

function suiteXml(name: string, cases: readonly Case[]): string {
  const failures = cases.filter((c) => c.failures.length > 0).length;
  const errors = cases.filter((c) => c.error !== undefined).length;
  const skipped = cases.filter((c) => c.failures.length === 0 && c.skipped !== undefined).length;
  return [
    `  <testsuite name="${xml(name)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="0">`,
    ...cases.map(caseXml),
    '  </testsuite>',
  ].join('\n');
}

const keyOf = (o: { readonly kind: string; readonly namespace: string; readonly name: string }) =>
  `${o.kind}/${o.namespace}/${o.name}`;

export function renderJUnit(report: AuditReport): string {
  const byObject = Map.groupBy(
    report.findings.filter((f) => f.severity === 'Warning'),
    (f) => keyOf(f.object),
  );
  // Every judged object, plus objects only findings name (a Namespace's InvalidConfiguration).
  const objects: ReportObject[] = [...report.objects];
  const known = new Set(objects.map(keyOf));
  for (const f of report.findings) {
    if (!known.has(keyOf(f.object))) {
      known.add(keyOf(f.object));
      objects.push({ ...f.object, status: '', summary: '' });
    }
  }
  const suites = Map.groupBy(objects, (o) => (o.kind === 'Namespace' ? o.name : o.namespace));
  const parts = [...suites.entries()]
    .sort(([a], [b]) => byText(a, b))
    .map(([ns, list]) =>
      suiteXml(
        ns,
        list.map((o) => ({
          classname: `${ns}.${o.kind}`,
          name: o.name,
          failures: byObject.get(keyOf(o)) ?? [],
          skipped: o.status === 'Unknown' ? o.summary || 'not probed' : undefined,
        })),
      ),
    );
  const meta: Case[] = [
    {
      classname: 'sockeye',
      name: 'pod IPs are routable from the auditing machine',
      failures: [],
      error: report.reachability.message,
    },
    ...report.access.map((a) => ({
      classname: 'sockeye.access',
      name: `${a.resource}${a.namespaces.length ? ` in ${a.namespaces.join(', ')}` : ''}`,
      failures: [],
      skipped: a.message,
    })),

    // One case per hop kind the audit had something of: passed when all were judged, skipped otherwise.
    ...report.hops
      .filter((h) => h.planned > 0 || h.why !== undefined)
      .map((h) => ({
        classname: 'sockeye.hops',
        name: `${HOP_NAMES[h.hop].name} hops`,
        failures: [],
        skipped: h.message,
      })),
  ];
  const tests = objects.length + meta.length;
  const failures = [...byObject.keys()].filter((k) => known.has(k)).length;
  const errors = report.reachability.routable ? 0 : 1;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="sockeye audit" tests="${tests}" failures="${failures}" errors="${errors}" time="0">`,
    suiteXml('sockeye', meta),
    ...parts,
    '</testsuites>',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

function level(reason: Reason): 'warning' | 'note' {
  return REASONS[reason].severity === 'Warning' ? 'warning' : 'note';
}

/** A relative path as a URI reference: each segment percent-encoded (a space or `#` would break it). */
function uriOf(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

function physicalLocation(at: SourceLocation) {
  // GitHub code scanning needs region.startLine as well as the artifact's uri.
  return { artifactLocation: { uri: uriOf(at.file) }, region: { startLine: at.line } };
}

/** `manifests` finds the file that defines an object (`--manifests DIR`); others get a stable path. */
export function renderSarif(
  report: AuditReport,
  version: string,
  manifests: ManifestIndex = () => undefined,
): string {
  const rules = REASON_NAMES.map((r) => ({
    id: r,
    name: r,
    shortDescription: { text: REASONS[r].summary },
    help: { text: `${REASONS[r].hint}; run: sockeye explain ${r}` },
    defaultConfiguration: { level: level(r) },
    properties: { on: REASONS[r].on },
  }));
  const results = report.findings.map((f) => {
    const fqn = `${f.object.namespace ? `${f.object.namespace}/` : ''}${objectLabel(f)}`;
    return {
      ruleId: f.reason,
      ruleIndex: REASON_NAMES.indexOf(f.reason),
      level: level(f.reason),
      message: {
        text: [f.message, f.caveat ? `(${f.caveat})` : '', `— ${f.hint}`].filter((s) => s).join(' '),
      },
      locations: [
        {
          physicalLocation: physicalLocation(manifests(f.object) ?? syntheticLocation(f.object)),
          logicalLocations: [
            {
              name: f.object.name,
              fullyQualifiedName: fqn,
              kind: f.object.kind === 'Namespace' ? 'namespace' : 'resource',
            },
          ],
          ...(f.port ? { message: { text: `port ${portText(f)}` } } : {}),
        },
      ],
      // Stable across runs, so code-scanning UIs track one finding over time.
      partialFingerprints: { 'sockeyeFinding/v1': `${fqn}|${f.port?.number ?? ''}|${f.reason}` },
      properties: { evidence: f.evidence },
    };
  });
  const notifications = [
    ...(report.reachability.message
      ? [{ level: 'error', message: { text: report.reachability.message } }]
      : []),
    ...report.access.map((a) => ({ level: 'warning', message: { text: a.message } })),
    ...hopNotices(report).map((text) => ({ level: 'note', message: { text } })),
  ];
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'sockeye', version, semanticVersion: version, rules } },
        invocations: [
          {
            executionSuccessful: report.reachability.routable,
            exitCode: report.exitCode,
            toolExecutionNotifications: notifications,
          },
        ],
        results,
        properties: { schemaVersion: report.schemaVersion, summary: report.summary },
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

/**
 * `npm run dashboard`: sockeye's Grafana dashboard, built with Grafana's typed Foundation SDK and
 * written to charts/sockeye/dashboards/sockeye.json (the chart ships it as a ConfigMap for Grafana's
 * dashboard sidecar: templates/dashboard.yaml). `--check` only compares, and exits 1 when the
 * committed file is stale (test/structure/dashboard.test.ts does the same in `npm test`).
 *
 * Every query reads only the operator's own `sockeye_*` metrics (src/operator/metrics.ts);
 * test/operator/dashboard-metrics.test.ts scrapes a live operator and checks each name. The leader
 * panel is per shard (`sockeye_leader{shard}`; one shard, "0", unless `sharding.shards` is set).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  BigValueColorMode,
  BigValueGraphMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TableSortByFieldStateBuilder,
  TooltipDisplayMode,
  VisibilityMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  type DataSourceRef,
  DatasourceVariableBuilder,
  FieldColorBuilder,
  FieldColorModeId,
  MappingType,
  type Panel,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

export const dashboardFile = fileURLToPath(
  new URL('../charts/sockeye/dashboards/sockeye.json', import.meta.url),
);

// Grafana's own variable syntax: the data source picked in the dashboard's `datasource` variable.
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, not a template literal
const datasource: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
/** The Services of the namespaces picked in the dashboard's `namespace` variable. */
const inNamespaces = '{namespace=~"$namespace"}';

/**
 * A Service port's series, read from whichever replica exports them (only the leader probes; a
 * follower that led before may still hold old ones), summed over the Service's ports.
 */
const perService = (metric: string) =>
  `sum by (namespace, service) (max by (namespace, service, port) (${metric}${inNamespaces}))`;
const targets = perService('sockeye_service_targets');
const open = perService('sockeye_service_open_targets');

/**
 * The `result` values of sockeye_api_writes_total that are not failures; the same list as the
 * chart's `sockeye.metric.apiWriteNotFailed` (templates/_config.tpl), which the chart test compares.
 */
export const WRITE_RESULTS_NOT_FAILED = 'ok|created|patched|exists|retry|spam-filtered|fenced';

/** The Service statuses the dashboard tells apart from the metrics, and the query counting each. */
const SERVICE_STATUSES = [
  { status: 'Healthy', color: 'green', expr: `count((${targets}) > 0 and (${open}) == (${targets}))` },
  { status: 'Degraded', color: 'orange', expr: `count((${open}) > 0 and (${open}) < (${targets}))` },
  { status: 'NoHealthyTargets', color: 'red', expr: `count((${targets}) > 0 and (${open}) == 0)` },
  { status: 'No backends probed', color: 'purple', expr: `count((${targets}) == 0)` },
] as const;

/** A row title, or a panel placed after it (left to right, then down). */
type Item = RowBuilder | cog.Builder<Panel>;

function query(refId: string, expr: string, legend = ''): DataqueryBuilder {
  const q = new DataqueryBuilder().refId(refId).expr(expr).datasource(datasource);
  return legend ? q.legendFormat(legend) : q;
}

/** An instant query read as a table (one row per series). */
const tableQuery = (refId: string, expr: string) =>
  query(refId, expr).instant().format(PromQueryFormat.Table);

const legend = (mode: LegendDisplayMode, calcs: string[] = []) =>
  new VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(mode)
    .placement(LegendPlacement.Bottom)
    .calcs(calcs);
const tooltip = () =>
  new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending);

function timeseries(title: string, description: string, unit: string): TimeseriesPanel {
  return new TimeseriesPanel()
    .title(title)
    .description(description)
    .datasource(datasource)
    .unit(unit)
    .min(0)
    .fillOpacity(10)
    .lineWidth(1)
    .showPoints(VisibilityMode.Never)
    .legend(legend(LegendDisplayMode.Table, ['lastNotNull', 'max']))
    .tooltip(tooltip())
    .height(8)
    .span(12);
}

const stacked = (panel: TimeseriesPanel) =>
  panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal)).fillOpacity(60);

function statusStat(s: (typeof SERVICE_STATUSES)[number]): StatPanel {
  return new StatPanel()
    .title(`${s.status} now`)
    .datasource(datasource)
    .withTarget(query('A', `${s.expr} or vector(0)`).instant())
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .colorMode(BigValueColorMode.Value)
    .graphMode(BigValueGraphMode.None)
    .thresholds(
      new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(
        s.status === 'Healthy'
          ? [{ value: null, color: s.color }]
          : [
              { value: null, color: 'green' },
              { value: 1, color: s.color },
            ],
      ),
    )
    .height(4)
    .span(6);
}

const servicesRow = (): Item[] => [
  new RowBuilder('Services'),
  ...SERVICE_STATUSES.map(statusStat),
  stacked(
    timeseries(
      'Services by status',
      'Each Service judged by its backends that accepted a connection: all (Healthy), some (Degraded), ' +
        'none (NoHealthyTargets); "No backends probed" has none to probe (see sockeye_findings for why). ' +
        'The sockeye.dev/status annotation on each Service says the same, with the reason.',
      'short',
    ),
  )
    .span(24)
    .targets(SERVICE_STATUSES.map((s, i) => query('ABCD'.charAt(i), `${s.expr} or vector(0)`, s.status)))
    .overrides(
      SERVICE_STATUSES.map((s) => ({
        matcher: { id: 'byName', options: s.status },
        properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: s.color } }],
      })),
    ),
  new TablePanel()
    .title('The worst Services now')
    .description(
      'Services with backends that do not accept connections, fewest open first. ' +
        '`kubectl describe service NAME -n NAMESPACE` shows the findings and the Events.',
    )
    .datasource(datasource)
    .withTarget(tableQuery('open_fraction', `bottomk(25, (${open}) / (${targets}) < 1)`))
    .withTarget(tableQuery('open', `(${open}) < (${targets})`))
    .withTarget(tableQuery('targets', `(${targets}) > (${open})`))
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true },
        indexByName: {
          namespace: 0,
          service: 1,
          'Value #open_fraction': 2,
          'Value #open': 3,
          'Value #targets': 4,
        },
        renameByName: {
          'Value #open_fraction': 'Open',
          'Value #open': 'Open backends',
          'Value #targets': 'Backends',
        },
      },
    })
    .sortBy([new TableSortByFieldStateBuilder().displayName('Open').desc(false)])
    .noValue('Every backend of every Service accepts connections')
    .overrides([
      {
        matcher: { id: 'byName', options: 'Open' },
        properties: [
          { id: 'unit', value: 'percentunit' },
          { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
          {
            id: 'thresholds',
            value: {
              mode: 'absolute',
              steps: [
                { value: null, color: 'red' },
                { value: 0.0001, color: 'orange' },
              ],
            },
          },
        ],
      },
    ])
    .height(10)
    .span(24),
];

const probesRow = (): Item[] => [
  new RowBuilder('Probes'),
  stacked(
    timeseries(
      'Probe outcomes',
      'TCP connects per second by outcome: open (accepted), refused, timeout, unreachable and the rest.',
      'ops',
    ),
  ).withTarget(
    query('A', 'sum by (outcome) (rate(sockeye_probes_total[$__rate_interval])) > 0', '{{outcome}}'),
  ),
  timeseries(
    'Probe latency by outcome',
    'Time from connect() to its answer (for a timeout: the deadline): p50 and p99 from the histogram, and the mean.',
    's',
  )
    .withTarget(
      query(
        'p99',
        'histogram_quantile(0.99, sum by (outcome, le) (rate(sockeye_probe_duration_seconds_bucket[$__rate_interval])))',
        'p99 {{outcome}}',
      ),
    )
    .withTarget(
      query(
        'p50',
        'histogram_quantile(0.5, sum by (outcome, le) (rate(sockeye_probe_duration_seconds_bucket[$__rate_interval])))',
        'p50 {{outcome}}',
      ),
    )
    .withTarget(
      query(
        'mean',
        'sum by (outcome) (rate(sockeye_probe_duration_seconds_sum[$__rate_interval]))' +
          ' / sum by (outcome) (rate(sockeye_probe_duration_seconds_count[$__rate_interval]) > 0)',
        'mean {{outcome}}',
      ),
    ),
];

const findingsRow = (): Item[] => [
  new RowBuilder('Findings'),
  stacked(
    timeseries(
      'Findings by reason',
      'Current findings by reason (`sockeye explain REASON` says what each means and what to do).',
      'short',
    ),
  )
    .span(24)
    .withTarget(query('A', 'max by (reason) (sockeye_findings) > 0', '{{reason}}')),
];

const operatorRow = (): Item[] => [
  new RowBuilder('Operator'),
  stacked(
    timeseries(
      'API writes by kind and result',
      'Event and annotation patch attempts per second by result. Zero while nothing changes.',
      'ops',
    ),
  ).withTarget(
    query(
      'A',
      'sum by (kind, result) (rate(sockeye_api_writes_total[$__rate_interval])) > 0',
      '{{kind}} {{result}}',
    ),
  ),
  timeseries(
    'API write failures',
    'Writes that failed (not ok, created, patched, exists, a retry, spam-filtered or fenced); ' +
      'forbidden usually means the RBAC lacks a grant (the chart derives it from operator.events and operator.annotations).',
    'ops',
  )
    .withTarget(
      query(
        'A',
        `sum by (kind, result) (rate(sockeye_api_writes_total{result!~"${WRITE_RESULTS_NOT_FAILED}"}[$__rate_interval]))`,
        '{{kind}} {{result}}',
      ),
    )
    .colorScheme(new FieldColorBuilder().mode(FieldColorModeId.Fixed).fixedColor('red')),
  timeseries(
    'Work queue',
    'Keys waiting for a reconcile, annotation writes decided but not yet sent, and re-queues after a failed reconcile.',
    'short',
  )
    .withTarget(query('A', 'max(sockeye_workqueue_depth)', 'queue depth'))
    .withTarget(query('B', 'max(sockeye_annotation_writes_pending)', 'annotation writes pending'))
    .withTarget(query('C', 'sum(increase(sockeye_workqueue_retries_total[$__rate_interval]))', 'retries')),
  new StateTimelinePanel()
    .title('Leader and shard')
    .description(
      "Which replica holds its shard's leader Lease (only a shard's leader probes and writes; the " +
        "shard's other replicas stand by). Without sharding there is one shard, 0.",
    )
    .datasource(datasource)
    .withTarget(
      query('A', 'max by (shard, pod, instance) (sockeye_leader)', 'shard {{shard}}: {{pod}} {{instance}}'),
    )
    .mappings([
      {
        type: MappingType.ValueToText,
        options: {
          '0': { text: 'standby', color: 'blue', index: 1 },
          '1': { text: 'leader', color: 'green', index: 0 },
        },
      },
    ])
    .showValue(VisibilityMode.Never)
    .height(8)
    .span(12),
  timeseries(
    'Informer restarts',
    'List/watch restarts after an error or a silent watch, by informer.',
    'short',
  ).withTarget(
    query(
      'A',
      'sum by (informer) (increase(sockeye_informer_restarts_total[$__rate_interval]))',
      '{{informer}}',
    ),
  ),
  timeseries(
    'Tracked objects',
    'Entries of each per-object map the operator keeps; under churn each returns to at most the live objects.',
    'short',
  ).withTarget(query('A', 'max by (map) (sockeye_tracked_objects)', '{{map}}')),
];

/** The dashboard, built. */
export function sockeyeDashboard(): object {
  const builder = new DashboardBuilder('sockeye')
    .uid('sockeye')
    .description(
      'Which Kubernetes Services have backends that refuse connections, why, and how the sockeye operator is doing.',
    )
    .tags(['sockeye', 'kubernetes'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('namespace')
        .label('Namespace')
        .datasource(datasource)
        .query('label_values(sockeye_service_targets, namespace)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    );
  for (const item of [...servicesRow(), ...probesRow(), ...findingsRow(), ...operatorRow()]) {
    if (item instanceof RowBuilder) builder.withRow(item);
    else builder.withPanel(item);
  }
  return builder.build();
}

/** The file `npm run dashboard` writes: the dashboard as indented JSON, one trailing newline. */
export const renderDashboard = (): string => `${JSON.stringify(sockeyeDashboard(), null, 2)}\n`;

/** Every PromQL expression of the dashboard, panels' and variables', with where it comes from. */
export function dashboardQueries(dashboard: unknown): { readonly where: string; readonly expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const d = dashboard as {
    panels?: { title?: string; targets?: { refId?: string; expr?: string }[]; panels?: unknown[] }[];
    templating?: { list?: { name?: string; query?: unknown }[] };
  };
  const panels = (d.panels ?? []).flatMap((p) => [p, ...((p.panels ?? []) as typeof d.panels & object)]);
  for (const panel of panels) {
    for (const t of panel.targets ?? []) {
      if (t.expr !== undefined) out.push({ where: `${panel.title} (${t.refId})`, expr: t.expr });
    }
  }
  for (const v of d.templating?.list ?? []) {
    if (typeof v.query === 'string' && v.query.includes('('))
      out.push({ where: `$${v.name}`, expr: v.query });
  }
  return out;
}

/**
 * The metric names an expression reads: each `sockeye_…` identifier outside quoted label values; a
 * histogram's `_bucket`, `_sum` and `_count` series named as they are scraped.
 */
export function metricNames(expr: string): string[] {
  // A label value ("sockeye_x" in a selector) names no metric.
  const outsideStrings = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  return [...new Set(outsideStrings.match(/\bsockeye_[a-z_]+/g) ?? [])].sort();
}

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/**
 * The metric names a Prometheus text scrape exports: every sample's name, and the families it declares (`# TYPE`)
 * with their series' names (a histogram X: X_bucket, X_sum, X_count). A labelled counter shows its
 * family before its first sample (sockeye_informer_restarts_total before any restart).
 */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] && type[2]) {
      if (type[2] === 'histogram') for (const s of HISTOGRAM_SUFFIXES) names.add(`${type[1]}${s}`);
      else names.add(type[1]);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample?.[1]) names.add(sample[1]);
  }
  return names;
}

async function main(args: readonly string[]): Promise<void> {
  const now = renderDashboard();
  if (args.includes('--check')) {
    const committed = await readFile(dashboardFile, 'utf8').catch(() => '');
    if (committed !== now) {
      console.error(`${dashboardFile} is stale: run \`npm run dashboard\``);
      process.exitCode = 1;
    }
    return;
  }
  await writeFile(dashboardFile, now);
  console.log(`wrote ${dashboardFile}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));

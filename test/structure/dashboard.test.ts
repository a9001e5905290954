import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  dashboardFile,
  dashboardQueries,
  exportedNames,
  metricNames,
  renderDashboard,
  sockeyeDashboard,
  WRITE_RESULTS_NOT_FAILED,
} from '../../scripts/dashboard.ts';

const configTpl = new URL('../../charts/sockeye/templates/_config.tpl', import.meta.url);

describe('the Grafana dashboard (scripts/dashboard.ts)', () => {
  it('is committed as generated (run `npm run dashboard` when this fails)', async () => {
    const committed = await readFile(dashboardFile, 'utf8').catch(() => '(missing)');
    expect(committed === renderDashboard(), `${dashboardFile} is stale: run \`npm run dashboard\``).toBe(
      true,
    );
  });

  it.each([
    ['a plain name', 'max(sockeye_workqueue_depth)', ['sockeye_workqueue_depth']],
    [
      "a histogram's series",
      'sum(rate(sockeye_probe_duration_seconds_bucket[$__rate_interval])) / sum(rate(sockeye_probe_duration_seconds_count[5m]))',
      ['sockeye_probe_duration_seconds_bucket', 'sockeye_probe_duration_seconds_count'],
    ],
    [
      'a name with a selector, twice',
      'a{x="sockeye_no"} or sockeye_leader{pod="p"} + sockeye_leader',
      ['sockeye_leader'],
    ],
    ['no sockeye name', 'vector(0) or up', []],
  ])('reads the metric names of %s', (_what, expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });

  it('gives every panel a query, and every query a sockeye metric', () => {
    const d = sockeyeDashboard() as { panels: { type: string; title: string; targets?: unknown[] }[] };
    const empty = d.panels
      .filter((p) => p.type !== 'row' && (p.targets ?? []).length === 0)
      .map((p) => p.title);
    expect(empty).toEqual([]);
    const queries = dashboardQueries(d);
    expect(queries.length).toBeGreaterThan(10);
    expect(queries.filter((q) => metricNames(q.expr).length === 0)).toEqual([]);
  });

  it("counts as failed writes what the chart's alert does (sockeye.metric.apiWriteNotFailed)", async () => {
    const tpl = await readFile(configTpl, 'utf8');
    const chart = /define "sockeye\.metric\.apiWriteNotFailed" -}}([^{]+){{/.exec(tpl)?.[1];
    expect(chart).toBe(WRITE_RESULTS_NOT_FAILED);
  });

  it("is listed panel by panel in the README's install section", async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.split('### A Grafana dashboard')[1]?.split('\n## ')[0]?.split('\n### ')[0] ?? '';
    const words = section.replace(/\s+/g, ' ');
    const d = sockeyeDashboard() as { panels: { title: string }[] };
    const missing = d.panels.map((p) => p.title).filter((t) => !words.includes(t));
    expect(missing).toEqual([]);
  });

  it('reads the names a scrape exports: samples, declared families, histogram series', () => {
    const text = [
      '# HELP sockeye_leader 1 while this replica holds the leader Lease',
      '# TYPE sockeye_leader gauge',
      'sockeye_leader 0',
      '# TYPE sockeye_informer_restarts_total counter',
      '# TYPE sockeye_probe_duration_seconds histogram',
      'sockeye_probe_duration_seconds_bucket{le="0.5",outcome="open"} 1',
      'process_cpu_seconds_total 0.1',
    ].join('\n');
    expect([...exportedNames(text)].sort()).toEqual([
      'process_cpu_seconds_total',
      'sockeye_informer_restarts_total',
      'sockeye_leader',
      'sockeye_probe_duration_seconds_bucket',
      'sockeye_probe_duration_seconds_count',
      'sockeye_probe_duration_seconds_sum',
    ]);
  });
});

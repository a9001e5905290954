import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dashboardFile, dashboardQueries, exportedNames, metricNames } from '../../scripts/dashboard.ts';
import { eventually } from '../support/kube.ts';
import {
  annotationsWhen,
  type OperatorProcess,
  scenarioNamespace,
  servicesWithPods,
  spawnOperator,
  stopOperatorProcess,
} from './support.ts';

/**
 * Every query of the committed Grafana dashboard names only metrics the operator exports: a real
 * `sockeye operator` process watches a Service that answers and one that refuses, and each metric
 * name of each query must be in its /metrics.
 */
describe('the Grafana dashboard against a live operator', () => {
  const s = scenarioNamespace(
    'dash-metrics',
    `${servicesWithPods(['good'])}---${servicesWithPods(['bad'], true)}`,
    2,
  );
  let op: OperatorProcess | undefined;
  let text = '';

  beforeAll(async () => {
    op = await spawnOperator(
      [
        `--namespace=${s.ns}`,
        '--no-leader-elect',
        '--no-metrics-secure',
        '--interval=1s',
        '--timeout=500ms',
        '--pod-name=sockeye-dashboard-test',
        '--pod-namespace=sockeye-system',
      ],
      { KUBECONFIG: inject('kubeconfig') },
    );
    // Judged and written: both Services annotated, so probes, findings and writes have series.
    await annotationsWhen(s.kube, 'Service', s.ns, 'good', 'Healthy');
    await annotationsWhen(s.kube, 'Service', s.ns, 'bad', 'NoHealthyTargets');
    const port = op.port;
    text = await eventually('a scrape with probe latencies and API writes', async () => {
      const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return t.includes('sockeye_probe_duration_seconds_bucket{') && t.includes('sockeye_api_writes_total{')
        ? t
        : undefined;
    });
  });
  afterAll(async () => {
    await stopOperatorProcess(op);
  });

  it('reads the scrape as the Prometheus text it is', () => {
    const names = exportedNames(text);
    expect(names.has('sockeye_service_targets')).toBe(true);
    expect(names.has('sockeye_probe_duration_seconds_bucket')).toBe(true);
    // A family's own name is no series of a histogram.
    expect(names.has('sockeye_probe_duration_seconds')).toBe(false);
    expect(names.has('sockeye_no_such_metric')).toBe(false);
  });

  it('names only metrics the operator exports, in every query', async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as unknown;
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThan(10);
    const exported = exportedNames(text);
    const unknown = queries.flatMap((q) =>
      metricNames(q.expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${q.where}: ${name}`),
    );
    expect(unknown).toEqual([]);
    // Every metric the dashboard reads: the check above ran over all of them.
    expect(new Set(queries.flatMap((q) => metricNames(q.expr))).size).toBeGreaterThanOrEqual(10);
  });
});

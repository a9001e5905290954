import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { dashboardFile } from '../../scripts/dashboard.ts';
import { type K8sObject, parseObjects, renderChart, tryTemplate } from './helm.ts';

const NAMESPACE = 'sockeye-system';
const render = async (set: readonly string[] = []): Promise<K8sObject[]> =>
  parseObjects(await renderChart({ namespace: NAMESPACE, set }));
const dashboards = (objects: readonly K8sObject[]) =>
  objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboard'));

describe('charts/sockeye dashboard ConfigMap', () => {
  it('is not rendered by default', async () => {
    const objects = await render();
    expect(objects.length).toBeGreaterThan(0);
    expect(dashboards(objects)).toEqual([]);
  });

  it("carries the dashboard file as is, with Grafana's sidecar label, when enabled", async () => {
    const [cm, ...more] = dashboards(await render(['dashboard.enabled=true']));
    expect(more).toEqual([]);
    expect(cm?.metadata.namespace).toBe(NAMESPACE);
    expect(cm?.metadata.labels?.grafana_dashboard).toBe('1');
    const data = (cm as unknown as { data: Record<string, string> }).data;
    expect(Object.keys(data)).toEqual(['sockeye.json']);
    expect(data['sockeye.json'] === (await readFile(dashboardFile, 'utf8'))).toBe(true);
  });

  it('takes its label, namespace and annotations from the values', async () => {
    const [cm] = dashboards(
      await render([
        'dashboard.enabled=true',
        'dashboard.label=grafana.example.com/dashboard',
        'dashboard.labelValue=sockeye',
        'dashboard.namespace=monitoring',
        'dashboard.annotations.grafana_folder=Kubernetes',
      ]),
    );
    expect(cm?.metadata.namespace).toBe('monitoring');
    expect(cm?.metadata.labels?.['grafana.example.com/dashboard']).toBe('sockeye');
    expect(cm?.metadata.labels?.grafana_dashboard).toBeUndefined();
    expect((cm?.metadata as { annotations?: unknown } | undefined)?.annotations).toEqual({
      grafana_folder: 'Kubernetes',
    });
  });

  it.each([
    ['a misspelt key', 'dashboard.enabledd=true', /enabledd/],
    ['a label key that is no label key', 'dashboard.label=grafana dashboard', /label/],
    ['a namespace that is no namespace name', 'dashboard.namespace=Monitoring', /namespace/],
  ])('rejects %s', async (_what, set, message) => {
    const result = await tryTemplate(['dashboard.enabled=true', set]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});

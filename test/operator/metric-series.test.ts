import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/kube.ts';
import { annotationsWhen, operatorScenario, scrape } from './support.ts';

/**
 * Five Services whose only pod refuses: each port is a NoHealthyTargets series. Each test takes one
 * away from sockeye's judgement (opt-out, selector lost, port renamed, deleted, namespace opt-out) and
 * scrapes /metrics: its series are gone, so the chart's alert over them no longer matches.
 */
const scenario = ['optout', 'noselector', 'renamed', 'deleted', 'kept']
  .map(
    (name) => `
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {selector: {app: ${name}}, ports: [{name: http, port: 80, targetPort: 8080}, {name: admin, port: 9090, targetPort: 9090}]}
---
apiVersion: v1
kind: Pod
metadata: {name: ${name}-1, labels: {app: ${name}}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}, {containerPort: 9090}]}]}
`,
  )
  .join('---');

/**
 * The chart's SockeyeNoHealthyTargets expression, `max by (namespace, service, port) (targets) > 0
 * and max by (…) (open) == 0`, over one scrape: the `service/port` it matches.
 */
async function noHealthyTargets(port: number, namespace: string): Promise<string[]> {
  const key = (l: Record<string, string>) => `${l.service}/${l.port}`;
  const mine = (s: { labels: Record<string, string> }) => s.labels.namespace === namespace;
  const targets = (await scrape(port, 'sockeye_service_targets')).filter(mine);
  const open = new Map(
    (await scrape(port, 'sockeye_service_open_targets')).filter(mine).map((s) => [key(s.labels), s.value]),
  );
  return targets
    .filter((t) => t.value > 0 && open.get(key(t.labels)) === 0)
    .map((t) => key(t.labels))
    .sort();
}

/** Series of `service` in the scrape, as `metric/port`. */
async function seriesOf(port: number, namespace: string, service: string): Promise<string[]> {
  const all = await Promise.all(
    ['sockeye_service_targets', 'sockeye_service_open_targets'].map(async (metric) =>
      (await scrape(port, metric))
        .filter((s) => s.labels.namespace === namespace && s.labels.service === service)
        .map((s) => `${metric.replace('sockeye_service_', '')}/${s.labels.port}`),
    ),
  );
  return all.flat().sort();
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('sockeye operator: a Service port series goes when sockeye stops judging it', () => {
  const s = operatorScenario('op-series', scenario, 5);
  const firing = () => noHealthyTargets(s.operator.port, s.ns);
  const gone = (service: string) =>
    eventually(`${service}'s series gone`, async () =>
      (await seriesOf(s.operator.port, s.ns, service)).length === 0 ? true : undefined,
    );

  it('every broken port fires first', async () => {
    const all = ['deleted', 'kept', 'noselector', 'optout', 'renamed'].flatMap((n) => [
      `${n}/admin`,
      `${n}/http`,
    ]);
    await eventually('every port NoHealthyTargets', async () =>
      JSON.stringify(await firing()) === JSON.stringify(all) ? true : undefined,
    );
  });

  it('a Service opted out with sockeye.dev/probe: "false"', async () => {
    await s.kube.core.patchNamespacedService(
      {
        name: 'optout',
        namespace: s.ns,
        body: { metadata: { annotations: { 'sockeye.dev/probe': 'false' } } },
      },
      mergePatch,
    );
    await gone('optout');
    expect((await firing()).filter((k) => k.startsWith('optout/'))).toEqual([]);
  });

  it('a Service that loses its selector', async () => {
    await s.kube.core.patchNamespacedService(
      { name: 'noselector', namespace: s.ns, body: { spec: { selector: null } } },
      mergePatch,
    );
    await gone('noselector');
  });

  it('a port renamed: the old name goes, the new one comes', async () => {
    await s.kube.core.patchNamespacedService(
      {
        name: 'renamed',
        namespace: s.ns,
        body: { spec: { ports: [{ name: 'web', port: 80, targetPort: 8080 }] } },
      },
      mergePatch,
    );
    await eventually('renamed/admin and renamed/http replaced by renamed/web', async () => {
      const now = await seriesOf(s.operator.port, s.ns, 'renamed');
      return JSON.stringify(now) === JSON.stringify(['open_targets/web', 'targets/web']) ? true : undefined;
    });
  });

  it('a Service deleted', async () => {
    await s.kube.core.deleteNamespacedService({ name: 'deleted', namespace: s.ns });
    await gone('deleted');
    // The one left untouched still fires.
    expect(await firing()).toEqual(['kept/admin', 'kept/http', 'renamed/web']);
  });

  it('the namespace opted out', async () => {
    await annotationsWhen(s.kube, 'Service', s.ns, 'kept', 'NoHealthyTargets');
    await s.kube.core.patchNamespace(
      { name: s.ns, body: { metadata: { annotations: { 'sockeye.dev/probe': 'false' } } } },
      mergePatch,
    );
    await gone('kept');
    await gone('renamed');
    expect(await firing()).toEqual([]);
  });
});

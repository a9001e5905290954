import { describe, expect, it } from 'vitest';
import { renderManifests } from '../../scripts/render-manifests.ts';
import { type K8sObject, parseObjects, renderChart } from './helm.ts';

/** The `helm test` hook of the chart (templates/tests/test.yaml); the e2e install test runs it. */
const NAMESPACE = 'sockeye-system';
const render = async (set: readonly string[] = []): Promise<K8sObject[]> =>
  parseObjects(await renderChart({ namespace: NAMESPACE, set }));
const hooks = (objects: readonly K8sObject[]): K8sObject[] =>
  objects.filter(
    (o) => (o.metadata as { annotations?: Record<string, string> }).annotations?.['helm.sh/hook'] === 'test',
  );
const annotations = (o: K8sObject | undefined): Record<string, string> =>
  (o?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
}

describe('charts/sockeye helm test hook', () => {
  it('runs one Pod after its ServiceAccount, read-only Role, binding and health Service', async () => {
    const objects = hooks(await render());
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'Pod/sockeye-test',
        'Role/sockeye-test',
        'RoleBinding/sockeye-test',
        'Service/sockeye-test-health',
        'ServiceAccount/sockeye-test',
      ].sort(),
    );
    for (const o of objects) {
      expect(o.metadata.namespace, o.kind).toBe(NAMESPACE);
      const a = annotations(o);
      if (o.kind === 'Pod') {
        expect(a['helm.sh/hook-weight']).toBe('0');
        // The Pod stays after a pass, for `kubectl logs`; the next helm test replaces it.
        expect(a['helm.sh/hook-delete-policy']).toBe('before-hook-creation');
      } else {
        expect(a['helm.sh/hook-weight'], o.kind).toBe('-1');
        expect(a['helm.sh/hook-delete-policy'], o.kind).toBe('before-hook-creation,hook-succeeded');
      }
    }
  });

  it('may only read, in the release namespace, what sockeye audit reads', async () => {
    const objects = hooks(await render());
    const role = objects.find((o) => o.kind === 'Role');
    const rules = role?.rules as {
      apiGroups: string[];
      resources: string[];
      resourceNames?: string[];
      verbs: string[];
    }[];
    // list what audit reads; get only its own Namespace, by name.
    for (const rule of rules)
      expect(
        rule.verbs.every((v) => v === 'list' || (v === 'get' && rule.resources.join() === 'namespaces')),
        JSON.stringify(rule),
      ).toBe(true);
    expect(rules).toContainEqual({
      apiGroups: [''],
      resources: ['namespaces'],
      resourceNames: [NAMESPACE],
      verbs: ['get'],
    });
    expect(rules.flatMap((r) => r.resources)).not.toContain('secrets');
    expect(objects.find((o) => o.kind === 'RoleBinding')?.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'sockeye-test', namespace: NAMESPACE },
    ]);
  });

  it('checks /readyz through a Service on the operator pods health port, and audits its namespace', async () => {
    const all = await render();
    const objects = hooks(all);
    const service = objects.find((o) => o.kind === 'Service')?.spec as {
      selector: Record<string, string>;
      ports: { name: string; targetPort: string }[];
    };
    const deployment = all.find((o) => o.kind === 'Deployment')?.spec as {
      selector: { matchLabels: Record<string, string> };
    };
    expect(service.selector).toEqual(deployment.selector.matchLabels);
    expect(service.ports).toMatchObject([{ name: 'health', targetPort: 'health' }]);
    const pod = objects.find((o) => o.kind === 'Pod')?.spec as {
      restartPolicy: string;
      serviceAccountName: string;
      enableServiceLinks: boolean;
      containers: Container[];
    };
    expect(pod).toMatchObject({
      restartPolicy: 'Never',
      serviceAccountName: 'sockeye-test',
      enableServiceLinks: true,
    });
    const [readyz, audit] = pod.containers;
    expect(readyz?.command?.join(' ')).toMatch(
      /SOCKEYE_TEST_HEALTH_SERVICE_HOST[\s\S]*SOCKEYE_TEST_HEALTH_SERVICE_PORT_HEALTH[\s\S]*\/readyz/,
    );
    expect(audit?.args).toEqual(['audit', `--namespace=${NAMESPACE}`, '--fail-on=never']);
  });

  it('is left out with helmTest.enabled=false and from manifests/sockeye.yaml (kubectl apply would run it)', async () => {
    expect(hooks(await render(['helmTest.enabled=false']))).toEqual([]);
    expect(hooks(parseObjects(await renderManifests()))).toEqual([]);
  });
});

import { Writable } from 'node:stream';
import { type KubeConfig, NetworkingV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOperatorConfig } from '../../src/config/operator.ts';
import { Operator } from '../../src/operator/operator.ts';
import { type K8sObject, parseObjects, renderChart } from '../chart/helm.ts';
import {
  applyYaml,
  asServiceAccount,
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { annotationsWhen, eventFor, metricSum, servicesWithPods } from './support.ts';

/**
 * The operator on the chart's RBAC and nothing else: the chart rendered in namespace-scoped mode
 * with an opt-in mode on (its Role in the watched namespace, its Lease Role, its ClusterRoles for
 * Nodes and ServiceCIDRs), applied to the local cluster, and the operator run as that
 * ServiceAccount. It reads, leads, patches and records without one refusal, so every verb it uses is
 * granted (the chart grants no `get` on what it watches). A second ServiceAccount has the same rules
 * but the ServiceCIDR one: the operator says so in one log line and goes on.
 */
describe("sockeye operator: runs on the chart's RBAC alone", () => {
  let kube: TestKube;
  // A release name with "sockeye" in it: every cluster-scoped name the chart renders is this one's.
  const ns = uniqueNamespace('sockeye-rbac');
  const withCIDRs = 'operator';
  const withoutCIDRs = 'no-cidrs';
  let leaseName = '';
  const clusterScoped: K8sObject[] = [];
  const operators: Operator[] = [];

  /** The operator as `kc`, its log lines kept. */
  async function start(kc: KubeConfig): Promise<{ operator: Operator; log: string[] }> {
    const log: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        log.push(String(chunk));
        done();
      },
    });
    const operator = new Operator({
      kc,
      config: loadOperatorConfig({
        argv: [
          '--interval=1s',
          '--timeout=500ms',
          '--http-host=127.0.0.1',
          '--no-metrics-secure',
          '--http-port=0',
          `--namespace=${ns}`,
          `--pod-namespace=${ns}`,
          '--pod-name=sockeye-rbac-test',
          `--lease-name=${leaseName}`,
          '--no-check-cluster-ip',
          '--no-check-node-ports',
          '--no-check-load-balancers',
          '--probe-selectorless-services',
        ],
        env: {},
        readFile: () => '',
      }),
      logger: pino({ level: 'info' }, sink),
    });
    operators.push(operator);
    await operator.start();
    return { operator, log };
  }

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    const objects = parseObjects(
      await renderChart({
        release: ns,
        namespace: ns,
        set: [`watch.namespaces[0]=${ns}`, 'operator.probeSelectorlessServices=true'],
      }),
    ).filter(
      (o) =>
        o.metadata.labels?.['app.kubernetes.io/component'] === 'operator' &&
        ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind),
    );
    expect(objects.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata.name)).toContain(
      `${ns}-operator-service-cidrs`,
    );
    const lease = objects
      .filter((o) => o.kind === 'Role')
      .flatMap((o) => (o.rules as V1PolicyRule[]) ?? [])
      .find((r) => r.resources?.includes('leases') && r.resourceNames);
    leaseName = lease?.resourceNames?.[0] ?? '';
    expect(leaseName).not.toBe('');
    const sa = objects.find((o) => o.kind === 'ServiceAccount')?.metadata.name;
    expect(sa).toBe(ns);
    await applyYaml(
      kube,
      `
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${withCIDRs}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${withoutCIDRs}}
---
${servicesWithPods(['web'])}
---
${servicesWithPods(['down'], true)}
`,
      ns,
    );
    // The chart's roles and bindings as rendered; each binding names both ServiceAccounts, but the
    // ServiceCIDR one only the first.
    for (const obj of objects) {
      if (obj.kind === 'ServiceAccount') continue;
      const body = { ...obj } as K8sObject & { subjects?: unknown[] };
      if (obj.kind.endsWith('Binding')) {
        const names = obj.metadata.name.endsWith('-service-cidrs') ? [withCIDRs] : [withCIDRs, withoutCIDRs];
        body.subjects = names.map((name) => ({ kind: 'ServiceAccount', name, namespace: ns }));
      }
      const created = await kube.objects.create(body as never);
      if (!obj.metadata.namespace) clusterScoped.push(created as K8sObject);
    }
    // RBAC follows new bindings within moments: wait until they are in effect, so a refusal seen
    // later is the chart's, not the API server catching up.
    const allowed = (what: string, call: () => Promise<unknown>) =>
      eventually(what, () =>
        call().then(
          () => true,
          () => undefined,
        ),
      );
    for (const name of [withCIDRs, withoutCIDRs]) {
      const networking = (await asServiceAccount(kube, ns, name)).makeApiClient(NetworkingV1Api);
      await allowed(`${name} may list NetworkPolicies in ${ns}`, () =>
        networking.listNamespacedNetworkPolicy({ namespace: ns }),
      );
    }
    const networking = (await asServiceAccount(kube, ns, withCIDRs)).makeApiClient(NetworkingV1Api);
    await allowed(`${withCIDRs} may list ServiceCIDRs`, () => networking.listServiceCIDR());
  });

  afterAll(async () => {
    for (const operator of operators) await operator.stop(2000);
    for (const obj of clusterScoped) await kube?.objects.delete(obj as never).catch(() => undefined);
    if (kube) await deleteNamespace(kube, ns);
  });

  it('leads, judges, patches and records with no refusal, and reads the ServiceCIDRs', async () => {
    const { operator, log } = await start(await asServiceAccount(kube, ns, withCIDRs));
    await annotationsWhen(kube, 'Service', ns, 'web', 'Healthy');
    await eventFor(kube, ns, 'Service', 'down', 'NoHealthyTargets');
    expect(operator.leading).toBe(true);
    expect(operator.cache.count('ServiceCIDR')).toBeGreaterThan(0);
    expect(operator.writes.patchErrors).toBe(0);
    expect(await metricSum(operator.port, 'sockeye_informer_restarts_total')).toBe(0);
    // \b keeps a pino timestamp such as 1796186710403 from counting as an HTTP 403.
    const refused = log.filter((l) => /forbidden|\b403\b/i.test(l));
    expect(refused).toEqual([]);
    await operator.stop(2000);
  });

  it('without the ServiceCIDR grant, says so in one line and goes on', async () => {
    const { operator, log } = await start(await asServiceAccount(kube, ns, withoutCIDRs));
    await eventually('the operator leading', async () => (operator.leading ? true : undefined));
    expect(operator.ready).toBe(true);
    expect(operator.cache.count('ServiceCIDR')).toBe(0);
    const said = log.filter((l) => l.includes('cannot list ServiceCIDRs'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('Forbidden');
    expect(await metricSum(operator.port, 'sockeye_informer_restarts_total')).toBe(0);
    await operator.stop(2000);
  });
});

/**
 * Policy reports (`--reports`) on the local cluster, with the OpenReports CRDs of the pinned module
 * (tools/openreports, fetched by the global set-up: cluster/binaries.ts `openreports-crds`):
 *
 * - without the CRDs the operator says so once, and still writes its Events;
 * - a broken Service gets its namespace a Report with its result; a healthy namespace none;
 * - nothing is written while nothing changes (the operator's write counter, and the Report's
 *   resourceVersion);
 * - a recovery takes its result out, and the last one deletes the Report.
 *
 * The CRDs are cluster-wide: this file installs them after its no-CRD case and removes them at the
 * end (the integration files run one at a time).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  RbacAuthorizationV1Api,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { binaryPath } from '../../cluster/binaries.ts';
import { openReportsStore } from '../../src/kube/reports.ts';
import { makeLogger } from '../../src/log.ts';
import type { Operator } from '../../src/operator/operator.ts';
import { type PolicyReport, policyReport } from '../../src/operator/policy-report.ts';
import { finding } from '../../src/rules/finding.ts';
import { ciDir, parseObjects, rbacRules, renderChart } from '../chart/helm.ts';
import {
  applyYaml,
  asServiceAccount,
  createNamespace,
  deleteNamespace,
  eventually,
  patchPodAnnotations,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import {
  annotationsWhen,
  eventFor,
  podIPs,
  REFUSING_WEB,
  scrape,
  servicesWithPods,
  startOperator,
} from './support.ts';

const REPORTS = { group: 'openreports.io', version: 'v1alpha1', plural: 'reports' } as const;

/** A logger whose lines the test reads. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = makeLogger({ write: (line: string) => void lines.push(line) }, 'info');
  return { logger, count: (text: string) => lines.filter((l) => l.includes(text)).length };
}

type ServedReport = PolicyReport & {
  readonly metadata: { readonly resourceVersion?: string; readonly uid?: string };
};

async function readReport(kube: TestKube, namespace: string): Promise<ServedReport | undefined> {
  const api = kube.kc.makeApiClient(CustomObjectsApi);
  try {
    return (await api.getNamespacedCustomObject({ ...REPORTS, namespace, name: 'sockeye' })) as ServedReport;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

/** `KIND/NAME POLICY` of each result, in the Report's order. */
const resultsOf = (report: PolicyReport | undefined) =>
  (report?.results ?? []).map((r) => `${r.resources[0]?.kind}/${r.resources[0]?.name} ${r.policy}`);

/** Waits until the namespace's Report has exactly `want` results (none: until it has no Report). */
function reportWith(
  kube: TestKube,
  namespace: string,
  want: readonly string[],
): Promise<ServedReport | true> {
  return eventually(
    `the Report of ${namespace} with ${want.length ? want.join(', ') : 'no result'}`,
    async () => {
      const report = await readReport(kube, namespace);
      if (want.length === 0) return report ? undefined : true;
      return JSON.stringify(resultsOf(report)) === JSON.stringify(want) ? report : undefined;
    },
  );
}

async function reportsIn(kube: TestKube, namespace: string): Promise<unknown[]> {
  const api = kube.kc.makeApiClient(CustomObjectsApi);
  const list = (await api.listNamespacedCustomObject({ ...REPORTS, namespace })) as { items: unknown[] };
  return list.items;
}

async function reportWrites(operator: Operator): Promise<number> {
  const samples = await scrape(operator.port, 'sockeye_api_writes_total');
  return samples.filter((s) => s.labels.kind === 'report').reduce((sum, s) => sum + s.value, 0);
}

/** The CRDs of the pinned OpenReports module, as the global set-up fetched them. */
async function openReportsCrds(): Promise<V1CustomResourceDefinition[]> {
  const dir = binaryPath('openreports-crds');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  expect(files).toEqual(['openreports.io_clusterreports.yaml', 'openreports.io_reports.yaml']);
  return Promise.all(
    files.map(async (f) => parse(await readFile(join(dir, f), 'utf8')) as V1CustomResourceDefinition),
  );
}

const kube = testKube();

describe('policy reports without the OpenReports CRDs', () => {
  const ns = uniqueNamespace('reports-nocrd');
  const log = capturedLogger();
  let operator: Operator | undefined;

  beforeAll(async () => {
    await createNamespace(kube, ns);
    await applyYaml(kube, REFUSING_WEB, ns);
    await podIPs(kube, ns, 1);
    operator = await startOperator([ns], { argv: ['--reports'], logger: log.logger });
  });
  afterAll(async () => {
    await operator?.stop(2000);
    await deleteNamespace(kube, ns);
  });

  it('says once that the API is not served, and still writes Events', async () => {
    await eventFor(kube, ns, 'Service', 'web', 'NoHealthyTargets');
    // Several resyncs (1 s each) looked for the API again: still one line.
    await new Promise((r) => setTimeout(r, 3000));
    expect(log.count('the OpenReports API (openreports.io/v1alpha1 reports) is not served')).toBe(1);
    expect(operator?.writes.reports).toBe(0);
    expect(operator?.writes.events).toBeGreaterThan(0);
  });
});

describe('policy reports with the OpenReports CRDs', () => {
  const broken = uniqueNamespace('reports-broken');
  const healthy = uniqueNamespace('reports-healthy');
  const extensions = kube.kc.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  let operator: Operator | undefined;

  beforeAll(async () => {
    for (const crd of await openReportsCrds()) {
      await extensions.createCustomResourceDefinition({ body: crd });
      names.push(crd.metadata?.name ?? '');
    }
    await eventually('the Report CRD established', async () => {
      const crd = await extensions.readCustomResourceDefinition({ name: 'reports.openreports.io' });
      return (
        crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') || undefined
      );
    });
    await createNamespace(kube, broken);
    await createNamespace(kube, healthy);
    await applyYaml(kube, servicesWithPods(['web', 'api'], true), broken);
    await applyYaml(kube, servicesWithPods(['shop']), healthy);
    await podIPs(kube, broken, 2);
    await podIPs(kube, healthy, 1);
    operator = await startOperator([broken, healthy], { argv: ['--reports'] });
  });
  afterAll(async () => {
    await operator?.stop(2000);
    await deleteNamespace(kube, broken);
    await deleteNamespace(kube, healthy);
    for (const name of names)
      await extensions.deleteCustomResourceDefinition({ name }).catch(() => undefined);
  });

  // Both Services refuse; their pods are Ready, so each pod has a ReadyButRefusing of its own.
  const BOTH = [
    'Pod/api-1 ReadyButRefusing',
    'Pod/web-1 ReadyButRefusing',
    'Service/api NoHealthyTargets',
    'Service/web NoHealthyTargets',
  ];

  it("gives a broken Service's namespace a Report with its results, and a healthy namespace none", async () => {
    const report = (await reportWith(kube, broken, BOTH)) as ServedReport;
    expect(report.source).toBe('sockeye');
    expect(report.metadata.labels['app.kubernetes.io/managed-by']).toBe('sockeye');
    expect(report.summary).toEqual({ pass: 0, fail: 4, warn: 0, error: 0, skip: 0 });
    const web = report.results.find((r) => r.resources[0]?.name === 'web');
    expect(web).toMatchObject({
      policy: 'NoHealthyTargets',
      result: 'fail',
      severity: 'high',
      resources: [{ apiVersion: 'v1', kind: 'Service', name: 'web', namespace: broken }],
      properties: { portName: 'http', protocol: 'TCP', pods: 'web-1' },
    });
    expect(web?.message).toMatch(/refuse/);
    expect(web?.properties.hint).toMatch(/sockeye explain NoHealthyTargets$/);
    // The healthy Service was judged (its status is written) and its namespace has no Report.
    await annotationsWhen(kube, 'Service', healthy, 'shop', 'Healthy');
    expect(await reportsIn(kube, healthy)).toEqual([]);
  });

  it('writes nothing while nothing changes', async () => {
    await reportWith(kube, broken, BOTH);
    if (!operator) throw new Error('no operator');
    const writes = await reportWrites(operator);
    const version = (await readReport(kube, broken))?.metadata.resourceVersion;
    expect(writes).toBeGreaterThan(0);
    // Five intervals of 1 s: every Service judged again five times, the Reports listed again five times.
    await new Promise((r) => setTimeout(r, 5000));
    expect(await reportWrites(operator)).toBe(writes);
    expect((await readReport(kube, broken))?.metadata.resourceVersion).toBe(version);
    expect(await reportsIn(kube, healthy)).toEqual([]);
  });

  it('takes out the results of a Service that recovered, and deletes the Report after the last', async () => {
    await patchPodAnnotations(kube, broken, 'web-1', { 'sim.sockeye.dev/listen': '8080' });
    const rest = (await reportWith(kube, broken, [
      'Pod/api-1 ReadyButRefusing',
      'Service/api NoHealthyTargets',
    ])) as ServedReport;
    expect(rest.summary.fail).toBe(2);
    await patchPodAnnotations(kube, broken, 'api-1', { 'sim.sockeye.dev/listen': '8080' });
    await reportWith(kube, broken, []);
    await annotationsWhen(kube, 'Service', broken, 'api', 'Healthy');
    expect(await reportsIn(kube, broken)).toEqual([]);
  });

  it('puts back a Report someone deleted while its findings hold', async () => {
    await patchPodAnnotations(kube, broken, 'web-1', { 'sim.sockeye.dev/listen': null });
    const web = ['Pod/web-1 ReadyButRefusing', 'Service/web NoHealthyTargets'];
    const before = (await reportWith(kube, broken, web)) as ServedReport;
    const api = kube.kc.makeApiClient(CustomObjectsApi);
    await api.deleteNamespacedCustomObject({ ...REPORTS, namespace: broken, name: 'sockeye' });
    const after = (await reportWith(kube, broken, web)) as ServedReport;
    expect(after.metadata.uid).not.toBe(before.metadata.uid);
  });

  // The CRDs are the enclosing describe's.
  describe("the chart's RBAC for policy reports", () => {
    const ns = uniqueNamespace('reports-rbac');
    const rbac = kube.kc.makeApiClient(RbacAuthorizationV1Api);
    let asOperator: KubeConfig;

    beforeAll(async () => {
      await createNamespace(kube, ns);
      // The operator's rules on Reports, as the chart renders them with reports.enabled.
      const objects = parseObjects(
        await renderChart({ namespace: 'sockeye', valuesFiles: [`${ciDir}reports-values.yaml`] }),
      );
      const rules = rbacRules(objects)
        .filter(({ role }) => role.metadata.name === 'sockeye-operator')
        .map(({ rule }) => rule)
        .filter((rule) => rule.apiGroups?.includes('openreports.io'));
      expect(rules.length).toBeGreaterThan(0);
      await kube.core.createNamespacedServiceAccount({
        namespace: ns,
        body: { metadata: { name: 'operator' } },
      });
      await rbac.createNamespacedRole({
        namespace: ns,
        body: {
          metadata: { name: 'reports' },
          rules: rules.map((r) => ({
            apiGroups: [...(r.apiGroups ?? [])],
            resources: [...(r.resources ?? [])],
            verbs: [...r.verbs],
            ...(r.resourceNames ? { resourceNames: [...r.resourceNames] } : {}),
          })),
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: 'reports' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reports' },
          subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: ns }],
        },
      });
      asOperator = await asServiceAccount(kube, ns, 'operator');
    });
    afterAll(async () => {
      await deleteNamespace(kube, ns);
    });

    it("lets the writer create, update, list and delete sockeye's Report, and no other", async () => {
      const store = openReportsStore(asOperator);
      expect(await store.served()).toBe(true);
      const web = finding(
        'NoEndpoints',
        { kind: 'Service', namespace: ns, name: 'web', uid: '' },
        'no endpoints',
      );
      const api = { ...web, object: { ...web.object, name: 'api' } };
      const one = policyReport(ns, [web]);
      const two = policyReport(ns, [web, api]);
      if (!one || !two) throw new Error('no report');
      // RBAC follows a new Role within moments: the first tries may still be refused.
      await eventually('the Report created by server-side apply', async () => {
        await store.apply(one);
        return true;
      });
      await store.apply(two);
      expect((await readReport(kube, ns))?.results).toHaveLength(2);
      const listed = await store.list('app.kubernetes.io/managed-by=sockeye', [ns]);
      expect(listed.map((r) => r.metadata.name)).toEqual(['sockeye']);
      const other = { ...one, metadata: { ...one.metadata, name: 'kyverno' } };
      await expect(store.apply(other)).rejects.toMatchObject({ code: 403 });
      await expect(store.delete(ns, 'kyverno')).rejects.toMatchObject({ code: 403 });
      await store.delete(ns, 'sockeye');
      expect(await readReport(kube, ns)).toBeUndefined();
    });
  });
});

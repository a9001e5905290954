import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CoreV1Event } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { binaryPath } from '../../cluster/binaries.ts';
import { brokenShop } from '../../scripts/shop.ts';
import { deleteNamespace, eventually, type TestKube, testKube, uniqueNamespace } from '../support/kube.ts';

const exec = promisify(execFile);
const chart = new URL('../../charts/sockeye', import.meta.url).pathname;
/** The operator's metrics certificate is self-signed: the test checks the token, not the chain. */
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

/**
 * sockeye as users install it: `helm install` of the chart into the local cluster, whose pod
 * simulator runs the chart's operator pods (image ghcr.io/sockeye-dev/sockeye) as real processes
 * in their pods' network namespaces, with their ServiceAccount tokens. What they write proves the
 * chart's RBAC is enough; what the ServiceAccount may not do proves it is minimal.
 */
describe.each([
  { mode: 'cluster-wide', namespaced: false },
  { mode: 'namespace-scoped', namespaced: true },
])('the Helm chart, $mode', ({ namespaced }) => {
  let kube: TestKube;
  const release = uniqueNamespace('sockeye');
  const shop = uniqueNamespace('shop');
  const kubeconfig = () => inject('kubeconfig');
  const helm = (...args: string[]) =>
    exec(binaryPath('helm'), ['--kubeconfig', kubeconfig(), ...args], { timeout: 300_000 });
  const kubectl = (args: string[], input?: string) =>
    new Promise<string>((resolve, reject) => {
      const child = execFile(
        binaryPath('kubectl'),
        ['--kubeconfig', kubeconfig(), ...args],
        (err, stdout, stderr) =>
          err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
      );
      if (input !== undefined) child.stdin?.end(input);
    });

  beforeAll(async () => {
    kube = testKube();
    await kubectl(['apply', '-f', '-'], brokenShop(shop));
    await helm(
      'install',
      'sockeye',
      chart,
      '--namespace',
      release,
      '--create-namespace',
      '--set',
      'image.tag=dev',
      '--set',
      'operator.interval=3s',
      '--set',
      'operator.timeout=1s',
      ...(namespaced ? ['--set', `watch.namespaces={${shop}}`] : []),
      '--wait',
      '--timeout',
      '4m',
    );
  });

  afterAll(async () => {
    await helm('uninstall', 'sockeye', '--namespace', release, '--wait').catch(() => undefined);
    if (kube) {
      await deleteNamespace(kube, shop);
      await deleteNamespace(kube, release);
    }
  });

  it('runs two operator pods, one of which leads', async () => {
    const pods = await kube.core.listNamespacedPod({ namespace: release });
    const operators = pods.items.filter((p) => p.status?.phase === 'Running');
    expect(operators).toHaveLength(2);
    const lease = await eventually('the leader election Lease', async () => {
      const { items } = await kube.kc
        .makeApiClient((await import('@kubernetes/client-node')).CoordinationV1Api)
        .listNamespacedLease({ namespace: release });
      return items.find((l) => l.spec?.holderIdentity);
    });
    expect(operators.map((p) => p.metadata?.name)).toContain(lease.spec?.holderIdentity);
  });

  it('writes the Events and annotations of the broken shop', async () => {
    const payments = await eventually(
      'payments annotated NoHealthyTargets',
      async () => {
        const s = await kube.core.readNamespacedService({ name: 'payments', namespace: shop });
        return s.metadata?.annotations?.['sockeye.dev/status'] === 'NoHealthyTargets' ? s : undefined;
      },
      180_000,
    );
    expect(payments.metadata?.annotations?.['sockeye.dev/summary']).toMatch(/^http: 0\/2 open, 2 refused/);
    const frontend = await kube.core.readNamespacedService({ name: 'frontend', namespace: shop });
    expect(frontend.metadata?.annotations?.['sockeye.dev/status']).toBe('Healthy');
    const events = await eventually('Warning Events on payments and db', async () => {
      const list = await kube.core.listNamespacedEvent({ namespace: shop });
      const on = (name: string) =>
        list.items.filter((e: CoreV1Event) => e.involvedObject.name === name && e.type === 'Warning');
      return on('payments').length > 0 && on('db').length > 0 ? list.items : undefined;
    });
    const payment = events.find((e) => e.involvedObject.name === 'payments' && e.type === 'Warning');
    expect(payment?.reason).toBe('NoHealthyTargets');
    expect(payment?.reportingComponent).toBe('sockeye.dev/operator');
    expect(payment?.message).toContain('run: sockeye explain NoHealthyTargets');
  });

  it('serves health openly, and metrics over HTTPS only to a token bound to the metrics-reader role', async () => {
    const pod = (await kube.core.listNamespacedPod({ namespace: release })).items.find(
      (p) => p.status?.phase === 'Running' && p.status.podIP,
    );
    const ip = pod?.status?.podIP ?? '';
    await kubectl(['-n', release, 'create', 'serviceaccount', 'reader']);
    await kubectl(['-n', release, 'create', 'serviceaccount', 'stranger']);
    await kubectl([
      'create',
      'clusterrolebinding',
      `${release}-reader`,
      '--clusterrole=sockeye-metrics-reader',
      `--serviceaccount=${release}:reader`,
    ]);
    const token = async (sa: string) => (await kubectl(['-n', release, 'create', 'token', sa])).trim();
    const get = async (url: string, bearer?: string) =>
      (
        await fetch(url, {
          dispatcher: insecure,
          signal: AbortSignal.timeout(5000),
          ...(bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {}),
        })
      ).status;
    try {
      expect(await get(`http://${ip}:8080/healthz`)).toBe(200);
      expect(await get(`https://${ip}:8443/metrics`)).toBe(401);
      expect(await get(`https://${ip}:8443/metrics`, await token('stranger'))).toBe(403);
      expect(await get(`https://${ip}:8443/metrics`, await token('reader'))).toBe(200);
      expect(await get(`https://${ip}:8443/sockeye/v1/findings`, await token('reader'))).toBe(200);
    } finally {
      await kubectl(['delete', 'clusterrolebinding', `${release}-reader`]).catch(() => undefined);
    }
  });

  it('fences the operator ServiceAccount with the admission policy', async () => {
    const sa = `system:serviceaccount:${release}:sockeye`;
    // A bare PATCH with the operator's own token, as the operator writes: kubectl label and patch
    // would GET the Service first, which the chart does not let the operator do.
    const token = (await kubectl(['-n', release, 'create', 'token', 'sockeye'])).trim();
    const server = kube.kc.getCurrentCluster()?.server ?? '';
    const patch = async (body: unknown) => {
      const response = await fetch(`${server}/api/v1/namespaces/${shop}/services/payments`, {
        method: 'PATCH',
        dispatcher: insecure,
        signal: AbortSignal.timeout(10_000),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, text: await response.text() };
    };
    const label = await patch({ metadata: { labels: { owner: 'sockeye' } } });
    expect(label.status).not.toBe(200);
    expect(label.text).toContain(`${sa} may change only sockeye.dev/ annotations on Pods and Services`);
    const annotation = await patch({ metadata: { annotations: { 'sockeye.dev/summary': 'fenced' } } });
    expect(annotation.status).toBe(200);
  });

  it('gives the operator no more than it needs', async () => {
    const sa = `system:serviceaccount:${release}:sockeye`;
    // `kubectl auth can-i` answers on stdout and exits 1 for "no".
    const can = (...args: string[]) =>
      new Promise<string>((resolve) =>
        execFile(
          binaryPath('kubectl'),
          ['--kubeconfig', kubeconfig(), 'auth', 'can-i', ...args, '--as', sa],
          (_e, out) => resolve(out.trim()),
        ),
      );
    expect(await can('get', 'secrets', '-n', shop)).toBe('no');
    expect(await can('patch', 'deployments', '-n', shop)).toBe('no');
    expect(await can('delete', 'pods', '-n', shop)).toBe('no');
    expect(await can('list', 'pods', '-n', shop)).toBe('yes');
    // Events go through events.k8s.io only; secure metrics need the two reviews.
    expect(await can('create', 'events', '-n', shop)).toBe('no');
    expect(await can('create', 'events.events.k8s.io', '-n', shop)).toBe('yes');
    expect(await can('create', 'tokenreviews.authentication.k8s.io')).toBe('yes');
    expect(await can('create', 'subjectaccessreviews.authorization.k8s.io')).toBe('yes');
    // Namespace-scoped: nothing outside the listed namespaces.
    expect(await can('list', 'pods', '-n', 'default')).toBe(namespaced ? 'no' : 'yes');
  });

  it('passes helm test: /readyz through a Service, and sockeye audit in its namespace', async () => {
    const { stdout } = await helm('test', 'sockeye', '--namespace', release, '--timeout', '3m');
    expect(stdout).toMatch(/TEST SUITE:\s+sockeye-test\n[\s\S]*Phase:\s+Succeeded/);
    const pod = await kube.core.readNamespacedPod({ name: 'sockeye-test', namespace: release });
    expect(pod.status?.phase).toBe('Succeeded');
    expect(
      Object.fromEntries(
        (pod.status?.containerStatuses ?? []).map((c) => [c.name, c.state?.terminated?.exitCode]),
      ),
    ).toEqual({ readyz: 0, audit: 0 });
    // Made for the test and removed once it passed: its Service, ServiceAccount and Role.
    const services = await kube.core.listNamespacedService({ namespace: release });
    expect(services.items.map((s) => s.metadata?.name)).not.toContain('sockeye-test-health');
    const local = inject('localCluster');
    if (local) {
      const log = (container: string) =>
        readFile(join(local.dir, 'pods', `${release}_sockeye-test`, `${container}.log`), 'utf8');
      expect(await log('readyz')).toMatch(/GET http:\/\/198\.19\.[\d.]+:8080\/readyz: 200/);
      // The audit read the release's namespace with the test's ServiceAccount and probed the operator.
      expect(await log('audit')).toMatch(/Targets\s+\d+ targets/);
    }
  });
});

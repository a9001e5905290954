import { CoreV1Api, type V1ConfigMap, type V1ObjectMeta } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupervisedInformer } from '../../src/kube/informer.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { CuttableProxy, viaProxy } from '../support/proxy.ts';

/**
 * The supervised informer against the local cluster, through a TCP proxy the test can cut: a dropped
 * watch and an API server that refuses connections for a while must both end with the informer's
 * store equal to the server's state, without restarting the informer by hand.
 */

const LABEL = 'sockeye.dev/test';
const SELECTOR = `${LABEL}=informer`;

interface Slim {
  metadata?: V1ObjectMeta;
  data?: Record<string, string>;
}

function configMap(name: string, value: string): V1ConfigMap {
  return { metadata: { name, labels: { [LABEL]: 'informer', bulky: 'x'.repeat(60) } }, data: { value } };
}

describe('SupervisedInformer on the local cluster', () => {
  let kube: TestKube;
  let ns: string;
  let proxy: CuttableProxy;
  let informer: SupervisedInformer<V1ConfigMap, Slim>;
  const errors: unknown[] = [];
  const seen: string[] = [];

  /** The informer's view as name=value, sorted. */
  const cached = () =>
    informer
      .list()
      .map((o) => `${o.metadata?.name}=${o.data?.value}`)
      .sort()
      .join(' ');

  /** The server's view, read directly (not through the proxy). */
  const actual = async () => {
    const list = await kube.core.listNamespacedConfigMap({ namespace: ns, labelSelector: SELECTOR });
    return list.items
      .map((o) => `${o.metadata?.name}=${o.data?.value}`)
      .sort()
      .join(' ');
  };

  const converged = (what: string) =>
    eventually(what, async () => {
      const want = await actual();
      return cached() === want ? want : undefined;
    });

  beforeAll(async () => {
    kube = testKube();
    ns = uniqueNamespace('informer');
    await createNamespace(kube, ns);
    for (let i = 0; i < 5; i++) {
      await kube.core.createNamespacedConfigMap({ namespace: ns, body: configMap(`cm-${i}`, `v${i}`) });
    }
    const server = new URL(kube.kc.getCurrentCluster()?.server ?? '');
    proxy = new CuttableProxy({ host: server.hostname, port: Number(server.port || 443) });
    await proxy.open();
    const kc = viaProxy(kube.kc, proxy.port);
    const core = kc.makeApiClient(CoreV1Api);
    informer = new SupervisedInformer<V1ConfigMap, Slim>({
      name: 'configmaps',
      path: `/api/v1/namespaces/${ns}/configmaps`,
      kubeConfig: kc,
      labelSelector: SELECTOR,
      list: (page) => core.listNamespacedConfigMap({ namespace: ns, labelSelector: SELECTOR, ...page }),
      pageSize: 2,
      transform: (cm) => ({
        metadata: {
          name: cm.metadata?.name ?? '',
          namespace: cm.metadata?.namespace ?? '',
          resourceVersion: cm.metadata?.resourceVersion ?? '',
        },
        ...(cm.data ? { data: cm.data } : {}),
      }),
      handlers: {
        add: (o) => seen.push(`add ${o.metadata?.name}`),
        update: (o) => seen.push(`update ${o.metadata?.name}`),
        delete: (o) => seen.push(`delete ${o.metadata?.name}`),
      },
      backoff: { baseMs: 200, maxMs: 2000, jitter: 1 },
      onError: (err) => errors.push(err),
      logger: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await informer?.stop();
    await proxy?.close();
    if (kube && ns) await deleteNamespace(kube, ns);
  });

  it('pages the initial list, keeps only the transformed fields, and syncs', async () => {
    informer.start();
    await informer.whenSynced();
    expect(informer.hasSynced()).toBe(true);
    expect(cached()).toBe('cm-0=v0 cm-1=v1 cm-2=v2 cm-3=v3 cm-4=v4');
    expect(informer.get('cm-0', ns)?.metadata?.labels).toBeUndefined();
    expect(seen.filter((s) => s.startsWith('add'))).toHaveLength(5);
  });

  it('follows creates, updates and deletes through the watch', async () => {
    await kube.core.createNamespacedConfigMap({ namespace: ns, body: configMap('cm-5', 'v5') });
    await kube.core.replaceNamespacedConfigMap({
      name: 'cm-1',
      namespace: ns,
      body: configMap('cm-1', 'v1b'),
    });
    await kube.core.deleteNamespacedConfigMap({ name: 'cm-2', namespace: ns });
    await converged('the watch to deliver three changes');
    expect(seen).toEqual(expect.arrayContaining(['add cm-5', 'update cm-1', 'delete cm-2']));
  });

  it('recovers from a dropped watch', async () => {
    proxy.cut();
    await kube.core.replaceNamespacedConfigMap({
      name: 'cm-3',
      namespace: ns,
      body: configMap('cm-3', 'v3b'),
    });
    await converged('the informer to resume after its connection was reset');
  });

  it('recovers from an API server that refuses connections for a while, with backoff', async () => {
    const before = errors.length;
    await proxy.close();
    await kube.core.deleteNamespacedConfigMap({ name: 'cm-4', namespace: ns });
    await kube.core.createNamespacedConfigMap({ namespace: ns, body: configMap('cm-6', 'v6') });
    await eventually('the informer to notice the outage', async () =>
      errors.length > before ? true : undefined,
    );
    // Several seconds of refusals: with backoff (200 ms doubling to 2 s) that is a handful of attempts, not a hot loop.
    await new Promise((r) => setTimeout(r, 5_000));
    const attempts = errors.length - before;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThan(15);
    await proxy.open();
    await converged('the informer to catch up after the outage');
    expect(informer.hasSynced()).toBe(true);
    expect(seen).toEqual(expect.arrayContaining(['delete cm-4', 'add cm-6']));
  });

  it('stops quietly', async () => {
    await informer.stop();
    const before = errors.length;
    proxy.cut();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(errors.length).toBe(before);
  });
});

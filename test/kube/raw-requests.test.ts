import { ApiException, type RequestContext } from '@kubernetes/client-node';
import { Observable } from '@kubernetes/client-node/dist/gen/rxjsStub.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coordinationLeaseStore } from '../../src/controller/leader.ts';
import { leanCoordinationV1, leanCoreV1, leanReviews } from '../../src/kube/lean-api.ts';
import { getRaw, listRaw, listStreamed, sendRaw } from '../../src/kube/raw-requests.ts';
import { corePatcher } from '../../src/operator/annotation-patch.ts';
import {
  createNamespace,
  deleteNamespace,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';

describe('listRaw on the local cluster', () => {
  let kube: TestKube;
  const ns = uniqueNamespace('raw-list');

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    for (const name of ['a', 'b', 'c'])
      await kube.core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name }, data: { k: name } },
      });
  });
  afterAll(async () => {
    if (kube) await deleteNamespace(kube, ns);
  });

  it('pages with the continue token under its client-node name, and returns plain JSON', async () => {
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await listRaw<{ metadata: { name: string; creationTimestamp: unknown } }>(kube.kc, path, {
        limit: 2,
        ...(cont ? { _continue: cont } : {}),
      });
      pages++;
      for (const item of page.items) {
        names.push(item.metadata.name);
        // The watch's form, not client-node's models: timestamps stay strings.
        expect(typeof item.metadata.creationTimestamp).toBe('string');
      }
      expect(page.metadata?.resourceVersion).toMatch(/^\d+$/);
      cont = page.metadata?._continue;
    } while (cont);
    expect(pages).toBe(2);
    expect(names.filter((n) => n !== 'kube-root-ca.crt').sort()).toEqual(['a', 'b', 'c']);
  });

  it('GETs any path as text (the bench reads the API server metrics so)', async () => {
    expect(JSON.parse(await getRaw(kube.kc, '/version'))).toHaveProperty('gitVersion');
    expect(await getRaw(kube.kc, '/metrics')).toMatch(/^apiserver_request_total\{/m);
  });

  it('fails with an ApiException carrying the status', async () => {
    const err = await listRaw(kube.kc, '/api/v1/namespaces/x/nosuchthings', { limit: 1 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<string>).code).toBe(404);
  });

  it('streams a whole list from the watch cache, each item without its managedFields through the function given', async () => {
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const page = await listStreamed(
      kube.kc,
      path,
      (item: { metadata: { name: string; managedFields?: unknown[] }; data?: { k?: string } }) => ({
        name: item.metadata.name,
        k: item.data?.k,
        managedFields: item.metadata.managedFields,
      }),
    );
    // Each item's managedFields are left out before it is parsed (the API server's compact JSON),
    // where a plain read has them.
    const read = await kube.core.readNamespacedConfigMap({ name: 'a', namespace: ns });
    expect(read.metadata?.managedFields?.length).toBeGreaterThan(0);
    expect(page.items.filter((i) => i.name !== 'kube-root-ca.crt')).toEqual([
      { name: 'a', k: 'a', managedFields: [] },
      { name: 'b', k: 'b', managedFields: [] },
      { name: 'c', k: 'c', managedFields: [] },
    ]);
    expect(page.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(page.metadata?._continue).toBeUndefined();
    const err = await listStreamed(kube.kc, '/api/v1/namespaces/x/nosuchthings', (i) => i).catch(
      (e: unknown) => e,
    );
    expect((err as ApiException<string>).code).toBe(404);
  });

  it('asks for answers uncompressed (the API server gzips any answer over 128 KiB when asked)', async () => {
    const big = 'x'.repeat(60_000);
    for (const name of ['big-1', 'big-2', 'big-3'])
      await kube.core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name }, data: { big } },
      });
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const plain = await sendRaw(kube.kc, path);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect((await plain.body.text()).length).toBeGreaterThan(180_000);
    // The same request asking for gzip gets it: the list is big enough for the API server to compress.
    const askGzip = {
      pre: (context: RequestContext) => {
        context.setHeaderParam('Accept-Encoding', 'gzip');
        return new Observable(Promise.resolve(context));
      },
      post: <T>(response: T) => new Observable(Promise.resolve(response)),
    };
    const gzipped = await sendRaw(kube.kc, path, { options: { middleware: [askGzip] } });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    await gzipped.body.arrayBuffer();
    for (const name of ['big-1', 'big-2', 'big-3'])
      await kube.core.deleteNamespacedConfigMap({ namespace: ns, name });
  });

  it("makes the operator's calls without client-node's generated API: patch, Lease, reviews", async () => {
    await kube.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'svc' }, spec: { ports: [{ port: 80 }] } },
    });
    await corePatcher(leanCoreV1(kube.kc)).patch('Service', ns, 'svc', { 'sockeye.dev/status': 'Healthy' });
    const svc = await kube.core.readNamespacedService({ namespace: ns, name: 'svc' });
    expect(svc.metadata?.annotations?.['sockeye.dev/status']).toBe('Healthy');
    expect(svc.metadata?.managedFields?.some((f) => f.manager === 'sockeye')).toBe(true);
    expect((await leanCoreV1(kube.kc).readNamespace({ name: ns })).metadata?.name).toBe(ns);

    const store = coordinationLeaseStore(leanCoordinationV1(kube.kc), { namespace: ns, name: 'lease' });
    expect(await store.get()).toBeUndefined();
    const write = {
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
      acquireTimeMs: 1_000,
      renewTimeMs: 2_000,
    };
    const created = await store.create(write);
    const replaced = await store.replace(created.resourceVersion, { ...write, holderIdentity: 'b' });
    expect(replaced.holderIdentity).toBe('b');
    expect((await store.get())?.acquireTimeMs).toBe(1_000);
    const stale = await store.replace(created.resourceVersion, write).catch((e: unknown) => e);
    expect((stale as ApiException<string>).code).toBe(409);

    const review = await leanReviews(kube.kc).createTokenReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'not-a-token' } },
    });
    expect(review.status?.authenticated).not.toBe(true);
  });
});

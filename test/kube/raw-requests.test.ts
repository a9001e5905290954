import { ApiException } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRaw, listRaw } from '../../src/kube/raw-requests.ts';
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
});

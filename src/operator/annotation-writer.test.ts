import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { logger } from '../log.ts';
import { NOW, pod, svc } from '../rules/fixtures.ts';
import { AnnotationWriter } from './annotation-writer.ts';
import type { AnnotationPatch, Desired, Patcher, PatchKind } from './annotations.ts';
import { ClusterCache } from './cache.ts';

const healthy: Desired = { status: 'Healthy', summary: 'http: 1/1 open' };
const refusing: Desired = { status: 'NotListening', summary: 'http: 8080 refused' };
const failure = (code: number) =>
  new ApiException(code, 'failed', JSON.stringify({ kind: 'Status', code }), {});

/** A cache with one Service and `pods` pods, and a patcher that records and feeds writes back. */
function setup(pods = 0) {
  const cache = new ClusterCache();
  cache.upsert('Service', svc('api'));
  for (let i = 0; i < pods; i++) cache.upsert('Pod', pod(`api-${i}`));
  const written: { kind: PatchKind; name: string; patch: AnnotationPatch }[] = [];
  const results: string[] = [];
  /** Per object, errors to throw before writing; a pending promise holds the write until released. */
  const faults = new Map<string, (Error | Promise<void>)[]>();
  const patcher: Patcher = {
    async patch(kind, namespace, name, patch) {
      const fault = faults.get(name)?.shift();
      if (fault instanceof Error) throw fault;
      if (fault) await fault;
      written.push({ kind, name, patch });
      const cached = cache.get(kind, namespace, name);
      if (!cached) return;
      const annotations = { ...cached.object.annotations };
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete annotations[k];
        else annotations[k] = v;
      }
      cache.upsert(kind, { ...cached.object, annotations } as never);
    },
  };
  const writer = new AnnotationWriter({
    cache,
    patcher,
    logger: logger.child({ test: 'annotation-writer' }),
    workers: { Service: 1, Pod: 1 },
    onPatch: (kind, result) => results.push(`${kind}:${result}`),
  });
  const drained = async () => {
    for (let i = 0; i < 500 && writer.pending() > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(writer.pending()).toBe(0);
  };
  return { cache, writer, written, results, faults, drained };
}

describe('AnnotationWriter', () => {
  it('writes the latest intent once, and nothing for an intent the object already has', async () => {
    const t = setup(1);
    expect(t.writer.submit('Pod', 'shop', 'api-0', refusing, NOW)).toBe(true);
    expect(t.writer.submit('Pod', 'shop', 'api-0', healthy, NOW)).toBe(true);
    await t.drained();
    expect(t.written).toEqual([
      {
        kind: 'Pod',
        name: 'api-0',
        patch: {
          'sockeye.dev/status': 'Healthy',
          'sockeye.dev/summary': 'http: 1/1 open',
          'sockeye.dev/since': '2025-06-01T12:00:00Z',
        },
      },
    ]);
    expect(t.writer.submit('Pod', 'shop', 'api-0', healthy, NOW)).toBe(false);
    expect(t.writer.submit('Pod', 'shop', 'api-0', undefined, NOW)).toBe(true);
    await t.drained();
    expect(t.written.at(-1)?.patch).toEqual({
      'sockeye.dev/status': null,
      'sockeye.dev/summary': null,
      'sockeye.dev/since': null,
    });
    await t.writer.close();
  });

  it('does not write again what it just wrote while the watch has not shown it yet', async () => {
    const t = setup(1);
    const cached = t.cache.get('Pod', 'shop', 'api-0');
    t.writer.submit('Pod', 'shop', 'api-0', healthy, NOW);
    await t.drained();
    // The informer has not seen the write yet: the cache holds the old object again.
    if (cached) t.cache.upsert('Pod', cached.object);
    expect(t.writer.submit('Pod', 'shop', 'api-0', healthy, NOW)).toBe(false);
    expect(t.writer.submit('Pod', 'shop', 'api-0', refusing, NOW)).toBe(true);
    await t.drained();
    expect(t.written.map((w) => w.patch['sockeye.dev/status'])).toEqual(['Healthy', 'NotListening']);
    await t.writer.close();
  });

  it('writes pods only when no Service write is queued or in flight', async () => {
    const t = setup(2);
    let release = () => {};
    t.faults.set('api', [new Promise<void>((r) => (release = r))]);
    t.writer.submit('Service', 'shop', 'api', healthy, NOW);
    for (let i = 0; i < 2; i++) t.writer.submit('Pod', 'shop', `api-${i}`, healthy, NOW);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.written).toEqual([]);
    release();
    await t.drained();
    expect(t.written.map((w) => w.name)).toEqual(['api', 'api-0', 'api-1']);
    await t.writer.close();
  });

  it('writes Services while pod writes are held up', async () => {
    const t = setup(3);
    let release = () => {};
    t.faults.set('api-0', [new Promise<void>((r) => (release = r))]);
    for (let i = 0; i < 3; i++) t.writer.submit('Pod', 'shop', `api-${i}`, healthy, NOW);
    t.writer.submit('Service', 'shop', 'api', healthy, NOW);
    for (let i = 0; i < 100 && t.written.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(t.written.map((w) => w.name)).toEqual(['api']);
    release();
    await t.drained();
    expect(t.written.map((w) => w.name)).toEqual(['api', 'api-0', 'api-1', 'api-2']);
    await t.writer.close();
  });

  it('retries failed writes with backoff until written; a vanished object is not retried', async () => {
    const t = setup(1);
    t.faults.set('api', [failure(500), failure(409)]);
    t.faults.set('api-0', [failure(404)]);
    t.writer.submit('Service', 'shop', 'api', healthy, NOW);
    t.writer.submit('Pod', 'shop', 'api-0', healthy, NOW);
    await t.drained();
    expect(t.written.map((w) => w.name)).toEqual(['api']);
    expect(t.results.sort()).toEqual(['Service:error', 'Service:error', 'Service:ok']);
    await t.writer.close();
  });

  it('close() lets the write in flight finish and drops the queued ones', async () => {
    const t = setup(3);
    let release = () => {};
    t.faults.set('api-0', [new Promise<void>((r) => (release = r))]);
    for (let i = 0; i < 3; i++) t.writer.submit('Pod', 'shop', `api-${i}`, healthy, NOW);
    for (let i = 0; i < 100 && t.faults.get('api-0')?.length !== 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    const closed = t.writer.close();
    release();
    await closed;
    expect(t.written.map((w) => w.name)).toEqual(['api-0']);
  });
});

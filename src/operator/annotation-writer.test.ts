import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type Fence, Term } from '../controller/term.ts';
import { logger } from '../log.ts';
import { NOW, pod, svc } from '../rules/fixtures.ts';
import type { AnnotationPatch, Desired, Patcher, PatchKind } from './annotation-patch.ts';
import { AnnotationWriter } from './annotation-writer.ts';
import { ClusterCache } from './cache.ts';

const healthy: Desired = { status: 'Healthy', summary: 'http: 1/1 open' };
const refusing: Desired = { status: 'NotListening', summary: 'http: 8080 refused' };
const failure = (code: number) =>
  new ApiException(code, 'failed', JSON.stringify({ kind: 'Status', code }), {});

/**
 * A cache with one Service and `pods` pods, and a patcher that records and feeds writes back;
 * `fence` as the operator passes it.
 */
function setup(pods = 0, fence?: () => Fence | undefined) {
  const cache = new ClusterCache();
  cache.upsert('Service', svc('api'));
  for (let i = 0; i < pods; i++) cache.upsert('Pod', pod(`api-${i}`));
  const written: { kind: PatchKind; name: string; patch: AnnotationPatch }[] = [];
  const results: string[] = [];
  /**
   * Per object, errors to throw before writing (or a function run then); a pending promise holds
   * the write until released, or until the request is cancelled.
   */
  const faults = new Map<string, (Error | Promise<void> | (() => void))[]>();
  const cancelled: string[] = [];
  const patcher: Patcher = {
    async patch(kind, namespace, name, patch, signal) {
      const fault = faults.get(name)?.shift();
      if (fault instanceof Error) throw fault;
      if (typeof fault === 'function') fault();
      else if (fault) {
        await Promise.race([
          fault,
          new Promise((_, reject) =>
            signal?.addEventListener('abort', () => {
              cancelled.push(name);
              reject(signal.reason);
            }),
          ),
        ]);
      }
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
    ...(fence ? { fence } : {}),
  });
  /** Waits (up to ~0.5 s) until `done()`. */
  const until = async (done: () => boolean, tries = 100) => {
    for (let i = 0; i < tries && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  };
  const drained = async () => {
    await until(() => writer.pending() === 0, 500);
    expect(writer.pending()).toBe(0);
  };
  /** Holds the next write of `name` until the returned function is called. */
  const hold = (name: string) => {
    let release = () => {};
    faults.set(name, [new Promise<void>((r) => (release = r))]);
    return () => release();
  };
  return { cache, writer, written, results, faults, cancelled, drained, until, hold };
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

  it('holds Healthy Service statuses back until released; every other status and pod write goes at once', async () => {
    const t = setup(1);
    for (const name of ['web', 'db']) t.cache.upsert('Service', svc(name));
    const said = () => t.written.map((w) => `${w.kind}/${w.name}=${w.patch['sockeye.dev/status']}`);
    t.writer.holdHealthy(60_000);
    for (const name of ['api', 'web'])
      expect(t.writer.submit('Service', 'shop', name, healthy, NOW)).toBe(true);
    expect(t.writer.submit('Service', 'shop', 'db', refusing, NOW)).toBe(true);
    expect(t.writer.submit('Pod', 'shop', 'api-0', refusing, NOW)).toBe(true);
    // A held Service found broken after all: written at once, not held.
    expect(t.writer.submit('Service', 'shop', 'web', refusing, NOW)).toBe(true);
    await t.until(() => t.written.length === 3);
    // Long enough for a held write to have been made, were it not held.
    await new Promise((r) => setTimeout(r, 50));
    expect(said()).toEqual(['Service/db=NotListening', 'Service/web=NotListening', 'Pod/api-0=NotListening']);
    expect(t.writer.pending()).toBe(1);
    expect(t.writer.releaseHeld()).toBe(1);
    await t.drained();
    expect(said().at(-1)).toBe('Service/api=Healthy');
    // Released: a Healthy status is written at once from now on.
    expect(t.writer.submit('Service', 'shop', 'web', healthy, NOW)).toBe(true);
    await t.drained();
    expect(said().at(-1)).toBe('Service/web=Healthy');
    await t.writer.close();
  });

  it('holds Healthy statuses no longer than it was asked to, even when never released', async () => {
    const t = setup();
    t.writer.holdHealthy(300);
    expect(t.writer.submit('Service', 'shop', 'api', healthy, NOW)).toBe(true);
    // Long enough for the write to have been made, were it not held.
    await new Promise((r) => setTimeout(r, 50));
    expect(t.written).toEqual([]);
    expect(t.writer.pending()).toBe(1);
    await t.drained();
    expect(t.written.map((w) => w.patch['sockeye.dev/status'])).toEqual(['Healthy']);
    expect(t.writer.releaseHeld()).toBe(0);
    await t.writer.close();
  });

  it('drops what it held when the hold is cancelled (the term ended), and holds nothing after', async () => {
    const t = setup();
    t.writer.holdHealthy(60_000);
    t.writer.submit('Service', 'shop', 'api', healthy, NOW);
    t.writer.cancelHold();
    expect(t.writer.releaseHeld()).toBe(0);
    // Not held any more: a new intent is written at once.
    t.writer.submit('Service', 'shop', 'api', healthy, NOW);
    await t.drained();
    expect(t.written.map((w) => w.patch['sockeye.dev/status'])).toEqual(['Healthy']);
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
    const release = t.hold('api');
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
    const release = t.hold('api-0');
    for (let i = 0; i < 3; i++) t.writer.submit('Pod', 'shop', `api-${i}`, healthy, NOW);
    t.writer.submit('Service', 'shop', 'api', healthy, NOW);
    await t.until(() => t.written.length > 0);
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
    const release = t.hold('api-0');
    for (let i = 0; i < 3; i++) t.writer.submit('Pod', 'shop', `api-${i}`, healthy, NOW);
    await t.until(() => t.faults.get('api-0')?.length === 0);
    const closed = t.writer.close();
    release();
    await closed;
    expect(t.written.map((w) => w.name)).toEqual(['api-0']);
  });

  it('drops the writes queued in a term when it ends, and cancels the one in flight', async () => {
    const term = new Term();
    const t = setup(2, () => term);
    t.faults.set('api', [new Promise<void>(() => {})]);
    t.writer.submit('Service', 'shop', 'api', healthy, NOW);
    for (let i = 0; i < 2; i++) t.writer.submit('Pod', 'shop', `api-${i}`, healthy, NOW);
    for (let i = 0; i < 100 && t.faults.get('api')?.length !== 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(t.writer.pending()).toBe(3);
    term.end();
    // Dropped at once, not when a worker comes round to them.
    expect(t.writer.pending()).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.cancelled).toEqual(['api']);
    expect(t.written).toEqual([]);
    expect(t.results).toEqual([]);
    await t.writer.close();
  });

  it('never sends a write started after its term expired, even before the term is ended', async () => {
    let now = 0;
    const term = new Term({ clock: { now: () => now }, expiresAt: 10 });
    const t = setup(1, () => term);
    let release = () => {};
    t.faults.set('api', [new Promise<void>((r) => (release = r))]);
    t.writer.submit('Service', 'shop', 'api', healthy, NOW);
    // Queued behind the Service write; the renew deadline passes before its turn.
    t.writer.submit('Pod', 'shop', 'api-0', healthy, NOW);
    for (let i = 0; i < 100 && t.faults.get('api')?.length !== 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    now = 10;
    release();
    await t.drained();
    expect(t.written.map((w) => w.name)).toEqual(['api']);
    // Nothing is taken once the term no longer holds, though it has not been ended yet.
    expect(t.writer.submit('Pod', 'shop', 'api-0', refusing, NOW)).toBe(false);
    expect(t.writer.pending()).toBe(0);
    await t.writer.close();
  });

  it('drops a failed write whose term expired meanwhile instead of retrying it', async () => {
    let now = 0;
    const term = new Term({ clock: { now: () => now }, expiresAt: 10 });
    const t = setup(0, () => term);
    t.faults.set('api', [
      () => {
        now = 10;
        throw failure(503);
      },
    ]);
    expect(t.writer.submit('Service', 'shop', 'api', healthy, NOW)).toBe(true);
    await t.drained();
    // Not retried, and not counted as a failed write: it ended with its term.
    expect(t.written).toEqual([]);
    expect(t.results).toEqual([]);
    await t.writer.close();
  });

  it('a fenced writer takes nothing outside a term', async () => {
    let term: Term | undefined;
    const t = setup(0, () => term);
    expect(t.writer.submit('Service', 'shop', 'api', healthy, NOW)).toBe(false);
    term = new Term();
    expect(t.writer.submit('Service', 'shop', 'api', healthy, NOW)).toBe(true);
    await t.drained();
    expect(t.written.map((w) => w.name)).toEqual(['api']);
    await t.writer.close();
  });

  describe('forgets deleted objects', () => {
    it('drops the intent and the expectation of a deleted pod', async () => {
      const t = setup(2);
      for (let i = 0; i < 2; i++) t.writer.submit('Pod', 'shop', `api-${i}`, healthy, NOW);
      await t.drained();
      expect(t.writer.tracked()).toEqual({ annotation_intents: 0, annotation_expectations: 2 });
      t.cache.delete('Pod', 'shop', 'api-0');
      t.writer.forget('Pod', 'shop', 'api-0');
      expect(t.writer.tracked()).toEqual({ annotation_intents: 0, annotation_expectations: 1 });
      await t.writer.close();
    });

    it('keeps no expectation for a pod deleted while its write was in flight', async () => {
      const t = setup(1);
      const release = t.hold('api-0');
      t.writer.submit('Pod', 'shop', 'api-0', healthy, NOW);
      await t.until(() => t.faults.get('api-0')?.length === 0);
      // The informer's delete arrives mid-write: the cache loses the pod, the operator forgets it.
      t.cache.delete('Pod', 'shop', 'api-0');
      t.writer.forget('Pod', 'shop', 'api-0');
      release();
      await t.until(() => t.results.length > 0);
      expect(t.results).toEqual(['Pod:ok']);
      expect(t.writer.tracked()).toEqual({ annotation_intents: 0, annotation_expectations: 0 });
      await t.writer.close();
    });

    it('sweeps expectations the watch showed, that ended, or whose object is gone', async () => {
      const t = setup(3);
      const stale = t.cache.get('Pod', 'shop', 'api-2');
      for (let i = 0; i < 3; i++) t.writer.submit('Pod', 'shop', `api-${i}`, healthy, NOW);
      await t.drained();
      // api-0: the watch showed the write; api-1: deleted without a delete event; api-2: the watch
      // lags (its old view is back in the cache), so only the end of the expectation drops it.
      t.cache.delete('Pod', 'shop', 'api-1');
      if (stale) t.cache.upsert('Pod', stale.object);
      t.writer.sweep();
      expect(t.writer.tracked()).toEqual({ annotation_intents: 0, annotation_expectations: 1 });
      t.writer.sweep(Date.now() + 60_000);
      expect(t.writer.tracked()).toEqual({ annotation_intents: 0, annotation_expectations: 0 });
      await t.writer.close();
    });
  });
});

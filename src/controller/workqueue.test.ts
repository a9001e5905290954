import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue, type WorkQueueOptions } from './workqueue.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function queue(options: WorkQueueOptions = {}) {
  return new WorkQueue({ clock: { now: () => Date.now() }, ...options });
}

/** How many keys are ready after each step (ms) of the clock, the steps taken one after the other. */
function readyAfter(q: WorkQueue, ...steps: number[]): number[] {
  return steps.map((ms) => {
    vi.advanceTimersByTime(ms);
    return q.len();
  });
}

/** Settles a promise that should already be resolved, without waiting. */
async function peek<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, Promise.resolve('pending' as const)]);
}

describe('WorkQueue: dedup and single worker per key', () => {
  it('queues a key at most once, in FIFO order', async () => {
    const q = queue();
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.len()).toBe(0);
  });

  it('re-queues a key added while it was processed only after done', async () => {
    const q = queue();
    q.add('ns/a');
    const key = await q.get();
    q.add('ns/a');
    q.add('ns/a');
    expect(q.len()).toBe(0);
    expect(await peek(q.get())).toBe('pending');
    q.done(key!);
    expect(q.len()).toBe(0); // handed straight to the waiting worker
    expect(q.processingLen()).toBe(1);
  });

  it('wakes a waiting worker on add', async () => {
    const q = queue();
    const next = q.get();
    expect(await peek(next)).toBe('pending');
    q.add('ns/x');
    expect(await next).toBe('ns/x');
  });

  it('does not requeue a done key that was not re-added', async () => {
    const q = queue();
    q.add('k');
    q.done((await q.get())!);
    expect(q.len()).toBe(0);
    q.done('k'); // a second done is harmless
    expect(q.len()).toBe(0);
  });
});

describe('WorkQueue: delays', () => {
  it('addAfter queues when the delay passes; the earliest time wins', async () => {
    const q = queue();
    q.addAfter('k', 1000);
    q.addAfter('k', 5000);
    q.addAfter('k', 400);
    expect(q.waitingLen()).toBe(1);
    expect(readyAfter(q, 399, 1, 10_000)).toEqual([0, 1, 1]);
    expect(q.waitingLen()).toBe(0);
  });

  it('addAfter with no delay adds now', () => {
    const q = queue();
    q.addAfter('k', 0);
    expect(q.len()).toBe(1);
  });
});

describe('WorkQueue: rate limiting', () => {
  it('after a failure, waits out the server Retry-After or else backs off, counting a retry each time', () => {
    const retries: string[] = [];
    const q = queue({ onRetry: (k) => retries.push(k) });
    q.addAfterFailure('told', 1000);
    q.addAfterFailure('untold', undefined);
    vi.advanceTimersByTime(5);
    expect([q.len(), q.numRequeues('untold'), q.numRequeues('told')]).toEqual([1, 1, 0]);
    expect(readyAfter(q, 994, 1)).toEqual([1, 2]);
    expect(retries).toEqual(['told', 'untold']);
  });

  it('backs off per key from 5 ms, doubling, until forget', async () => {
    const q = queue();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      q.addRateLimited('k');
      const start = Date.now();
      for (let t = 0; q.len() === 0 && t < 100; t++) vi.advanceTimersByTime(1);
      delays.push(Date.now() - start);
      q.done((await q.get())!);
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(q.numRequeues('k')).toBe(4);
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
  });

  it('caps the per-key delay at 1000 s', async () => {
    const q = queue();
    // The first retry waits 5 ms; the later ones would wait longer, and the earliest time wins.
    for (let i = 0; i < 18; i++) q.addRateLimited('k');
    vi.advanceTimersByTime(5);
    q.done((await q.get())!);
    // 5 ms * 2^18 is about 1311 s: capped to 1000 s.
    q.addRateLimited('k');
    expect(readyAfter(q, 999_999, 1)).toEqual([0, 1]);
  });

  it('caps the per-key delay of one call when asked', async () => {
    const q = queue();
    for (let i = 0; i < 18; i++) q.addRateLimited('k');
    vi.advanceTimersByTime(5);
    q.done((await q.get())!);
    q.addRateLimited('k', 30_000);
    expect(readyAfter(q, 29_999, 1)).toEqual([0, 1]);
  });

  it('limits everyone together with the global bucket (10 qps, burst 100)', () => {
    const q = queue();
    for (let i = 0; i < 100; i++) q.addRateLimited(`k${i}`);
    q.addRateLimited('late');
    expect(readyAfter(q, 5, 94, 1)).toEqual([100, 100, 101]);
  });

  it('reports each retry', () => {
    const onRetry = vi.fn();
    const q = queue({ onRetry });
    q.addRateLimited('a');
    q.addRateLimited('a');
    expect(onRetry).toHaveBeenCalledTimes(2);
  });
});

describe('WorkQueue: shutdown', () => {
  it('shutDown ignores adds, releases waiting workers and resolves after in-flight keys are done', async () => {
    const q = queue();
    q.add('busy');
    q.add('queued');
    q.addAfter('later', 1000);
    const busy = await q.get();
    const idleWorker = queue();
    const waiting = idleWorker.get();
    void idleWorker.shutDown();
    expect(await waiting).toBeUndefined();

    let finished = false;
    const stopped = q.shutDown().then(() => {
      finished = true;
    });
    q.add('new');
    expect(await q.get()).toBeUndefined();
    await Promise.resolve();
    expect(finished).toBe(false);
    q.done(busy!);
    await stopped;
    expect(finished).toBe(true);
    vi.advanceTimersByTime(2000);
    expect(q.len()).toBe(0);
  });

  it('shutDownWithDrain hands out what was queued, then ends', async () => {
    const q = queue();
    q.add('a');
    q.add('b');
    const drained = q.shutDownWithDrain();
    q.add('c');
    const a = await q.get();
    const b = await q.get();
    expect([a, b]).toEqual(['a', 'b']);
    // 'c' came after the shutdown: nothing more to hand out once a and b are done.
    const last = q.get();
    q.done(a!);
    expect(await peek(drained)).toBe('pending');
    expect(await peek(last)).toBe('pending');
    q.done(b!);
    await drained;
    expect(await last).toBeUndefined();
  });

  it('shutDownWithDrain still hands out a key re-added while it was worked on', async () => {
    const q = queue();
    q.add('k');
    const k = await q.get();
    q.add('k'); // re-added before the shutdown: it must be worked on again
    const drained = q.shutDownWithDrain();
    const next = q.get();
    expect(await peek(next)).toBe('pending');
    q.done(k!);
    expect(await next).toBe('k');
    expect(await peek(drained)).toBe('pending');
    q.done('k');
    await drained;
    expect(await q.get()).toBeUndefined();
  });
});

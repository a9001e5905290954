import { describe, expect, it } from 'vitest';
import { type LoopQueue, runWorkers, type WorkResult } from './loop.ts';
import { WorkQueue } from './workqueue.ts';

/** A queue that hands out `keys` once each, then shuts down, recording every other call. */
function recordingQueue(keys: readonly string[]) {
  const pending = [...keys];
  const calls: string[] = [];
  const queue: LoopQueue = {
    get: async () => pending.shift(),
    done: (key) => void calls.push(`done ${key}`),
    forget: (key) => void calls.push(`forget ${key}`),
    addAfter: (key, ms) => void calls.push(`addAfter ${key} ${ms}`),
    addRateLimited: (key, max) => void calls.push(`addRateLimited ${key} ${max ?? '-'}`),
    addAfterFailure: (key, ms) => void calls.push(`addAfterFailure ${key} ${ms ?? '-'}`),
    shutDown: async () => void calls.push('shutDown'),
  };
  return { queue, calls };
}

/** Lets every promise callback that is ready run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('runWorkers: results to queue calls', () => {
  it.each<[string, WorkResult | Error, string[]]>([
    ['done clears the backoff', { kind: 'done' }, ['forget k', 'done k']],
    [
      'requeue-after clears it and queues again',
      { kind: 'requeue-after', afterMs: 30 },
      ['forget k', 'addAfter k 30', 'done k'],
    ],
    [
      'retry backs off, capped when asked',
      { kind: 'retry', maxDelayMs: 60 },
      ['addRateLimited k 60', 'done k'],
    ],
    ['retry honours a Retry-After', { kind: 'retry', retryAfterMs: 7 }, ['addAfterFailure k 7', 'done k']],
    ['an error retries with the full backoff', new Error('boom'), ['addRateLimited k -', 'done k']],
  ])('%s', async (_, outcome, calls) => {
    const q = recordingQueue(['k']);
    await runWorkers({
      queue: q.queue,
      workers: 1,
      signal: new AbortController().signal,
      handle: async () => {
        if (outcome instanceof Error) throw outcome;
        return outcome;
      },
    });
    expect(q.calls).toEqual(calls);
  });

  it('asks onError what an error means, with the key', async () => {
    const q = recordingQueue(['a', 'b']);
    const seen: string[] = [];
    await runWorkers({
      queue: q.queue,
      workers: 1,
      signal: new AbortController().signal,
      handle: async (key) => {
        throw new Error(`bad ${key}`);
      },
      onError: (key, err) => {
        seen.push(`${key}: ${(err as Error).message}`);
        return key === 'a' ? { kind: 'retry', retryAfterMs: 1000 } : { kind: 'done' };
      },
    });
    expect(seen).toEqual(['a: bad a', 'b: bad b']);
    expect(q.calls).toEqual(['addAfterFailure a 1000', 'done a', 'forget b', 'done b']);
  });
});

describe('runWorkers on a WorkQueue', () => {
  it('works each key once at a time, different keys side by side', async () => {
    const queue = new WorkQueue();
    const running = new Map<string, number>();
    let mostPerKey = 0;
    let mostAtOnce = 0;
    const handled: string[] = [];
    const stop = new AbortController();
    const loop = runWorkers({
      queue,
      workers: 4,
      signal: stop.signal,
      handle: async (key) => {
        running.set(key, (running.get(key) ?? 0) + 1);
        mostPerKey = Math.max(mostPerKey, running.get(key) ?? 0);
        mostAtOnce = Math.max(
          mostAtOnce,
          [...running.values()].reduce((a, b) => a + b, 0),
        );
        // Added again while in hand: worked again after, never beside itself.
        if (handled.filter((k) => k === key).length === 0) queue.add(key);
        await settle();
        handled.push(key);
        running.set(key, (running.get(key) ?? 0) - 1);
        return { kind: 'done' };
      },
    });
    for (const key of ['a', 'b', 'a', 'c', 'b']) queue.add(key);
    while (handled.length < 6) await settle();
    stop.abort();
    await loop;
    expect(mostPerKey).toBe(1);
    expect(mostAtOnce).toBe(3);
    expect(handled.sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
  });

  it('stops the workers when the signal aborts: the key in hand finishes, its error is not retried', async () => {
    const queue = new WorkQueue();
    const stop = new AbortController();
    let inHand: AbortSignal | undefined;
    const handled: string[] = [];
    const loop = runWorkers({
      queue,
      workers: 2,
      signal: stop.signal,
      handle: async (key, signal) => {
        handled.push(key);
        inHand = signal;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        throw new Error('cancelled');
      },
    });
    queue.add('a');
    await settle();
    expect(inHand?.aborted).toBe(false);
    stop.abort();
    await loop;
    expect(inHand?.aborted).toBe(true);
    queue.add('b');
    expect(handled).toEqual(['a']);
    expect(queue.numRequeues('a')).toBe(0);
    expect(queue.shuttingDown).toBe(true);
  });

  it('starts no work on an aborted signal', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    const handled: string[] = [];
    await runWorkers({
      queue,
      workers: 2,
      signal: AbortSignal.abort(),
      handle: async (key) => {
        handled.push(key);
        return { kind: 'done' };
      },
    });
    expect(handled).toEqual([]);
  });
});

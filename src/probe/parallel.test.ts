import { loadavg } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ResultQueue } from './input-order.ts';
import type { ProbeResult, ProbeTarget } from './outcome.ts';
import {
  busyElsewhere,
  MAX_THREADS,
  MIN_TARGETS,
  planShares,
  runQueueOf,
  runShare,
  type ShareProbe,
  splitBound,
  taskRunnable,
  threadsFor,
} from './parallel.ts';

const targets = (n: number): ProbeTarget[] =>
  Array.from({ length: n }, (_, i) => ({ ip: `127.0.${i >> 8}.${i & 255}`, port: 1000 + i }));

describe('threadsFor', () => {
  it('keeps runs below the measured threshold in one thread', () => {
    expect(threadsFor(MIN_TARGETS - 1, 4096, undefined, 8, 0)).toBe(1);
    expect(threadsFor(MIN_TARGETS, 4096, undefined, 2, 0)).toBe(2);
  });
  it('adds a thread per core that neither this thread nor a whole core of other work uses', () => {
    expect(threadsFor(MIN_TARGETS, 4096, undefined, 2, 0)).toBe(2);
    expect(threadsFor(MIN_TARGETS, 4096, undefined, 2, 0.7)).toBe(2);
    expect(threadsFor(MIN_TARGETS, 4096, undefined, 2, 1)).toBe(1);
    expect(threadsFor(MIN_TARGETS, 4096, undefined, 2, 20)).toBe(1);
    expect(threadsFor(MIN_TARGETS, 4096, undefined, 8, 5.5)).toBe(3);
    expect(threadsFor(MIN_TARGETS, 4096, undefined, 8, 3)).toBe(MAX_THREADS);
  });
  it('counts other work that shows both now (tasks runnable but not this process’s) and over the minute', () => {
    expect(runQueueOf('0.52 0.58 0.59 3/213 4123\n')).toEqual({ load: 0.52, runnable: 3 });
    expect(runQueueOf('garbage')).toBeUndefined();
    expect(taskRunnable('4123 (node) R 1 4123 4123 0 -1')).toBe(true);
    expect(taskRunnable('4124 (V8 Worker) S 1 4123')).toBe(false);
    expect(taskRunnable('4125 (a) R (b)) S 1')).toBe(false);
    const reads = ['9.1 9.0 8.0 4/300 1', '9.1 9.0 8.0 3/300 2', '9.1 9.0 8.0 5/300 3'];
    const own = [1, 2, 1];
    // The quietest read: 3 runnable, 2 of them this process's threads: one core of other work now.
    expect(busyElsewhere({ loadavg: () => reads.shift() ?? '', own: () => own.shift() ?? 0 })).toBe(1);
    // Two other tasks at this instant, but a quiet minute: a moment's work, not a busy machine.
    expect(busyElsewhere({ loadavg: () => '0.20 0.30 0.30 3/90 7', own: () => 1 })).toBe(0.2);
    // A busy minute that has ended: nothing runs now.
    expect(busyElsewhere({ loadavg: () => '1.30 0.90 0.50 2/90 7', own: () => 2 })).toBe(0);
    // No /proc: the load average.
    const missing = () => {
      throw new Error('ENOENT');
    };
    expect(busyElsewhere({ loadavg: missing, own: missing })).toBe(loadavg()[0]);
    // On this machine: a number of cores' worth, never negative.
    expect(busyElsewhere()).toBeGreaterThanOrEqual(0);
  });
  it('uses the cores up to MAX_THREADS, never more threads than slots or targets', () => {
    expect(threadsFor(MIN_TARGETS, 4096, undefined, 64, 0)).toBe(MAX_THREADS);
    expect(threadsFor(MIN_TARGETS, 3, undefined, 64, 0)).toBe(Math.min(3, MAX_THREADS));
    expect(threadsFor(3, 100, 8, 64, 50)).toBe(3);
    expect(threadsFor(10, 100, 1, 64, 0)).toBe(1);
  });
});

describe('splitBound', () => {
  it('shares one bound out whole, no share empty', () => {
    for (const [bound, threads] of [
      [4096, 2],
      [7, 3],
      [3, 3],
      [256, 4],
      [5, 4],
    ] as const) {
      const shares = splitBound(bound, threads);
      expect(shares).toHaveLength(threads);
      expect(shares.reduce((a, b) => a + b, 0)).toBe(bound);
      expect(Math.min(...shares)).toBeGreaterThanOrEqual(1);
      expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
    }
  });
});

describe('planShares', () => {
  it('pools every target at its position for all shares to take from (each thread checks what it takes)', () => {
    const list = targets(11);
    list[2] = { ip: 'not-an-ip', port: 80 };
    const shares = planShares(list, { timeoutMs: 500, concurrency: 10 }, 3);
    expect(shares.map((s) => s.concurrency)).toEqual([4, 3, 3]);
    const [first] = shares;
    // One pool and one counter, the same for every share.
    for (const share of shares) {
      expect(share.pool).toBe(first?.pool);
      expect(share.next).toBe(first?.next);
      expect(share.timeoutMs).toBe(500);
    }
    expect(first?.pool.ips).toEqual(list.map((t) => t.ip));
    expect(first?.pool.ports).toEqual(list.map((t) => t.port));
  });

  it("carries a target's own deadline, and plans no more shares than targets", () => {
    const list: ProbeTarget[] = [
      { ip: '127.0.0.1', port: 1, timeoutMs: 50 },
      { ip: '127.0.0.1', port: 2 },
    ];
    const shares = planShares(list, { timeoutMs: 500, concurrency: 4 }, 3);
    expect(shares).toHaveLength(2);
    expect(shares[0]?.pool.timeouts).toEqual([50, null]);
    expect(planShares([], { timeoutMs: 500 }, 2)).toEqual([]);
  });
});

describe('runShare and the merge', () => {
  /** A stand-in probe result: by the target's port. */
  const answer = <T extends ProbeTarget>(target: T): ProbeResult<T> =>
    target.port % 2 === 0
      ? { target, latencyMs: target.port, outcome: 'open' }
      : { target, latencyMs: target.port, outcome: 'refused', errno: 'ECONNREFUSED' };
  /** A one-thread probe stand-in: takes one target per turn, as the engine does when a slot frees up. */
  const oneByOne =
    (took: () => void): ShareProbe =>
    async (list, _options, deliver) => {
      for (let k = list.take(); k >= 0; k = list.take()) {
        took();
        deliver(k, answer(list.at(k)));
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
  /** Takes every target left, then answers them in reverse order. */
  const reversed: ShareProbe = async (list, _options, deliver) => {
    const taken: number[] = [];
    for (let k = list.take(); k >= 0; k = list.take()) taken.push(k);
    for (const k of taken.reverse()) deliver(k, answer(list.at(k)));
  };

  it('delivers every target once, under its index in the whole run, the shares taking from one pool', async () => {
    const list = targets(9);
    const shares = planShares(list, { timeoutMs: 500, concurrency: 8 }, 2);
    const delivered: [number, ProbeResult][] = [];
    const byShare: number[] = [];
    // Both shares at once: each takes from the pool while the other waits on its probes.
    await Promise.all(
      shares.map((share, s) =>
        runShare(
          share,
          oneByOne(() => byShare.push(s)),
          (k) => list[k] as ProbeTarget,
          (i, r) => delivered.push([i, r]),
          new AbortController().signal,
        ),
      ),
    );
    expect(delivered.map(([i]) => i).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // Both took some of the pool.
    expect(new Set(byShare)).toEqual(new Set([0, 1]));
    // Each result is about the target at its index: the caller's own object.
    for (const [i, r] of delivered) expect(r.target).toBe(list[i]);
  });

  it('merges shares that end in any interleaving into input order, or passes them on as they end', async () => {
    const list = targets(10);
    for (const order of ['input', 'completion'] as const) {
      const queue = new ResultQueue<ProbeResult>(order);
      const shares = planShares(list, { timeoutMs: 500, concurrency: 3 }, 3);
      const arrivals: number[] = [];
      for (const share of [...shares].reverse()) {
        await runShare(
          share,
          reversed,
          (k) => ({ ip: share.pool.ips[k] as string, port: share.pool.ports[k] as number }),
          (i, { target: _, ...rest }) => {
            arrivals.push(i);
            queue.push(i, { target: list[i], ...rest } as ProbeResult);
          },
          new AbortController().signal,
        );
      }
      const out = queue.take();
      expect(out).toHaveLength(list.length);
      // The caller's own target objects come back, not copies.
      for (const r of out) expect(list).toContain(r.target);
      const got = out.map((r) => list.indexOf(r.target));
      expect(got).toEqual(order === 'input' ? list.map((_, i) => i) : arrivals);
      expect(out.map((r) => r.outcome)).toEqual(
        got.map((i) => ((list[i]?.port ?? 0) % 2 === 0 ? 'open' : 'refused')),
      );
    }
  });
});

import { describe, expect, it } from 'vitest';
import { SharedTargets } from './shared-targets.ts';

/** `takers` views of one pool of `n` targets, as each thread of a run has its own. */
const views = (n: number, takers: number) => {
  const counter = SharedTargets.counter();
  return Array.from({ length: takers }, () => new SharedTargets(counter, n, (k) => `t${k}`));
};

describe('SharedTargets', () => {
  it('gives every target to exactly one taker, whatever the interleaving', () => {
    // A fixed pseudo-random order of turns, so a failure can be replayed.
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const [n, takers] of [
      [1, 3],
      [10, 2],
      [97, 4],
      [1000, 3],
    ] as const) {
      const all = views(n, takers);
      const got: number[][] = all.map(() => []);
      let ended = 0;
      const over = new Set<number>();
      while (ended < takers) {
        const who = Math.floor(random() * takers);
        if (over.has(who)) continue;
        const k = (all[who] as SharedTargets<string>).take();
        if (k < 0) {
          over.add(who);
          ended++;
        } else got[who]?.push(k);
      }
      const taken = got.flat().sort((a, b) => a - b);
      expect(taken).toEqual(Array.from({ length: n }, (_, k) => k));
    }
  });

  it('leaves nothing to a taker that starts after the others took everything', () => {
    const [early, late] = views(5, 2) as [SharedTargets<string>, SharedTargets<string>];
    expect([...early]).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect([...late]).toEqual([]);
    expect(late.take()).toBe(-1);
  });

  it('keeps saying -1 after the end, however often it is asked (the counter does not wrap)', () => {
    const counter = SharedTargets.counter();
    const one = new SharedTargets(counter, 2, (k) => `t${k}`);
    expect([one.take(), one.take()]).toEqual([0, 1]);
    for (let i = 0; i < 10_000; i++) expect(one.take()).toBe(-1);
    // Asking after the end moves the counter no further: it could not reach 2^31 and wrap to a
    // position that is taken again.
    expect(new Int32Array(counter)[0]).toBe(2);
    expect(one.at(1)).toBe('t1');
  });

  it('shares its counter with a worker thread, not a copy of it', async () => {
    const { Worker } = await import('node:worker_threads');
    const counter = SharedTargets.counter();
    const here = new SharedTargets(counter, 100, (k) => k);
    expect(here.take()).toBe(0);
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const next = new Int32Array(workerData);
       parentPort.postMessage(Atomics.add(next, 0, 1));`,
      { eval: true, workerData: counter },
    );
    const taken = await new Promise((resolve) => worker.once('message', resolve));
    await worker.terminate();
    expect(taken).toBe(1);
    expect(here.take()).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import { mapBounded } from './pool.ts';

/** A call that finishes when the test says so, to control the order in which work completes. */
function gate<T>() {
  let open!: (value: T) => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('mapBounded', () => {
  it('never has more than the limit in flight, and uses all of it', async () => {
    let inFlight = 0;
    let most = 0;
    await mapBounded(
      Array.from({ length: 50 }, (_, i) => i),
      4,
      async (i) => {
        inFlight++;
        most = Math.max(most, inFlight);
        for (let k = 0; k < i % 3; k++) await turn();
        inFlight--;
      },
    );
    expect(most).toBe(4);
    expect(inFlight).toBe(0);
  });

  it('answers in input order when the work finishes in another order', async () => {
    const gates = [gate<string>(), gate<string>(), gate<string>()];
    const done = mapBounded(['a', 'b', 'c'], 3, (_item, i) => gates[i]!.promise);
    gates[2]!.open('C');
    await turn();
    gates[0]!.open('A');
    await turn();
    gates[1]!.open('B');
    expect(await done).toEqual(['A', 'B', 'C']);
  });

  it('passes each item with its index, each exactly once', async () => {
    const seen: string[] = [];
    const out = await mapBounded(['x', 'y', 'z', 'w'], 2, async (item, i) => {
      seen.push(`${i}${item}`);
      return item.toUpperCase();
    });
    expect(out).toEqual(['X', 'Y', 'Z', 'W']);
    expect(seen.sort()).toEqual(['0x', '1y', '2z', '3w']);
  });

  it('rejects with the first error and starts nothing after it', async () => {
    const started: number[] = [];
    const boom = new Error('boom');
    const run = mapBounded([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      await turn();
      if (i === 1) throw boom;
      return i;
    });
    await expect(run).rejects.toBe(boom);
    await turn();
    await turn();
    // 0 and 1 start together; 0 finishes and its lane takes 2; then 1 fails: 3, 4, 5 never start.
    expect(started).toEqual([0, 1, 2]);
  });

  it('does nothing for no items', async () => {
    let calls = 0;
    expect(
      await mapBounded([], 3, async () => {
        calls++;
      }),
    ).toEqual([]);
    expect(calls).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a limit of %s', async (limit) => {
    await expect(mapBounded([1], limit, async (x) => x)).rejects.toThrow(RangeError);
  });
});

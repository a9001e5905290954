import { describe, expect, it } from 'vitest';
import { ProbeSlots, type SlotFeed } from './slots.ts';

/** Feeds of named probes that record when they start; `holding` is what holds a slot now. */
function harness(limit: number, burst?: number) {
  const slots = new ProbeSlots(limit, burst);
  const started: string[] = [];
  const holding = new Map<string, SlotFeed>();
  let most = 0;
  const feed = (namespace: string | undefined, ...names: string[]): SlotFeed => {
    const f: SlotFeed = {
      namespace,
      startNext() {
        const name = names.shift() ?? '';
        started.push(name);
        holding.set(name, f);
        most = Math.max(most, holding.size);
        return names.length > 0;
      },
    };
    slots.add(f);
    return f;
  };
  const release = (name: string) => {
    const f = holding.get(name);
    if (!f) throw new Error(`${name} holds no slot`);
    holding.delete(name);
    slots.release(f);
  };
  /** Ends the probe that has held its slot longest. */
  const releaseOldest = () => release([...holding.keys()][0] ?? '');
  return { slots, started, holding, feed, release, releaseOldest, most: () => most };
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('ProbeSlots', () => {
  it('never starts more than the bound, whoever asks, and starts the next as one ends', () => {
    const h = harness(3);
    h.feed(undefined, ...names('a', 5));
    h.feed('ns', ...names('b', 5));
    expect(h.slots.inFlight).toBe(3);
    expect(h.started).toEqual(['a0', 'a1', 'a2']);
    h.release('a0');
    h.release('a1');
    expect(h.started.slice(3)).toEqual(['a3', 'b0']);
    while (h.holding.size > 0) h.releaseOldest();
    expect(h.started).toHaveLength(10);
    expect(h.most()).toBe(3);
    expect(h.slots.inFlight).toBe(0);
  });

  it('lets one namespace hold at most half the bound (rounded up) while others may come', () => {
    const h = harness(4);
    h.feed('slow', ...names('s', 6));
    expect(h.started).toEqual(['s0', 's1']);
    h.feed('fast', ...names('f', 3));
    expect(h.started).toEqual(['s0', 's1', 'f0', 'f1']);
    h.release('f0');
    // The slow namespace is at its cap: the freed slot goes to the fast one's next request.
    expect(h.started.at(-1)).toBe('f2');
  });

  it('takes back a slot that a feed gives back unused inside startNext, and serves the next feed with it', () => {
    const h = harness(1);
    h.feed(undefined, 'a0');
    // Fed from other threads' pool: by its turn, another thread took its last target.
    const empty: SlotFeed = {
      namespace: undefined,
      startNext() {
        h.started.push('(none)');
        h.slots.release(empty);
        return false;
      },
    };
    h.slots.add(empty);
    h.feed(undefined, 'b0');
    expect(h.started).toEqual(['a0']);
    h.release('a0');
    // The slot went to `empty` in turn, came back at once, and went on to b0 in the same pump.
    expect(h.started).toEqual(['a0', '(none)', 'b0']);
    expect(h.slots.inFlight).toBe(1);
    h.release('b0');
    expect(h.slots.inFlight).toBe(0);
  });

  it('a bound of 1 is one slot for anyone', () => {
    const h = harness(1);
    h.feed('a', 'a0');
    h.feed('b', 'b0');
    expect(h.started).toEqual(['a0']);
    h.release('a0');
    expect(h.started).toEqual(['a0', 'b0']);
  });

  it.each([
    {
      name: 'hands freed slots round-robin to the namespaces that wait',
      feeds: [
        ['a', 'a'],
        ['b', 'b'],
        ['c', 'c'],
      ],
      order: ['a0', 'b0', 'c0', 'a1', 'b1', 'c1', 'a2', 'b2', 'c2'],
    },
    {
      name: 'lets the runs of one namespace take turns',
      feeds: [
        ['a', 'p'],
        ['a', 'q'],
        ['b', 'r'],
      ],
      order: ['p0', 'r0', 'q0', 'r1', 'p1', 'r2', 'q1', 'p2', 'q2'],
    },
  ])('$name', ({ feeds, order }) => {
    // Two slots, held at first by probes of no namespace; then each slot freed goes to the next in turn.
    const h = harness(2);
    h.feed(undefined, 'x0', 'x1');
    for (const [namespace, prefix] of feeds) h.feed(namespace, ...names(prefix ?? '', 3));
    while (h.holding.size > 0) h.releaseOldest();
    expect(h.started).toEqual(['x0', 'x1', ...order]);
  });

  it('takes back a feed that has not started and frees nothing it did not hold', () => {
    const h = harness(1);
    h.feed('a', 'a0');
    const withdrawn = [h.feed('a', 'a1'), h.feed('b', 'b1')];
    h.feed('b', 'b2');
    for (const f of withdrawn) h.slots.withdraw(f);
    h.release('a0');
    expect(h.started).toEqual(['a0', 'b2']);
    expect(() => h.slots.release(withdrawn[0] as SlotFeed)).toThrow('not held');
  });

  it('starts at most a burst per event-loop turn and fills the bound over later turns', async () => {
    const h = harness(5, 2);
    h.feed(undefined, ...names('a', 9));
    expect(h.started).toEqual(['a0', 'a1']);
    // A probe that ends in the same turn frees its slot, but the burst is spent: nothing starts yet.
    h.release('a0');
    expect(h.started).toEqual(['a0', 'a1']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.started).toEqual(['a0', 'a1', 'a2', 'a3']);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    // a1…a5 hold the 5 slots: the bound, not the burst, stops it now.
    expect(h.started).toEqual(names('a', 6));
    expect(h.most()).toBe(5);
  });
});

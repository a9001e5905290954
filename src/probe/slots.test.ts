import { describe, expect, it } from 'vitest';
import { ProbeSlots, type SlotRequest } from './slots.ts';

/** Plain requests that record when they start; `holding` is what holds a slot now. */
function harness(limit: number) {
  const slots = new ProbeSlots(limit);
  const started: string[] = [];
  const holding = new Set<SlotRequest & { name: string }>();
  let most = 0;
  const request = (namespace: string | undefined, name: string) => {
    const r = {
      namespace,
      name,
      start() {
        started.push(name);
        holding.add(r);
        most = Math.max(most, holding.size);
      },
    };
    slots.enqueue(r);
    return r;
  };
  const release = (name: string) => {
    const r = [...holding].find((h) => h.name === name);
    if (!r) throw new Error(`${name} holds no slot`);
    holding.delete(r);
    slots.release(r);
  };
  return { slots, started, holding, request, release, most: () => most };
}

describe('ProbeSlots', () => {
  it('never starts more than the bound, whoever asks, and starts the next as one ends', () => {
    const h = harness(3);
    for (let i = 0; i < 5; i++) h.request(undefined, `a${i}`);
    for (let i = 0; i < 5; i++) h.request('ns', `b${i}`);
    expect(h.slots.inFlight).toBe(3);
    expect(h.started).toEqual(['a0', 'a1', 'a2']);
    h.release('a0');
    h.release('a1');
    expect(h.started.slice(3)).toEqual(['a3', 'b0']);
    while (h.holding.size > 0) h.release([...h.holding][0]?.name ?? '');
    expect(h.started).toHaveLength(10);
    expect(h.most()).toBe(3);
    expect(h.slots.inFlight).toBe(0);
  });

  it('lets one namespace hold at most half the bound (rounded up) while others may come', () => {
    const h = harness(4);
    for (let i = 0; i < 6; i++) h.request('slow', `s${i}`);
    expect(h.started).toEqual(['s0', 's1']);
    h.request('fast', 'f0');
    h.request('fast', 'f1');
    h.request('fast', 'f2');
    expect(h.started).toEqual(['s0', 's1', 'f0', 'f1']);
    h.release('f0');
    // The slow namespace is at its cap: the freed slot goes to the fast one's next request.
    expect(h.started.at(-1)).toBe('f2');
  });

  it('a bound of 1 is one slot for anyone', () => {
    const h = harness(1);
    h.request('a', 'a0');
    h.request('b', 'b0');
    expect(h.started).toEqual(['a0']);
    h.release('a0');
    expect(h.started).toEqual(['a0', 'b0']);
  });

  it('hands freed slots round-robin to the namespaces that wait', () => {
    const h = harness(2);
    h.request(undefined, 'x0');
    h.request(undefined, 'x1');
    for (let i = 0; i < 3; i++) h.request('a', `a${i}`);
    for (let i = 0; i < 3; i++) h.request('b', `b${i}`);
    for (let i = 0; i < 3; i++) h.request('c', `c${i}`);
    // Always end the probe that has held its slot longest.
    while (h.holding.size > 0) h.release([...h.holding][0]?.name ?? '');
    expect(h.started).toEqual(['x0', 'x1', 'a0', 'b0', 'c0', 'a1', 'b1', 'c1', 'a2', 'b2', 'c2']);
  });

  it('takes back waiting requests and frees nothing it did not hold', () => {
    const h = harness(1);
    h.request('a', 'a0');
    const mine = [h.request('a', 'a1'), h.request('b', 'b1')];
    h.request('b', 'b2');
    h.slots.withdraw((r) => mine.includes(r as (typeof mine)[number]));
    h.release('a0');
    expect(h.started).toEqual(['a0', 'b2']);
    expect(() => h.slots.release(mine[0] as SlotRequest)).toThrow('not held');
  });
});

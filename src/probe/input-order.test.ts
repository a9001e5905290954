import { describe, expect, it } from 'vitest';
import { InputOrder, TurnWaker } from './input-order.ts';

describe('InputOrder', () => {
  it('releases values in index order whatever order they arrive in', () => {
    const order = new InputOrder<string>();
    expect(order.push(2, 'c')).toEqual([]);
    expect(order.push(1, 'b')).toEqual([]);
    expect(order.pending).toBe(2);
    expect(order.push(0, 'a')).toEqual(['a', 'b', 'c']);
    expect(order.push(3, 'd')).toEqual(['d']);
    expect(order.pending).toBe(0);
  });
});

describe('TurnWaker', () => {
  it('wakes a waiting consumer after the turn, however often it is asked, or at once on now()', async () => {
    const waker = new TurnWaker();
    waker.later(); // nobody waits: nothing is scheduled
    let wakes = 0;
    const consumer = (async () => {
      for (let k = 0; k < 2; k++) {
        await waker.wait();
        wakes++;
      }
    })();
    for (let k = 0; k < 100; k++) waker.later();
    // Not before this turn's I/O: microtasks run first.
    for (let k = 0; k < 10; k++) await Promise.resolve();
    expect(wakes).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(wakes).toBe(1);
    waker.now();
    await consumer;
    expect(wakes).toBe(2);
  });
});

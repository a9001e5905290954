import { describe, expect, it } from 'vitest';
import { InputOrder } from './input-order.ts';

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

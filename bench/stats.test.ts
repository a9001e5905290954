import { describe, expect, it } from 'vitest';
import { MIB, median, percentile, roundTo } from './stats.ts';

describe('median', () => {
  it.each([
    { name: 'no values', values: [], want: Number.NaN },
    { name: 'one value', values: [7], want: 7 },
    { name: 'odd count, unsorted', values: [3, 1, 2], want: 2 },
    { name: 'even count: the mean of the middle two', values: [4, 1, 2, 3], want: 2.5 },
    { name: 'two values', values: [10, 20], want: 15 },
    { name: 'repeats', values: [5, 5, 1, 5], want: 5 },
  ])('$name', ({ values, want }) => {
    expect(median(values)).toBe(want);
  });

  it('leaves its input as it was', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('percentile (nearest rank)', () => {
  const twenty = Array.from({ length: 20 }, (_, i) => (20 - i) * 100); // 2000, 1900, ..., 100

  it.each([
    { name: 'no values', values: [], p: 50, want: Number.NaN },
    { name: 'one value, p50', values: [42], p: 50, want: 42 },
    { name: 'one value, p99', values: [42], p: 99, want: 42 },
    { name: 'even count, p50: the lower middle, not a mean', values: [4, 1, 2, 3], p: 50, want: 2 },
    { name: 'odd count, p50: the middle', values: [9, 1, 5], p: 50, want: 5 },
    { name: 'p99 of 20 samples: the largest', values: twenty, p: 99, want: 2000 },
    { name: 'p95 of 20 samples: the 19th', values: twenty, p: 95, want: 1900 },
    { name: 'p50 of 20 samples: the 10th', values: twenty, p: 50, want: 1000 },
    { name: 'p0: the smallest', values: [3, 1, 2], p: 0, want: 1 },
    { name: 'p100: the largest', values: [3, 1, 2], p: 100, want: 3 },
  ])('$name', ({ values, p, want }) => {
    expect(percentile(values, p)).toBe(want);
  });

  it('sorts numerically, not as strings', () => {
    expect(percentile([10, 9, 100], 50)).toBe(10);
  });

  it.each([-1, 101, Number.NaN])('refuses percentile %s', (p) => {
    expect(() => percentile([1], p)).toThrow(RangeError);
  });
});

describe('roundTo and MIB', () => {
  it('rounds to the given decimals', () => {
    expect(roundTo(12.345, 1)).toBe(12.3);
    expect(roundTo(12.35, 0)).toBe(12);
    expect(roundTo(0.25, 1)).toBe(0.3);
    expect(roundTo((150 * MIB + MIB / 4) / MIB, 1)).toBe(150.3);
  });
});

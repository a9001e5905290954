import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay, jittered, TokenBucket } from './backoff.ts';

function manualClock(start = 0) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap', () => {
    const opts = { baseMs: 5, maxMs: 1_000_000 };
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, opts))).toEqual([5, 10, 20, 40]);
    expect(backoffDelay(30, opts)).toBe(1_000_000);
    expect(backoffDelay(10_000, opts)).toBe(1_000_000);
  });

  it('adds jitter as a fraction of the delay', () => {
    expect(jittered(100, 0.5, () => 1)).toBe(150);
    expect(jittered(100, 0.5, () => 0)).toBe(100);
    expect(backoffDelay(1, { baseMs: 10, maxMs: 100, jitter: 1 }, () => 0.5)).toBe(30);
  });
});

describe('Backoff', () => {
  it('advances per failure, resets on success, and lets Retry-After raise the delay', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000 }, () => 0);
    expect(b.next()).toBe(100);
    expect(b.next()).toBe(200);
    expect(b.next(5000)).toBe(5000);
    expect(b.next(10)).toBe(800);
    expect(b.attempts).toBe(4);
    b.reset();
    expect(b.next()).toBe(100);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then refills at qps', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ qps: 2, burst: 3 }, clock);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    clock.advance(499);
    expect(bucket.tryTake()).toBe(false);
    clock.advance(1);
    expect(bucket.tryTake()).toBe(true);
    clock.advance(60_000);
    expect(bucket.available()).toBe(3);
  });

  it('reserve goes into debt and reports the wait', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ qps: 10, burst: 2 }, clock);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBeCloseTo(100);
    expect(bucket.reserve()).toBeCloseTo(200);
    clock.advance(200);
    expect(bucket.reserve()).toBeCloseTo(100);
  });

  it('rejects a bucket that could never give a token', () => {
    expect(() => new TokenBucket({ qps: 0, burst: 1 }, manualClock())).toThrow(RangeError);
  });
});

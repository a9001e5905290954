import { describe, expect, it } from 'vitest';
import { DeadlineSweep } from './deadlines.ts';
import { FakeClock } from './fake-clock.ts';

function recorder(clock: FakeClock, log: string[], name: string) {
  return { expire: () => log.push(`${name}@${clock.now()}`) };
}

describe('DeadlineSweep', () => {
  it('expires each entry once, at its deadline, with one timer for many entries', () => {
    const clock = new FakeClock();
    const sweep = new DeadlineSweep(clock);
    const log: string[] = [];
    sweep.add(100, recorder(clock, log, 'a'));
    clock.advance(10);
    sweep.add(100, recorder(clock, log, 'b'));
    sweep.add(30, recorder(clock, log, 'c'));
    expect(clock.timers).toBe(1);
    clock.advance(200);
    expect(log).toEqual(['c@40', 'a@100', 'b@110']);
  });

  it('does not expire a cancelled entry', () => {
    const clock = new FakeClock();
    const sweep = new DeadlineSweep(clock);
    const log: string[] = [];
    const a = sweep.add(50, recorder(clock, log, 'a'));
    sweep.add(60, recorder(clock, log, 'b'));
    sweep.cancel(a);
    clock.advance(100);
    expect(log).toEqual(['b@60']);
  });

  it('lets an entry answered while its expiry waits for pending I/O escape the deadline', () => {
    const clock = new FakeClock();
    const sweep = new DeadlineSweep(clock);
    const log: string[] = [];
    const a = sweep.add(50, recorder(clock, log, 'a'));
    // Fire the timer but hold the deferred expiry, as if I/O were still pending.
    const deferred: (() => void)[] = [];
    clock.afterPendingIO = (callback) => deferred.push(callback);
    clock.advance(50);
    sweep.cancel(a);
    for (const run of deferred) run();
    expect(log).toEqual([]);
  });

  it('fires nothing after close', () => {
    const clock = new FakeClock();
    const sweep = new DeadlineSweep(clock);
    const log: string[] = [];
    sweep.add(10, recorder(clock, log, 'a'));
    sweep.close();
    clock.advance(100);
    expect(log).toEqual([]);
    expect(clock.timers).toBe(0);
  });

  it('keeps up with many entries added as others expire', () => {
    const clock = new FakeClock();
    const sweep = new DeadlineSweep(clock);
    let expired = 0;
    for (let i = 0; i < 10_000; i++) {
      sweep.add(1000, { expire: () => expired++ });
      if (i % 100 === 0) clock.advance(1);
    }
    clock.advance(2000);
    expect(expired).toBe(10_000);
    expect(clock.timers).toBe(0);
  });

  it('expires the right entries when cancels arrive in and out of order (heads are dropped at once)', () => {
    const clock = new FakeClock();
    const sweep = new DeadlineSweep(clock);
    const log: string[] = [];
    const entries = ['a', 'b', 'c', 'd', 'e'].map((name) => {
      clock.advance(1);
      return sweep.add(100, recorder(clock, log, name));
    });
    // b before a (a is the head then), then a (drops a and b), then d behind the live c.
    sweep.cancel(entries[1]!);
    sweep.cancel(entries[0]!);
    sweep.cancel(entries[3]!);
    clock.advance(200);
    expect(log).toEqual(['c@103', 'e@105']);
    sweep.cancel(entries[2]!);
    expect(clock.timers).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { Term } from './term.ts';

describe('Term', () => {
  it('holds until its expiry on the clock, moved on by each renewal, and never after end()', () => {
    let now = 0;
    const term = new Term({ clock: { now: () => now }, expiresAt: 100 });
    expect(term.holds()).toBe(true);
    now = 100;
    expect(term.holds()).toBe(false);
    term.extend(200);
    expect(term.holds()).toBe(true);
    term.extend(150);
    expect(term.expiresAt).toBe(200);
    term.end();
    expect(term.holds()).toBe(false);
    expect(term.signal.aborted).toBe(true);
    term.extend(1_000);
    expect(term.holds()).toBe(false);
  });

  it('without an expiry holds until end()', () => {
    const term = new Term();
    expect(term.holds()).toBe(true);
    term.end();
    expect(term.holds()).toBe(false);
  });
});

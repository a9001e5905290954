import { describe, expect, it } from 'vitest';
import type { Outcome } from '../probe/outcome.ts';
import { combineConnects, expandConnects, LB_CONNECTS } from './connects.ts';

describe('combineConnects: several connects to one address, one verdict', () => {
  const cases: readonly [string, readonly Outcome[], ReturnType<typeof combineConnects>][] = [
    ['no connect: no verdict', [], undefined],
    ['one connect: its outcome', ['timeout'], { outcome: 'timeout', failed: 1, total: 1 }],
    ['every connect answers: open', ['open', 'open', 'open'], { outcome: 'open', failed: 0, total: 3 }],
    [
      // Round robin over three nodes, one of them forwarding: the flap the single probe had.
      'one connect of three answers: failing, 2 of 3',
      ['open', 'timeout', 'timeout'],
      { outcome: 'timeout', failed: 2, total: 3 },
    ],
    [
      'one connect of three fails: failing, 1 of 3 (that share of users fail)',
      ['open', 'refused', 'open'],
      { outcome: 'refused', failed: 1, total: 3 },
    ],
    [
      'every connect fails: the failure',
      ['refused', 'refused', 'refused'],
      { outcome: 'refused', failed: 3, total: 3 },
    ],
    [
      'mixed failures: the most frequent one',
      ['refused', 'timeout', 'timeout'],
      { outcome: 'timeout', failed: 3, total: 3 },
    ],
    ['a tie goes to refused', ['timeout', 'refused', 'open'], { outcome: 'refused', failed: 2, total: 3 }],
    [
      "the prober's own errors count for nothing",
      ['error', 'open', 'open'],
      { outcome: 'open', failed: 0, total: 2 },
    ],
    ['only errors: error', ['error', 'error'], { outcome: 'error', failed: 0, total: 0 }],
  ];
  it.each(cases)('%s', (_, outcomes, expected) => {
    expect(combineConnects(outcomes)).toEqual(expected);
  });
});

describe('expandConnects', () => {
  it('dials each target as many times as it asks, in order', () => {
    const targets: { ip: string; connects?: number }[] = [
      { ip: 'a' },
      { ip: 'lb', connects: LB_CONNECTS },
      { ip: 'b', connects: 1 },
    ];
    expect(expandConnects(targets).map((t) => t.ip)).toEqual(['a', 'lb', 'lb', 'lb', 'b']);
  });
});

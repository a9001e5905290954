import { describe, expect, it } from 'vitest';
import { OUTCOMES, type Outcome } from '../probe/outcome.ts';
import { combineConnects, expandConnects, LB_CONNECTS } from './connects.ts';

describe('combineConnects: several connects to one address, one verdict', () => {
  /** Outcomes of the connects, space-separated; the verdict as `outcome failed/total`. */
  const cases: readonly [string, string, string | undefined][] = [
    ['no connect: no verdict', '', undefined],
    ['one connect: its outcome', 'timeout', 'timeout 1/1'],
    ['every connect answers: open', 'open open open', 'open 0/3'],
    // Round robin over three nodes, one of them forwarding: the flap the single probe had.
    ['one connect of three answers: failing, 2 of 3', 'open timeout timeout', 'timeout 2/3'],
    [
      'one connect of three fails: failing, 1 of 3 (that share of users fail)',
      'open refused open',
      'refused 1/3',
    ],
    ['every connect fails: the failure', 'refused refused refused', 'refused 3/3'],
    ['mixed failures: the most frequent one', 'refused timeout timeout', 'timeout 3/3'],
    ['a tie goes to refused', 'timeout refused open', 'refused 2/3'],
    ["the prober's own errors count for nothing", 'error open open', 'open 0/2'],
    ['only errors: error', 'error error', 'error 0/0'],
  ];
  const outcomes = (s: string): Outcome[] =>
    s
      .split(' ')
      .filter(Boolean)
      .map((o) => {
        if (!(OUTCOMES as readonly string[]).includes(o)) throw new Error(`not an outcome: ${o}`);
        return o as Outcome;
      });
  const verdict = (s: string) => {
    const [outcome, failed, total] = s.split(/[ /]/);
    return { outcome, failed: Number(failed), total: Number(total) };
  };
  it.each(cases)('%s', (_, connects, expected) => {
    expect(combineConnects(outcomes(connects))).toEqual(
      expected === undefined ? undefined : verdict(expected),
    );
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

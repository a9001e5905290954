import { describe, expect, it } from 'vitest';
import { byText } from './order.ts';

describe('byText', () => {
  it('orders by code unit, as kubectl and Go do, whatever the locale says', () => {
    // localeCompare puts 'api' before 'Web' and 'web-a' after 'web1'; code units do not.
    expect(['web1', 'api', 'Web', 'web-a', 'web'].sort(byText)).toEqual([
      'Web',
      'api',
      'web',
      'web-a',
      'web1',
    ]);
  });

  it('gives 0 for equal texts, and the sign flips with the arguments', () => {
    expect(byText('pod', 'pod')).toBe(0);
    expect(byText('a', 'b')).toBe(-1);
    expect(byText('b', 'a')).toBe(1);
  });
});

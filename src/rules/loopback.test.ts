import { describe, expect, it } from 'vitest';
import { loopbackResultsOf } from './loopback.ts';

describe('loopbackResultsOf (the operator’s fold-in)', () => {
  it('turns the annotation into loopback results, skipping what is not a port', () => {
    expect(
      loopbackResultsOf({
        namespace: 'shop',
        name: 'web-1',
        annotations: { 'sockeye.dev/loopback-only': '8080, x,70000,9090,8080' },
      }),
    ).toEqual([
      { namespace: 'shop', pod: 'web-1', port: 8080, outcome: 'open' },
      { namespace: 'shop', pod: 'web-1', port: 9090, outcome: 'open' },
    ]);
    expect(loopbackResultsOf({ namespace: 'shop', name: 'web-1' })).toEqual([]);
  });
});

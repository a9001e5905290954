import { describe, expect, it } from 'vitest';
import { readyInEndpoints, readyInSlices } from './endpoints-count.ts';

describe('ready addresses per Service', () => {
  it('sums the not-unready endpoints of every slice of a Service', () => {
    const slice = (ns: string, svc: string, ready: (boolean | undefined)[]) => ({
      metadata: { namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
      endpoints: ready.map((r) => ({ conditions: r === undefined ? {} : { ready: r } })),
    });
    const counts = readyInSlices([
      slice('a', 'web', [true, false]),
      slice('a', 'web', [undefined]),
      slice('b', 'web', []),
    ]);
    expect(counts).toEqual(
      new Map([
        ['a/web', 2],
        ['b/web', 0],
      ]),
    );
  });

  it('counts the addresses of every subset of a v1 Endpoints, not its notReadyAddresses', () => {
    const counts = readyInEndpoints([
      { metadata: { namespace: 'a', name: 'web' }, subsets: [{ addresses: [1, 2] }, { addresses: [3] }] },
      { metadata: { namespace: 'a', name: 'idle' }, subsets: [{}] },
    ]);
    expect(counts).toEqual(
      new Map([
        ['a/web', 3],
        ['a/idle', 0],
      ]),
    );
  });
});

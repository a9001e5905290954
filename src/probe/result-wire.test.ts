import { describe, expect, it } from 'vitest';
import type { ProbeResult, ProbeTarget } from './outcome.ts';
import { ResultDecoder, ResultEncoder } from './result-wire.ts';

const targets: ProbeTarget[] = Array.from({ length: 6 }, (_, i) => ({
  ip: `127.0.0.${i + 1}`,
  port: 80 + i,
}));
const t = (i: number) => targets[i] as ProbeTarget;

/** One result of every shape the engine gives, in the key order it gives them. */
const results: [number, ProbeResult][] = [
  [0, { target: t(0), latencyMs: 0.25, outcome: 'open' }],
  [1, { target: t(1), latencyMs: 0.5, outcome: 'refused', errno: 'ECONNREFUSED' }],
  [2, { target: t(2), latencyMs: 1000, outcome: 'timeout' }],
  [3, { target: t(3), latencyMs: 3, outcome: 'unreachable', errno: 'EHOSTUNREACH' }],
  [4, { target: t(4), latencyMs: 0, outcome: 'error', errno: 'EMFILE', cause: 'too many open files' }],
  [
    5,
    {
      target: t(5),
      latencyMs: 2,
      outcome: 'open',
      app: { kind: 'http', ok: false, status: 503, detail: 'HTTP 503' },
    },
  ],
];

describe('results crossing between threads', () => {
  it('come back equal, keys in the same order, about the caller’s own target objects', () => {
    const encoder = new ResultEncoder();
    for (const [i, r] of results) encoder.add(i, r);
    expect(encoder.size).toBe(results.length);
    // What crosses is plain data: a structured clone, as postMessage makes.
    const batch = structuredClone(encoder.take());
    expect(encoder.size).toBe(0);
    const out: [number, ProbeResult][] = [];
    new ResultDecoder().read(batch, t, (i, r) => out.push([i, r]));
    expect(out).toEqual(results);
    for (const [k, [i, r]] of out.entries()) {
      expect(r.target).toBe(targets[i]);
      expect(Object.keys(r)).toEqual(Object.keys(results[k]?.[1] ?? {}));
    }
  });

  it('sends a shape shared by many results once, and every result with a cause or check of its own', () => {
    const encoder = new ResultEncoder();
    const decoder = new ResultDecoder();
    const out: ProbeResult[] = [];
    const refused = (i: number, latencyMs: number): ProbeResult => ({
      target: t(i),
      latencyMs,
      outcome: 'refused',
      errno: 'ECONNREFUSED',
    });
    encoder.add(1, refused(1, 1));
    encoder.add(2, refused(2, 2));
    const first = encoder.take();
    expect(first.shapes).toHaveLength(1);
    encoder.add(3, refused(3, 3));
    encoder.add(4, { target: t(4), latencyMs: 0, outcome: 'error', cause: 'a' });
    encoder.add(5, { target: t(5), latencyMs: 0, outcome: 'error', cause: 'a' });
    const second = encoder.take();
    // refused is known already; each error with a cause brings its own.
    expect(second.shapes).toHaveLength(2);
    for (const batch of [first, second]) decoder.read(structuredClone(batch), t, (_, r) => out.push(r));
    expect(out.map((r) => [r.latencyMs, r.outcome])).toEqual([
      [1, 'refused'],
      [2, 'refused'],
      [3, 'refused'],
      [0, 'error'],
      [0, 'error'],
    ]);
    expect(out[2]).toEqual(refused(3, 3));
  });
});

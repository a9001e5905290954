import { describe, expect, it } from 'vitest';
import { observation } from './observation.ts';

describe('observation', () => {
  const target = { ip: '198.18.0.1', port: 31000, namespace: 'shop' };
  it('keeps the address and the outcome, and an HTTP check status', () => {
    expect(
      observation({
        target,
        latencyMs: 1,
        outcome: 'open',
        app: { kind: 'http', ok: false, status: 503, detail: 'HTTP 503' },
      }),
    ).toEqual({
      target: { ip: '198.18.0.1', port: 31000 },
      outcome: 'open',
      app: { kind: 'http', status: 503 },
    });
  });
  it('drops everything else (a TLS check, errno, latency)', () => {
    expect(
      observation({
        target,
        latencyMs: 1,
        outcome: 'open',
        app: { kind: 'tls', ok: true, detail: 'TLSv1.3' },
      }),
    ).toEqual({ target: { ip: '198.18.0.1', port: 31000 }, outcome: 'open' });
    expect(observation({ target, latencyMs: 1, outcome: 'refused', errno: 'ECONNREFUSED' })).toEqual({
      target: { ip: '198.18.0.1', port: 31000 },
      outcome: 'refused',
    });
  });
});

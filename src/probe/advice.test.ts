import { describe, expect, it } from 'vitest';
import { adviceFor } from './advice.ts';
import { OUTCOMES, type ProbeResult } from './outcome.ts';

const target = { ip: '10.1.2.3', port: 8080 };

describe('adviceFor', () => {
  it.each([
    [
      { target, latencyMs: 1, outcome: 'refused', errno: 'ECONNREFUSED' },
      'nothing listens on 10.1.2.3:8080',
      'ss -ltnp',
    ],
    [{ target, latencyMs: 1, outcome: 'timeout' }, 'no answer within 2000 ms', 'NetworkPolicies'],
    [
      { target, latencyMs: 1, outcome: 'unreachable', errno: 'EHOSTUNREACH' },
      'no route to 10.1.2.3',
      'pod may be gone',
    ],
    [
      { target, latencyMs: 1, outcome: 'reset', errno: 'ECONNRESET' },
      'accepted the connection, then aborted',
      'sidecar',
    ],
    [
      { target, latencyMs: 0, outcome: 'error', cause: 'out of fds' },
      'failed on this machine: out of fds',
      'says nothing about the target',
    ],
    [{ target, latencyMs: 1, outcome: 'open' }, 'accepted', ''],
    [
      {
        target,
        latencyMs: 1,
        outcome: 'open',
        app: { kind: 'http', ok: false, status: 503, detail: 'GET / -> 503' },
      },
      'HTTP check failed: GET / -> 503',
      'logs',
    ],
  ] satisfies [ProbeResult, string, string][])('explains %j', (result, meaning, next) => {
    const advice = adviceFor(result, 2000);
    expect(advice.meaning).toContain(meaning);
    if (next === '') expect(advice.next).toBe('');
    else expect(advice.next).toContain(next);
  });

  it('has advice for every outcome', () => {
    for (const outcome of OUTCOMES) {
      const result = { target, latencyMs: 0, outcome, errno: 'E', cause: 'c' } as ProbeResult;
      expect(adviceFor(result, 1000).meaning).not.toBe('');
    }
  });
});

import { describe, expect, it } from 'vitest';
import type { Dialer, DialResult } from '../probe/dialer.ts';
import { open, refused, ScriptedDialer, tick } from '../probe/fake-dialer.ts';
import type { PlannedTarget } from '../rules/targets.ts';
import { makeProber } from './prober.ts';

function planned(namespace: string, firstPort: number, timeouts: readonly number[]): PlannedTarget[] {
  return timeouts.map((timeoutMs, i) => ({
    ip: '127.0.0.1',
    port: firstPort + i,
    family: 'IPv4',
    namespace,
    timeoutMs,
  }));
}

describe('makeProber', () => {
  it('keeps --concurrency as one bound across workers, timeouts and confirmation rounds', async () => {
    const dialer = new ScriptedDialer();
    const prober = makeProber({ confirmations: 2, concurrency: 4, dialer });
    // Eight workers at once, each a Service whose pods carry three different sockeye.dev/timeout values.
    const calls = Array.from({ length: 8 }, (_, worker) =>
      prober(planned(`ns${worker % 3}`, 1000 + worker * 10, [500, 2000, 60_000])),
    );
    let settled = false;
    const all = Promise.all(calls).finally(() => {
      settled = true;
    });
    for (let round = 0; !settled && round < 1000; round++) {
      await tick();
      expect(dialer.waiting.size).toBeLessThanOrEqual(4);
      for (const key of dialer.waiting.keys()) dialer.answer(key, refused);
    }
    const observations = await all;
    expect(observations.flat()).toHaveLength(24);
    expect(observations.flat().every((o) => o.outcome === 'refused')).toBe(true);
    expect(dialer.maxInFlight).toBe(4);
  });
});

describe('makeProber with addresses connected to several times', () => {
  /** Answers each dial of `ip:port` with the next result of its script, on the next turn. */
  function scripted(script: Record<string, DialResult[]>): Dialer & { dials: string[] } {
    const dials: string[] = [];
    return {
      name: 'script',
      dials,
      dial(ip, port, done) {
        const key = `${ip}:${port}`;
        dials.push(key);
        const result = script[key]?.shift() ?? refused;
        setImmediate(() => done(result));
        return { abort: () => undefined };
      },
    };
  }
  const lb: PlannedTarget = {
    ip: '127.0.0.2',
    port: 80,
    family: 'IPv4',
    namespace: 'shop',
    timeoutMs: 1000,
    hop: { kind: 'load-balancer' },
    connects: 3,
  };
  const pod: PlannedTarget = {
    ip: '127.0.0.3',
    port: 8080,
    family: 'IPv4',
    namespace: 'shop',
    timeoutMs: 1000,
  };

  it('reports every connect, and confirms a partly failing address with all its connects again', async () => {
    const dialer = scripted({
      '127.0.0.2:80': [open, refused, open, refused, open, open],
      '127.0.0.3:8080': [open],
    });
    const prober = makeProber({ confirmations: 2, concurrency: 1, dialer });
    const observations = await prober([lb, pod]);
    // Round 1: the pod answers; the load balancer fails one connect of three, so round 2 makes all
    // three again, and those stand.
    expect(dialer.dials.filter((d) => d === '127.0.0.2:80')).toHaveLength(6);
    expect(observations.map((o) => `${o.target.ip}:${o.target.port} ${o.outcome}`)).toEqual([
      '127.0.0.2:80 refused',
      '127.0.0.2:80 open',
      '127.0.0.2:80 open',
      '127.0.0.3:8080 open',
    ]);
  });
});

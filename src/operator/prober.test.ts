import { describe, expect, it } from 'vitest';
import { refused, ScriptedDialer, tick } from '../probe/fake-dialer.ts';
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

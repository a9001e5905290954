import { describe, expect, it } from 'vitest';
import { probeTargets } from './engine.ts';
import { FakeClock } from './fake-clock.ts';
import { open, refused, ScriptedDialer, tick } from './fake-dialer.ts';
import type { ProbeResult, ProbeTarget } from './outcome.ts';
import { ProbeSlots } from './slots.ts';

function targets(n: number): ProbeTarget[] {
  return Array.from({ length: n }, (_, i) => ({ ip: '127.0.0.1', port: 1000 + i }));
}

async function collect(iterator: AsyncIterable<ProbeResult>, into: ProbeResult[]): Promise<void> {
  for await (const result of iterator) into.push(result);
}

describe('probeTargets pool', () => {
  it('keeps at most `concurrency` dials in flight and yields one result per target', async () => {
    const dialer = new ScriptedDialer();
    const clock = new FakeClock();
    const results: ProbeResult[] = [];
    const done = collect(
      probeTargets(targets(10), { timeoutMs: 1000, concurrency: 3, dialer, clock }),
      results,
    );
    for (let port = 1000; port < 1010; port++) {
      await tick();
      dialer.answer(`127.0.0.1:${port}`, port % 2 === 0 ? open : refused);
    }
    await done;
    expect(dialer.maxInFlight).toBe(3);
    expect(results.map((r) => r.outcome)).toEqual(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'open' : 'refused')),
    );
  });

  it('yields in completion order by default and in input order on request', async () => {
    for (const order of ['completion', 'input'] as const) {
      const dialer = new ScriptedDialer();
      const results: ProbeResult[] = [];
      const done = collect(
        probeTargets(targets(3), { timeoutMs: 1000, order, dialer, clock: new FakeClock() }),
        results,
      );
      await tick();
      dialer.answer('127.0.0.1:1002', refused);
      dialer.answer('127.0.0.1:1000', refused);
      dialer.answer('127.0.0.1:1001', refused);
      await done;
      const ports = results.map((r) => r.target.port);
      expect(ports).toEqual(order === 'input' ? [1000, 1001, 1002] : [1002, 1000, 1001]);
    }
  });

  it('turns a silent dial into a timeout at the deadline and aborts it', async () => {
    const dialer = new ScriptedDialer();
    const clock = new FakeClock();
    const results: ProbeResult[] = [];
    const done = collect(probeTargets(targets(1), { timeoutMs: 500, dialer, clock }), results);
    await tick();
    clock.advance(499);
    await tick();
    expect(results).toEqual([]);
    clock.advance(1);
    await done;
    expect(results).toEqual([
      { target: { ip: '127.0.0.1', port: 1000 }, latencyMs: 500, outcome: 'timeout' },
    ]);
    expect(dialer.aborted).toEqual(['127.0.0.1:1000']);
  });

  it('reports a local failure as error with its cause, never as a target failure', async () => {
    const dialer = new ScriptedDialer();
    const results: ProbeResult[] = [];
    const done = collect(
      probeTargets(targets(1), { timeoutMs: 500, dialer, clock: new FakeClock() }),
      results,
    );
    await tick();
    dialer.answer('127.0.0.1:1000', { kind: 'failed', errno: 'EMFILE', message: 'too many open files' });
    await done;
    expect(results[0]).toMatchObject({
      outcome: 'error',
      errno: 'EMFILE',
      cause: expect.stringContaining('file descriptors'),
    });
  });

  it('refuses host names instead of resolving them on the hot path', async () => {
    const dialer = new ScriptedDialer();
    const results: ProbeResult[] = [];
    await collect(probeTargets([{ ip: 'example.com', port: 80 }], { timeoutMs: 500, dialer }), results);
    expect(results[0]).toMatchObject({ outcome: 'error', cause: expect.stringContaining('resolve names') });
    expect(dialer.maxInFlight).toBe(0);
  });

  it('stops on abort, closes what is in flight, and throws the reason', async () => {
    const dialer = new ScriptedDialer();
    const controller = new AbortController();
    const results: ProbeResult[] = [];
    const done = collect(
      probeTargets(targets(5), {
        timeoutMs: 500,
        concurrency: 2,
        signal: controller.signal,
        dialer,
        clock: new FakeClock(),
      }),
      results,
    );
    await tick();
    dialer.answer('127.0.0.1:1000', refused);
    await tick();
    controller.abort(new Error('stop'));
    await expect(done).rejects.toThrow('stop');
    expect(results.map((r) => r.target.port)).toEqual([1000]);
    expect(dialer.aborted.sort()).toEqual(['127.0.0.1:1001', '127.0.0.1:1002']);
    expect(dialer.waiting.size).toBe(0);
  });

  it('closes in-flight dials when the consumer stops early', async () => {
    const dialer = new ScriptedDialer();
    const iterator = probeTargets(targets(4), {
      timeoutMs: 500,
      concurrency: 4,
      dialer,
      clock: new FakeClock(),
    });
    const first = iterator.next();
    await tick();
    dialer.answer('127.0.0.1:1003', refused);
    expect((await first).value).toMatchObject({ outcome: 'refused' });
    await iterator.return();
    expect(dialer.aborted.sort()).toEqual(['127.0.0.1:1000', '127.0.0.1:1001', '127.0.0.1:1002']);
  });
});

describe('probeTargets under one shared bound', () => {
  /** Targets of one namespace, each with its own deadline. */
  function timed(namespace: string, firstPort: number, timeouts: readonly number[]) {
    return timeouts.map((timeoutMs, i) => ({ ip: '127.0.0.1', port: firstPort + i, timeoutMs, namespace }));
  }
  const namespaceOf = (t: { namespace: string }) => t.namespace;

  /** Runs that share one bound of `limit`, a scripted dialer and a fake clock. */
  function sharedBound(limit: number) {
    const dialer = new ScriptedDialer();
    const clock = new FakeClock();
    const slots = new ProbeSlots(limit);
    const run = (of: ReturnType<typeof timed>, into: ProbeResult[]) =>
      collect(probeTargets(of, { slots, namespaceOf, dialer, clock }), into);
    return { dialer, clock, slots, run };
  }

  it('holds each target to its own deadline within one run', async () => {
    const dialer = new ScriptedDialer();
    const clock = new FakeClock();
    const results: ProbeResult[] = [];
    const done = collect(probeTargets(timed('a', 1000, [100, 60_000]), { dialer, clock }), results);
    await tick();
    clock.advance(100);
    await tick();
    expect(results).toMatchObject([{ target: { port: 1000 }, outcome: 'timeout', latencyMs: 100 }]);
    expect([...dialer.waiting.keys()]).toEqual(['127.0.0.1:1001']);
    clock.advance(59_900);
    await done;
    expect(results.map((r) => [r.target.port, r.outcome, r.latencyMs])).toEqual([
      [1000, 'timeout', 100],
      [1001, 'timeout', 60_000],
    ]);
  });

  it('turns away a target with no deadline at all', async () => {
    const dialer = new ScriptedDialer();
    const results: ProbeResult[] = [];
    await collect(probeTargets(targets(1), { dialer }), results);
    expect(results[0]).toMatchObject({ outcome: 'error', cause: expect.stringContaining('no timeout') });
    expect(dialer.maxInFlight).toBe(0);
  });

  it('never has more than the bound in flight across mixed timeouts and concurrent runs', async () => {
    const { dialer, clock, slots, run } = sharedBound(4);
    const results: ProbeResult[] = [];
    // Four callers (reconcile workers), each with targets of three deadlines, some in one namespace.
    const runs = ['a', 'b', 'c', 'a'].map((ns, caller) =>
      run(timed(ns, 1000 + caller * 100, [100, 2000, 60_000, 100, 2000, 60_000]), results),
    );
    // Answer every other dial, let the rest time out, until all 24 have ended.
    for (let round = 0; results.length < 24 && round < 1000; round++) {
      await tick();
      expect(dialer.waiting.size).toBeLessThanOrEqual(4);
      expect(slots.inFlight).toBe(dialer.waiting.size);
      const [first] = dialer.waiting.keys();
      if (first && round % 2 === 0) dialer.answer(first, refused);
      else clock.advance(1000);
    }
    await Promise.all(runs);
    expect(results).toHaveLength(24);
    expect(dialer.maxInFlight).toBe(4);
    expect(slots.inFlight).toBe(0);
  });

  it('lets a namespace whose targets time out after 60 s hold only part of the bound', async () => {
    const { dialer, clock, run } = sharedBound(4);
    const slow: ProbeResult[] = [];
    const fast: ProbeResult[] = [];
    const slowRun = run(timed('slow', 1000, Array(8).fill(60_000)), slow);
    await tick();
    const fastRun = run(timed('fast', 2000, Array(6).fill(2000)), fast);
    // The fast namespace's targets answer as they are dialled; no time passes at all.
    for (let round = 0; fast.length < 6 && round < 20; round++) {
      await tick();
      for (const key of dialer.waiting.keys()) if (key.startsWith('127.0.0.1:20')) dialer.answer(key, open);
    }
    expect(fast.map((r) => r.outcome)).toEqual(Array(6).fill('open'));
    await fastRun;
    // Meanwhile the slow namespace's probes are still pending, within its share.
    expect(slow).toEqual([]);
    expect([...dialer.waiting.keys()]).toEqual(['127.0.0.1:1000', '127.0.0.1:1001']);
    for (let wave = 0; slow.length < 8 && wave < 10; wave++) {
      clock.advance(60_000);
      await tick();
    }
    await slowRun;
    expect(slow.map((r) => r.outcome)).toEqual(Array(8).fill('timeout'));
  });
});

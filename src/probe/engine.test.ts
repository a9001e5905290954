import { describe, expect, it } from 'vitest';
import type { Dialer, DialResult } from './dialer.ts';
import { probeTargets } from './engine.ts';
import { FakeClock } from './fake-clock.ts';
import type { ProbeResult, ProbeTarget } from './outcome.ts';

/**
 * A dialer that answers only when the test says so: pool logic (bounds, order, deadlines, abort)
 * without sockets. Socket behaviour itself is tested against real sockets in test/net.
 */
class ScriptedDialer implements Dialer {
  readonly name = 'scripted';
  readonly waiting = new Map<string, (result: DialResult) => void>();
  readonly aborted: string[] = [];
  maxInFlight = 0;

  dial(ip: string, port: number, done: (result: DialResult) => void) {
    const key = `${ip}:${port}`;
    this.waiting.set(key, done);
    this.maxInFlight = Math.max(this.maxInFlight, this.waiting.size);
    return {
      abort: () => {
        this.waiting.delete(key);
        this.aborted.push(key);
      },
    };
  }

  answer(key: string, result: DialResult): void {
    const done = this.waiting.get(key);
    if (!done) throw new Error(`${key} is not being dialed`);
    this.waiting.delete(key);
    done(result);
  }
}

const refused: DialResult = { kind: 'failed', errno: 'ECONNREFUSED', message: 'refused' };
const open: DialResult = {
  kind: 'connected',
  connection: {
    reset: () => {},
    toSocket: () => {
      throw new Error('no stream phase in these tests');
    },
  },
};

function targets(n: number): ProbeTarget[] {
  return Array.from({ length: n }, (_, i) => ({ ip: '127.0.0.1', port: 1000 + i }));
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

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

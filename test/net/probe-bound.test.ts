import type { Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProber } from '../../src/operator/prober.ts';
import { type Dialer, defaultDialer } from '../../src/probe/dialer.ts';
import type { PlannedTarget } from '../../src/rules/targets.ts';
import { listen, portOf } from './listeners.ts';
import { createDropNamespace, type DropNamespace } from './netns.ts';

/** The real dialer, counting the connects it has in flight (dialled, neither answered nor aborted). */
function countingDialer() {
  const count = { now: 0, most: 0 };
  const dialer: Dialer = {
    name: 'counting',
    dial(ip, port, done) {
      count.now++;
      count.most = Math.max(count.most, count.now);
      const pending = defaultDialer.dial(ip, port, (result) => {
        count.now--;
        done(result);
      });
      return {
        abort: () => {
          count.now--;
          pending.abort();
        },
      };
    },
  };
  return { dialer, count };
}

/** Resolves once `ready()` holds, checking after each turn of the event loop. */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setImmediate(resolve));
}

function target(namespace: string, ip: string, port: number, timeoutMs: number): PlannedTarget {
  return { ip, port, family: 'IPv4', namespace, timeoutMs };
}

const servers: Server[] = [];
let dropNs: DropNamespace | undefined;

beforeAll(async () => {
  dropNs = await createDropNamespace();
  for (let i = 0; i < 6; i++) servers.push(await listen('127.0.0.1'));
});

afterAll(async () => {
  for (const server of servers) server.close();
  await dropNs?.remove();
});

describe('the operator prober over real sockets', () => {
  it('at --concurrency 4, a namespace of dropped SYNs leaves room for another namespace to finish', async () => {
    const { dialer, count } = countingDialer();
    const prober = makeProber({ confirmations: 1, concurrency: 4, dialer });
    const stop = new AbortController();
    // Eight targets whose SYNs the test namespace drops, each with a 60 s sockeye.dev/timeout.
    const slowTargets = Array.from({ length: 8 }, (_, i) =>
      target('slow', dropNs?.timeoutAddress(i) ?? '', 80, 60_000),
    );
    let slowSettled = false;
    const slow = prober(slowTargets, stop.signal).finally(() => {
      slowSettled = true;
    });
    try {
      await until(() => count.now > 0);
      // Half of the bound: the other half stays for other namespaces.
      expect(count.now).toBe(2);
      const fast = await Promise.race([
        prober(servers.map((s) => target('fast', '127.0.0.1', portOf(s), 2000))),
        // Not a timing assertion: without fairness the open targets would wait out the 60 s drops.
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error('the open targets waited behind the dropped ones')),
            20_000,
          ).unref(),
        ),
      ]);
      expect(fast.map((o) => o.outcome)).toEqual(Array(6).fill('open'));
      // The slow namespace's connects are still unanswered, within its half of the bound.
      expect(slowSettled).toBe(false);
      expect(count.now).toBe(2);
      expect(count.most).toBeLessThanOrEqual(4);
    } finally {
      stop.abort(new Error('test over'));
      await slow.catch(() => undefined);
    }
    expect(count.now).toBe(0);
  });
});

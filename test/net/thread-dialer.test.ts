import { execFile } from 'node:child_process';
import type { Server } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialResult } from '../../src/probe/dialer.ts';
import { probeAll } from '../../src/probe/engine.ts';
import { ThreadDialer } from '../../src/probe/thread-dialer.ts';
import { closedPort, listen, portOf, timeWaitOn } from './listeners.ts';
import { createDropNamespace, type DropNamespace } from './netns.ts';

const exec = promisify(execFile);
const servers: Server[] = [];
const dialers: ThreadDialer[] = [];
let dropNs: DropNamespace | undefined;

beforeAll(async () => {
  dropNs = await createDropNamespace();
});

afterAll(async () => {
  for (const server of servers) server.close();
  await Promise.all(dialers.map((d) => d.close()));
  await dropNs?.remove();
});

function threadDialer(options: ConstructorParameters<typeof ThreadDialer>[0] = {}): ThreadDialer {
  const dialer = new ThreadDialer(options);
  dialers.push(dialer);
  return dialer;
}

async function openServer(): Promise<number> {
  const server = await listen('127.0.0.1');
  servers.push(server);
  return portOf(server);
}

const dialOnce = (dialer: ThreadDialer, ip: string, port: number) =>
  new Promise<DialResult>((resolve) => dialer.dial(ip, port, resolve));

describe('ThreadDialer', () => {
  it('connects in its worker: open and refused, each with the latency the worker timed', async () => {
    const fallbacks: string[] = [];
    const dialer = threadDialer({ onFallback: (reason) => fallbacks.push(reason) });
    const open = await openServer();
    const closed = await closedPort('127.0.0.1');
    const pending = [dialOnce(dialer, '127.0.0.1', open), dialOnce(dialer, '127.0.0.1', closed)];
    expect(dialer.inFlight).toBe(2);
    const [connected, refused] = await Promise.all(pending);
    expect(connected).toMatchObject({ kind: 'connected', latencyMs: expect.any(Number) });
    expect(refused).toMatchObject({ kind: 'failed', errno: 'ECONNREFUSED', latencyMs: expect.any(Number) });
    // Closed in the worker already: it cannot be read here.
    expect(() => (connected as Extract<DialResult, { kind: 'connected' }>).connection.toSocket()).toThrow(
      'cannot be read',
    );
    expect(dialer.inFlight).toBe(0);
    expect(fallbacks).toEqual([]);
  });

  it('closes every connection with RST: the listener sees each reset, and no TIME_WAIT is left', async () => {
    const dialer = threadDialer();
    let resets = 0;
    const server = await listen('127.0.0.1', (socket) =>
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNRESET') resets++;
      }),
    );
    servers.push(server);
    const port = portOf(server);
    const results = await probeAll(
      Array.from({ length: 300 }, () => ({ ip: '127.0.0.1', port })),
      { timeoutMs: 5000, concurrency: 50, dialer },
    );
    expect(results.every((r) => r.outcome === 'open')).toBe(true);
    await expect.poll(() => resets, { timeout: 10_000 }).toBe(300);
    expect(await timeWaitOn(port)).toBe('');
  });

  it('an aborted dial is closed in the worker: no handshake left waiting', async () => {
    const dialer = threadDialer();
    const ip = dropNs!.timeoutAddress(2);
    // The namespace drops the SYNs: each connect waits in SYN-SENT until it is given up.
    const synSent = async () =>
      (await exec('ss', ['-Htn', 'state', 'syn-sent', `dst ${ip}`])).stdout.trim().split('\n').filter(Boolean)
        .length;
    const dials = Array.from({ length: 10 }, (_, k) =>
      dialer.dial(ip, 1000 + k, () => expect.fail('an aborted dial must not call back')),
    );
    await expect.poll(synSent, { timeout: 10_000 }).toBe(10);
    for (const dial of dials) dial.abort();
    await expect.poll(synSent, { timeout: 10_000 }).toBe(0);
    expect(dialer.inFlight).toBe(0);
  });

  it('an aborted dial never calls back and leaves no TIME_WAIT', async () => {
    const dialer = threadDialer();
    const port = await openServer();
    // Aborted before the dials cross, and after (the worker has connected: loopback answers inside connect()).
    for (let i = 0; i < 20; i++) {
      dialer.dial('127.0.0.1', port, () => expect.fail('an aborted dial must not call back')).abort();
    }
    const later = Array.from({ length: 20 }, () =>
      dialer.dial('127.0.0.1', port, () => expect.fail('an aborted dial must not call back')),
    );
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    for (const dial of later) dial.abort();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(dialer.inFlight).toBe(0);
    expect(await timeWaitOn(port)).toBe('');
  });

  it('when its worker ends, the dials in flight and every later one are made in this thread', async () => {
    const fallbacks: string[] = [];
    const dialer = threadDialer({
      onFallback: (reason) => fallbacks.push(reason),
      script: { url: new URL('./fixtures/dial-worker-exits.mjs', import.meta.url) },
    });
    const open = await openServer();
    const closed = await closedPort('127.0.0.1');
    const targets = [
      { ip: '127.0.0.1', port: open },
      { ip: '127.0.0.1', port: closed },
    ];
    const first = await probeAll(targets, { timeoutMs: 5000, dialer });
    expect(first.map((r) => r.outcome)).toEqual(['open', 'refused']);
    expect(fallbacks).toEqual(['the probe thread exited with code 3']);
    const again = await probeAll(targets, { timeoutMs: 5000, dialer });
    expect(again.map((r) => r.outcome)).toEqual(['open', 'refused']);
    expect(fallbacks).toHaveLength(1);
  });
});

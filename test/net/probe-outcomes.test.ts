import { execFile } from 'node:child_process';
import type { Server, Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDialer, socketDialer } from '../../src/probe/dialer.ts';
import { probeAll, probeOne } from '../../src/probe/engine.ts';
import { ThreadDialer } from '../../src/probe/thread-dialer.ts';
import { closedPort, listen, portOf, timeWaitOn } from './listeners.ts';
import { createDropNamespace, type DropNamespace } from './netns.ts';

const exec = promisify(execFile);

const servers: Server[] = [];
let dropNs: DropNamespace | undefined;

beforeAll(async () => {
  dropNs = await createDropNamespace();
});

/** Why the thread dialer's probes went back to this thread, if they did: they must not. */
const fallbacks: string[] = [];
const threadDialer = new ThreadDialer({ onFallback: (reason) => fallbacks.push(reason) });

afterAll(async () => {
  for (const server of servers) server.close();
  await threadDialer.close();
  await dropNs?.remove();
});

/**
 * Every outcome through each way the engine connects: its bulk run (bulk.ts: no dialer, clock or check
 * asked for; a reset window read on the answered connects only), and its general run with Node's TCP
 * handle, with net.Socket, and with connects made in a worker thread (the operator's: a probe with a
 * reset window dials in this thread, thread-dialer.ts).
 */
const ways = [
  { name: 'bulk run', dialer: undefined },
  { name: 'general run, handle dialer', dialer: defaultDialer },
  { name: 'general run, socket dialer', dialer: socketDialer },
  { name: 'general run, thread dialer', dialer: threadDialer },
];

describe.each(ways)('outcomes over real sockets ($name)', ({ dialer: chosen }) => {
  const dialer = chosen ? { dialer: chosen } : {};
  it('open on 127.0.0.1 and ::1', async () => {
    const v4 = await listen('127.0.0.1');
    const v6 = await listen('::1');
    servers.push(v4, v6);
    const results = await probeAll(
      [
        { ip: '127.0.0.1', port: portOf(v4) },
        { ip: '::1', port: portOf(v6) },
      ],
      { timeoutMs: 5000, ...dialer },
    );
    expect(results.map((r) => r.outcome)).toEqual(['open', 'open']);
  });

  it('refused on 127.0.0.1 and ::1', async () => {
    const results = await probeAll(
      [
        { ip: '127.0.0.1', port: await closedPort('127.0.0.1') },
        { ip: '::1', port: await closedPort('::1') },
      ],
      { timeoutMs: 5000, ...dialer },
    );
    expect(results).toMatchObject([
      { outcome: 'refused', errno: 'ECONNREFUSED' },
      { outcome: 'refused', errno: 'ECONNREFUSED' },
    ]);
  });

  it('reset when the listener accepts and aborts', async () => {
    const server = await listen('127.0.0.1', (socket) => socket.resetAndDestroy());
    servers.push(server);
    // The window only has to outlast the listener's accept; the probe ends as soon as the RST lands.
    const result = await probeOne(
      { ip: '127.0.0.1', port: portOf(server) },
      { timeoutMs: 5000, resetWindowMs: 30_000, ...dialer },
    );
    expect(result).toMatchObject({ outcome: 'reset', errno: 'ECONNRESET' });
  });

  it('reset when the listener aborts well after the handshake, within the window only', async () => {
    // An RST that lands before the connect's answer is read is a failed connect (above); this one
    // comes 100 ms later, so only reading the window sees it.
    const server = await listen('127.0.0.1', (socket) => setTimeout(() => socket.resetAndDestroy(), 100));
    servers.push(server);
    const target = { ip: '127.0.0.1', port: portOf(server) };
    const [watched, unwatched] = [
      await probeOne(target, { timeoutMs: 5000, resetWindowMs: 30_000, ...dialer }),
      await probeOne(target, { timeoutMs: 5000, ...dialer }),
    ];
    expect(watched).toMatchObject({ outcome: 'reset', errno: 'ECONNRESET' });
    expect(unwatched.outcome).toBe('open');
  });

  it('open, not reset, when the listener closes with FIN within the reset window', async () => {
    const server = await listen('127.0.0.1', (socket) => setTimeout(() => socket.end(), 50));
    servers.push(server);
    const result = await probeOne(
      { ip: '127.0.0.1', port: portOf(server) },
      { timeoutMs: 5000, resetWindowMs: 30_000, ...dialer },
    );
    expect(result.outcome).toBe('open');
  });

  it('open, not reset, when the listener stays quiet through the reset window', async () => {
    const server = await listen('127.0.0.1');
    servers.push(server);
    const result = await probeOne(
      { ip: '127.0.0.1', port: portOf(server) },
      { timeoutMs: 5000, resetWindowMs: 50, ...dialer },
    );
    expect(result.outcome).toBe('open');
  });

  it('timeout when an nft rule in a test namespace drops the SYN', async () => {
    const result = await probeOne({ ip: dropNs!.timeoutAddress(1), port: 80 }, { timeoutMs: 300, ...dialer });
    expect(result.outcome).toBe('timeout');
  });

  it('unreachable when the test namespace has no host behind the address', async () => {
    const result = await probeOne(
      { ip: dropNs!.unreachableAddress(1), port: 80 },
      { timeoutMs: 10_000, ...dialer },
    );
    expect(result).toMatchObject({ outcome: 'unreachable', errno: 'EHOSTUNREACH' });
  });

  it('error, with the local cause, when the prober has no file descriptors left', async () => {
    const port = await closedPort('127.0.0.1');
    const { stdout } = await exec('prlimit', [
      '--nofile=64',
      process.execPath,
      'test/net/fixtures/probe-without-fds.ts',
      'engine',
      chosen?.name ?? 'bulk',
      `127.0.0.1:${port}`,
    ]);
    const report = JSON.parse(stdout) as { held: number; output: string; fellBack?: string };
    expect(report.held).toBeGreaterThan(0);
    // The thread dialer's EMFILE is the worker's connect, not this thread's after a fallback.
    expect(report.fellBack).toBeUndefined();
    expect(JSON.parse(report.output)).toMatchObject({
      outcome: 'error',
      errno: 'EMFILE',
      cause: expect.stringContaining('file descriptors'),
    });
  });
});

it('the thread dialer made its connects in its worker throughout', () => {
  expect(fallbacks).toEqual([]);
});

describe('closing', () => {
  it('leaves no TIME_WAIT behind after many open probes', async () => {
    const server = await listen('127.0.0.1');
    servers.push(server);
    const port = portOf(server);
    const results = await probeAll(
      Array.from({ length: 200 }, () => ({ ip: '127.0.0.1', port })),
      { timeoutMs: 5000, concurrency: 50 },
    );
    expect(results.every((r) => r.outcome === 'open')).toBe(true);
    expect(await timeWaitOn(port)).toBe('');
  });

  it('leaves no TIME_WAIT when a dial is aborted after the kernel finished the handshake', async () => {
    // A deadline can pass after the SYN-ACK arrived but before its callback ran (a busy loop). On
    // loopback the handshake completes inside connect(), so aborting at once is that race.
    const server = await listen('127.0.0.1');
    servers.push(server);
    const port = portOf(server);
    for (let i = 0; i < 20; i++) {
      defaultDialer.dial('127.0.0.1', port, () => expect.fail('an aborted dial must not call back')).abort();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await timeWaitOn(port)).toBe('');
  });

  it('leaves no TIME_WAIT when a bulk run is aborted while it reads reset windows', async () => {
    const accepted: Socket[] = [];
    const server = await listen('127.0.0.1', (socket) => accepted.push(socket));
    servers.push(server);
    const port = portOf(server);
    const abort = new AbortController();
    const targets = Array.from({ length: 20 }, () => ({ ip: '127.0.0.1', port }));
    const run = probeAll(targets, { timeoutMs: 5000, resetWindowMs: 60_000, signal: abort.signal });
    // Every connect answered and accepted: each probe now waits in its window.
    while (accepted.length < targets.length) await new Promise((resolve) => setTimeout(resolve, 10));
    abort.abort(new Error('stopped'));
    await expect(run).rejects.toThrow('stopped');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(accepted.every((socket) => socket.destroyed)).toBe(true);
    expect(await timeWaitOn(port)).toBe('');
  });

  it('leaves no TIME_WAIT when a bulk run is aborted with its handshakes done but not yet read', async () => {
    const server = await listen('127.0.0.1');
    servers.push(server);
    const port = portOf(server);
    const abort = new AbortController();
    const targets = Array.from({ length: 20 }, () => ({ ip: '127.0.0.1', port }));
    // The first burst starts at once; aborting in the same turn closes connects the kernel has answered.
    const run = probeAll(targets, { timeoutMs: 5000, signal: abort.signal });
    abort.abort(new Error('stopped'));
    await expect(run).rejects.toThrow('stopped');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await timeWaitOn(port)).toBe('');
  });
});

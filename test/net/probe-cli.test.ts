import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/bin/sockeye.ts';
import { OUTCOMES } from '../../src/probe/outcome.ts';
import { captureIO } from './cli-io.ts';
import { closedPort as closedPortOf } from './listeners.ts';

const exec = promisify(execFile);

let server: Server;
let openPort = 0;
let closedPort = 0;

beforeAll(async () => {
  server = createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  openPort = address.port;
  // Free on both loopbacks: the tests probe it on 127.0.0.1 and [::1].
  closedPort = await closedPortOf('127.0.0.1', '::1');
});

afterAll(() => {
  server.close();
});

interface JsonReport {
  schema: string;
  timeoutMs: number;
  results: {
    target: string;
    address: string;
    port: number;
    outcome: string;
    latencyMs: number;
    meaning: string;
    next: string;
  }[];
  summary: Record<string, number>;
  exitCode: number;
}

describe('sockeye probe', () => {
  it('exits 0 when every target is open', async () => {
    const c = captureIO();
    expect(await main(['probe', `127.0.0.1:${openPort}`], c.io)).toBe(0);
    expect(c.out()).toMatch(new RegExp(`127\\.0\\.0\\.1:${openPort}\\s+open`));
    expect(c.out()).toContain('1 target: 1 open');
    expect(c.out()).not.toContain('\u001b['); // not a TTY: no colour
  });

  it('watches for a reset for 100ms by default, and not at all with --reset-window 0s', async () => {
    // A listener that accepts, then aborts 30 ms later (a proxy that finds no upstream).
    const resetting = createServer((socket) => {
      socket.on('error', () => {});
      setTimeout(() => socket.resetAndDestroy(), 30);
    });
    await new Promise<void>((resolve) => resetting.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = resetting.address() as { port: number };
    try {
      const outcome = async (...flags: string[]) => {
        const c = captureIO();
        await main(['probe', '-o', 'json', ...flags, `127.0.0.1:${port}`], c.io);
        return (JSON.parse(c.out()) as JsonReport).results.map((r) => r.outcome);
      };
      expect(await outcome()).toEqual(['reset']);
      expect(await outcome('--reset-window', '0s')).toEqual(['open']);
    } finally {
      resetting.close();
    }
  });

  it('exits 1 and explains when a target refuses', async () => {
    const c = captureIO();
    expect(await main(['probe', `127.0.0.1:${openPort}`, `127.0.0.1:${closedPort}`], c.io)).toBe(1);
    expect(c.out()).toContain(`nothing listens on 127.0.0.1:${closedPort}`);
    expect(c.out()).toContain(`ss -ltnp 'sport = :${closedPort}'`);
  });

  it('colours the outcome on a TTY only', async () => {
    const c = captureIO('', true);
    await main(['probe', `127.0.0.1:${openPort}`], c.io);
    expect(c.out()).toContain('\u001b[32mopen');
  });

  it('writes the documented JSON document with -o json', async () => {
    const c = captureIO();
    const code = await main(
      ['probe', '-o', 'json', '--timeout', '1500ms', `127.0.0.1:${openPort}`, `[::1]:${closedPort}`],
      c.io,
    );
    const report = JSON.parse(c.out()) as JsonReport;
    expect(code).toBe(1);
    expect(report.schema).toBe('sockeye.dev/probe/v1');
    expect(report.timeoutMs).toBe(1500);
    expect(report.exitCode).toBe(1);
    expect(report.results.map((r) => [r.target, r.address, r.port, r.outcome])).toEqual([
      [`127.0.0.1:${openPort}`, '127.0.0.1', openPort, 'open'],
      [`[::1]:${closedPort}`, '::1', closedPort, 'refused'],
    ]);
    expect(report.results[1]).toMatchObject({
      errno: 'ECONNREFUSED',
      meaning: expect.stringContaining('nothing listens'),
    });
    expect(Object.keys(report.summary).sort()).toEqual(['total', ...OUTCOMES].sort());
    expect(report.summary).toMatchObject({ total: 2, open: 1, refused: 1 });
  });

  it('reads targets from stdin with -f -, skipping comments and blank lines', async () => {
    const c = captureIO(`# web\n127.0.0.1:${openPort}\n\n127.0.0.1:${closedPort}  # down\n`);
    expect(await main(['probe', '-o', 'json', '-f', '-'], c.io)).toBe(1);
    const report = JSON.parse(c.out()) as JsonReport;
    expect(report.results.map((r) => r.outcome)).toEqual(['open', 'refused']);
  });

  it('gives the same answers, in the input order, when --threads shares the probes', async () => {
    const lines = Array.from({ length: 24 }, (_, i) => `127.0.0.1:${i % 3 === 0 ? closedPort : openPort}`);
    const run = async (threads: string) => {
      const c = captureIO(lines.join('\n'));
      const code = await main(['probe', '-o', 'json', '--threads', threads, '-f', '-'], c.io);
      const report = JSON.parse(c.out()) as JsonReport;
      return { code, results: report.results.map((r) => [r.target, r.outcome]) };
    };
    const one = await run('1');
    expect(one.results).toEqual(lines.map((l, i) => [l, i % 3 === 0 ? 'refused' : 'open']));
    expect(one.code).toBe(1);
    expect(await run('2')).toEqual(one);
  });

  it('exits 2 when the prober itself fails (no file descriptors left)', async () => {
    const run = exec('prlimit', [
      '--nofile=64',
      process.execPath,
      'test/net/fixtures/probe-without-fds.ts',
      'cli',
      'handle',
      `127.0.0.1:${closedPort}`,
    ]);
    const failure = await run.then(
      () => undefined,
      (err: { code: number; stdout: string }) => err,
    );
    expect(failure?.code).toBe(2);
    const report = JSON.parse(
      (JSON.parse(failure?.stdout ?? '{}') as { output: string }).output,
    ) as JsonReport;
    expect(report.results[0]).toMatchObject({ outcome: 'error', errno: 'EMFILE' });
    expect(report.exitCode).toBe(2);
  });
});

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CommandIO } from './io.ts';
import { UsageError } from './io.ts';
import { exitCodeFor, makeProbeCommand } from './probe.ts';

function io(): CommandIO {
  return {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    stdin: new PassThrough(),
    env: {},
    program: 'sockeye',
    signal: new AbortController().signal,
  };
}

// Every case fails before any socket or DNS lookup: the lookup throws if reached.
const probe = makeProbeCommand(async () => {
  throw new Error('no lookups in unit tests');
});

describe('sockeye probe usage errors', () => {
  it.each([
    [['foo'], 'bad target "foo": missing :PORT'],
    [['1.2.3.4:99999'], 'bad target "1.2.3.4:99999": port 99999 is outside 1-65535'],
    [['[::1'], 'bad target "[::1": missing "]"'],
    [[], 'no targets'],
    [['--timeout', '2', '127.0.0.1:1'], '--timeout: want a duration such as 1500ms, 2s or 1m (got "2")'],
    [['--concurrency', '0', '127.0.0.1:1'], '--concurrency: want at least 1 (got "0")'],
    [['--threads', '0', '127.0.0.1:1'], '--threads: want at least 1 (got "0")'],
    [['--threads', '9', '127.0.0.1:1'], '--threads: want at most 4 (got "9")'],
    [['-c', 'many', '127.0.0.1:1'], '--concurrency: want a whole number (got "many")'],
    [['-o', 'yaml', '127.0.0.1:1'], '--output: want one of text, json (got "yaml")'],
    [['--bogus', '127.0.0.1:1'], "Unknown option '--bogus'"],
    [['--expect-status', '200', '127.0.0.1:1'], '--expect-status needs --http'],
    [['--http', 'health', '127.0.0.1:1'], '--http: want a path starting with "/" (got "health")'],
    [['-f', '/nonexistent/targets', '127.0.0.1:1'], 'cannot read --file /nonexistent/targets'],
  ])('%j -> %s', async (argv, message) => {
    const run = probe(argv, io());
    await expect(run).rejects.toBeInstanceOf(UsageError);
    await expect(run).rejects.toThrow(message);
  });

  it('names every bad target at once', async () => {
    await expect(probe(['foo', '127.0.0.1:80', '[::1'], io())).rejects.toThrow(/"foo".*\n.*"\[::1"/s);
  });
});

describe('exitCodeFor', () => {
  const target = { ip: '127.0.0.1', port: 1 };
  it('is 0 when all are open, 1 when any is not, 2 when the prober failed', () => {
    expect(exitCodeFor([{ target, latencyMs: 1, outcome: 'open' }])).toBe(0);
    expect(
      exitCodeFor([
        { target, latencyMs: 1, outcome: 'open' },
        { target, latencyMs: 1, outcome: 'timeout' },
      ]),
    ).toBe(1);
    expect(
      exitCodeFor([{ target, latencyMs: 1, outcome: 'open', app: { kind: 'tls', ok: false, detail: 'x' } }]),
    ).toBe(1);
    expect(
      exitCodeFor([
        { target, latencyMs: 1, outcome: 'refused', errno: 'ECONNREFUSED' },
        { target, latencyMs: 0, outcome: 'error', cause: 'x' },
      ]),
    ).toBe(2);
  });
});

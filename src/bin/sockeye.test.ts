import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CommandIO } from '../cli/io.ts';
import { main, version } from './sockeye.ts';

function captureIO(): { io: CommandIO; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const io: CommandIO = {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: {},
    signal: new AbortController().signal,
  };
  return { io, out: () => out, err: () => err };
}

describe('sockeye entry point', () => {
  it('prints the package version for --version', async () => {
    const c = captureIO();
    expect(await main(['--version'], c.io)).toBe(0);
    expect(c.out()).toBe(`sockeye ${version()}\n`);
    expect(version()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('names an unknown command and exits 2', async () => {
    const c = captureIO();
    expect(await main(['frobnicate'], c.io)).toBe(2);
    expect(c.err()).toContain('unknown command "frobnicate"');
  });
});

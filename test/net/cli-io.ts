import { PassThrough } from 'node:stream';
import type { CommandIO } from '../../src/cli/io.ts';

/** Command IO captured in memory; `stdin` is given as text, `program` is how the user invoked us. */
export function captureIO(
  stdin = '',
  isTTY = false,
  program = 'sockeye',
): { io: CommandIO; out: () => string; err: () => string } {
  const stdout = Object.assign(new PassThrough(), { isTTY });
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const input = new PassThrough();
  input.end(stdin);
  return {
    io: { stdout, stderr, stdin: input, env: {}, program, signal: new AbortController().signal },
    out: () => out,
    err: () => err,
  };
}

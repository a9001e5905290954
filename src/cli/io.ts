import type { Readable, Writable } from 'node:stream';

/** The process edges a command touches, injected so commands run in tests without a terminal. */
export interface CommandIO {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly stdin: Readable & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How the user invoked us, for help and error texts: `sockeye` or `kubectl sockeye` (cli/program.ts). */
  readonly program: string;
  /** Aborted on SIGINT/SIGTERM by the entry point. */
  readonly signal: AbortSignal;
}

/** A command returns its exit code; it throws only for bugs. */
export type Command = (argv: readonly string[], io: CommandIO) => Promise<number>;

/** Exit codes shared by every command. */
export const ExitCode = {
  ok: 0,
  findings: 1,
  usage: 2,
} as const;

export { UsageError } from '../config/usage-error.ts';

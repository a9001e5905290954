/**
 * The one reader of command-line flags, under the settings loader (settings.ts) of every mode, so
 * that they all follow kubectl's conventions: a boolean flag is `--x`, `--no-x`, `--x=true` or `--x=false` (`--leader-elect=false`
 * is how every Kubernetes controller is told), an environment or file value is a boolean by the same
 * grammar, and a flag sockeye cannot use is a one-line usage error naming it (exit 2).
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { parseBoolean } from './annotations.ts';
import { UsageError } from './usage-error.ts';

/** A setting sockeye cannot use; the message names the flag, env var or file key. */
export class ConfigError extends UsageError {}

export interface ReadFlagsOptions {
  /** Prefix of error messages (`probe: --timeout ...`); none for the operator, whose settings name themselves. */
  readonly command?: string;
  /** Whether the command takes operands (`sockeye probe HOST:PORT…`). */
  readonly positionals?: boolean;
}

/** Parses `argv` against `options` (node:util parseArgs, strict), or throws `ConfigError` naming the flag. */
export function readFlags<const O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
  how: ReadFlagsOptions = {},
) {
  const prefix = how.command === undefined ? '' : `${how.command}: `;
  try {
    return parseArgs({
      args: booleansAsSwitches(argv, options),
      options,
      strict: true,
      allowPositionals: how.positionals ?? false,
      allowNegative: true,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`${prefix}${message}`, { cause: err });
  }
}

/** A boolean setting's text value (`--x=VALUE`, an env var): true or false, else an error naming `where`. */
export function booleanSetting(value: string, where: string): boolean {
  const parsed = parseBoolean(value);
  if (parsed.ok) return parsed.value;
  throw new ConfigError(`${where}: want true or false (got ${JSON.stringify(value)})`);
}

/**
 * parseArgs knows only `--x` and `--no-x` for booleans and refuses `--x=false`; rewrite the valued
 * forms into those two before it runs. Everything after `--` is an operand and stays as written. (A
 * string flag's value is never a `--x=…` token: parseArgs refuses values that start with a dash.)
 */
function booleansAsSwitches(argv: readonly string[], options: ParseArgsOptionsConfig): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const valued = /^--([^=]+)=(.*)$/s.exec(arg);
    const name = valued?.[1];
    if (valued && name !== undefined && options[name]?.type === 'boolean') {
      const on = booleanSetting(valued[2] ?? '', `--${name}`);
      out.push(on ? `--${name}` : `--no-${name}`);
      continue;
    }
    out.push(arg);
  }
  return out;
}

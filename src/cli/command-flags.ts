import { type LoadOptions, loadSettings, type Table, type Values } from '../config/settings.ts';

/** A command's flags: the value of every setting of its table, and whether -h/--help was given. */
export type CommandFlags<S extends Table> = Values<S> & { readonly help: boolean };

/**
 * Reads a command's flags (and operands, where `how` takes them) from its argv, and from `env` for
 * the rows that have a variable (the audit's data path checks, shared with the operator).
 */
export function readCommandFlags<const S extends Table>(
  table: S,
  argv: readonly string[],
  how: LoadOptions,
  env: Readonly<Record<string, string | undefined>> = {},
): { readonly flags: CommandFlags<S>; readonly positionals: string[] } {
  const { values, help, positionals } = loadSettings(table, { argv, env }, how);
  return { flags: { ...values, help }, positionals };
}

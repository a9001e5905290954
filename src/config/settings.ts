/**
 * The one settings loader of every mode. A mode describes its settings as a table, one row per setting
 * (value kind, flag and short flag, `SOCKEYE_*` variable, config-file key, default, help), and gets
 * back typed values with the precedence flag > env > file > default, and its `--help` rows from the
 * same table, so the sources and the help cannot drift apart. A bad value fails start-up with one line
 * naming where it came from (`--interval`, `SOCKEYE_INTERVAL` or `sockeye.yaml: interval`), which the
 * commands print and exit 2 on. Pure: argv, env and the file reader come in.
 */
import { isIP } from 'node:net';
import type { ParseArgsOptionsConfig } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseBoolean, parseDuration } from './annotations.ts';
import { ConfigError, readFlags } from './flags.ts';

export { ConfigError };

// ---- value kinds: each reads a text (flag, env), the texts of a repeated flag, or a typed file value --

/** How one kind of value is read, written on the command line, and shown as a default in `--help`. */
export interface Kind<T> {
  readonly schema: z.ZodType<T>;
  /** `switch`: `--x`/`--no-x`/`--x=BOOL`; `value`: `--x VALUE`; `values`: a value that may repeat. */
  readonly arg: 'switch' | 'value' | 'values';
  /** The placeholder in `--help` (`--timeout DURATION`); a setting may name its own. */
  readonly metavar: string;
  /** A default as `--help` writes it; empty: not written (an empty list). */
  readonly show: (value: T) => string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** A zod transform from a `Parsed` reader: its problem becomes the issue's message. */
export function fromText<T>(parse: (text: string) => Parsed<T>) {
  return (value: string, ctx: z.RefinementCtx): T => {
    const parsed = parse(value);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.problem });
    return z.NEVER;
  };
}

/** `1500ms`, `2s`, `1m` (Go's grammar), from `minMs` to `maxMs`; a bare number is refused, in files too. */
export function duration(minMs: number, maxMs: number): Kind<number> {
  return {
    schema: z
      .string({ error: 'want a duration such as 1500ms, 2s or 1m' })
      .transform(fromText(parseDuration))
      .refine((ms) => ms >= minMs && ms <= maxMs, `want a duration from ${fmtMs(minMs)} to ${fmtMs(maxMs)}`),
    arg: 'value',
    metavar: 'DURATION',
    show: fmtMs,
  };
}

/** A whole number from `min` to `max`. */
export function integer(min: number, max: number): Kind<number> {
  return {
    schema: z
      .union(
        [
          z.number(),
          z
            .string()
            .regex(/^\s*-?\d+\s*$/, 'want a whole number')
            .transform(Number),
        ],
        {
          error: 'want a whole number',
        },
      )
      .pipe(z.int('want a whole number').min(min, `want at least ${min}`).max(max, `want at most ${max}`)),
    arg: 'value',
    metavar: 'N',
    show: String,
  };
}

/** A number from 0 to 1. */
export const fraction: Kind<number> = {
  schema: z
    .union(
      [
        z.number(),
        z
          .string()
          .regex(/^\s*\d+(\.\d+)?\s*$/, 'want a number from 0 to 1')
          .transform(Number),
      ],
      {
        error: 'want a number from 0 to 1',
      },
    )
    .pipe(z.number().min(0, 'want a number from 0 to 1').max(1, 'want a number from 0 to 1')),
  arg: 'value',
  metavar: 'FRACTION',
  show: String,
};

/** `true` or `false` in any case (env, file, `--x=VALUE`); on the command line also `--x` and `--no-x`. */
export const boolean: Kind<boolean> = {
  schema: z.union([z.boolean(), z.string().transform(fromText(parseBoolean))], {
    error: 'want true or false',
  }),
  arg: 'switch',
  metavar: '',
  // `--[no-]x` already says it is off unless given.
  show: (on) => (on ? 'true' : ''),
};

/** Any text, trimmed; `what` names it in the error when it is empty or does not match `pattern`. */
export function text(what: string, check: { pattern?: RegExp; max?: number } = {}): Kind<string> {
  let schema = z
    .string({ error: `want ${what}` })
    .trim()
    .min(1, `want ${what}`);
  if (check.max !== undefined) schema = schema.max(check.max, `want ${what}`);
  if (check.pattern !== undefined) schema = schema.regex(check.pattern, `want ${what}`);
  return { schema, arg: 'value', metavar: 'VALUE', show: (v) => v };
}

/** One of `values`. */
export function oneOf<const V extends readonly [string, ...string[]]>(values: V): Kind<V[number]> {
  return {
    schema: z.enum(values, { error: `want one of ${values.join(', ')}` }),
    arg: 'value',
    metavar: values.join('|'),
    show: (v) => v,
  };
}

/**
 * A list: the flag repeats (`--namespace a --namespace b`), and with `commas` each text is also a
 * comma list (`--namespace=a,b`, `SOCKEYE_NAMESPACES=a,b`); a file gives a YAML list.
 */
export function list(
  item: z.ZodType<string, string>,
  what: string,
  commas: boolean,
): Kind<readonly string[]> {
  return {
    schema: z
      .union([z.array(z.string()), z.string().transform((s) => [s])], { error: `want ${what}` })
      .transform((items) =>
        commas
          ? items
              .flatMap((s) => s.split(','))
              .map((s) => s.trim())
              .filter((s) => s !== '')
          : items,
      )
      .pipe(z.array(item)),
    arg: 'values',
    metavar: 'VALUE',
    show: (v) => v.join(','),
  };
}

/** Lowercase RFC 1123 labels: what Kubernetes accepts as a namespace or Lease name. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Namespace names, repeated or as a comma list. */
export const namespaces: Kind<readonly string[]> = {
  ...list(
    z.string().regex(DNS_LABEL, 'want namespace names (lowercase letters, digits and -)'),
    'a list of namespace names',
    true,
  ),
  metavar: 'NAME',
};

/** Whether `s` is an address range such as `10.96.0.0/12` or `fd00:10:96::/108` (prefix within its family). */
function isCIDR(s: string): boolean {
  const [base = '', bits, ...rest] = s.split('/');
  const family = isIP(base);
  if (family === 0 || bits === undefined || rest.length > 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** Address ranges (`10.96.0.0/12`, `fd00:10:96::/108`), repeated or as a comma list. */
export const cidrs: Kind<readonly string[]> = {
  ...list(
    z.string().refine(isCIDR, { error: (i) => `"${String(i.input)}" is not a CIDR such as 10.96.0.0/12` }),
    'a list of CIDRs such as 10.96.0.0/12,fd00:10:96::/108',
    true,
  ),
  metavar: 'CIDR',
};

/** A Kubernetes object name matching `pattern` (DNS_LABEL, DNS_SUBDOMAIN), at most 253 characters. */
export const name = (pattern: RegExp, what: string): Kind<string> => ({
  ...text(what, { pattern, max: 253 }),
  metavar: 'NAME',
});

export function fmtMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

// ---- the table ---------------------------------------------------------------------------------------

/** One setting. `D` is the default's type: `undefined` makes the value optional. */
export interface Setting<T = unknown, D extends T | undefined = T | undefined> {
  readonly kind: Kind<T>;
  /** The long flag, without `--`. */
  readonly flag: string;
  readonly short?: string;
  /** The environment variable, if the setting has one. */
  readonly env?: string;
  /** The key in the `--config` file (dotted for nested mappings), if the mode reads one. */
  readonly file?: string;
  /** The value when no source gives one, already typed; `undefined`: none (or the mode derives one). */
  readonly default: D;
  readonly help: string;
  /** The placeholder in `--help`, when the kind's (`VALUE`, `N`, …) says too little. */
  readonly metavar?: string;
}

/** A row of a table, typed: its default must be a value of its kind. */
export const setting = <T, const D extends T | undefined>(row: Setting<T, D>): Setting<T, D> => row;

// biome-ignore lint/suspicious/noExplicitAny: a table holds settings of every value type
export type Table = Readonly<Record<string, Setting<any, any>>>;

type ValueOf<S> = S extends Setting<infer T, infer D> ? (undefined extends D ? T | undefined : T) : never;

export type Values<S extends Table> = { readonly [K in keyof S]: ValueOf<S[K]> };

/** Where settings come from. */
export interface Sources {
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reads the config file (injected for tests); needed only when the mode takes one. */
  readonly readFile?: (path: string) => string;
}

/** A `--config FILE` / `SOCKEYE_CONFIG` setting: the file that holds the table's `file` keys. */
export interface ConfigFileSetting {
  readonly flag: string;
  readonly env: string;
  readonly help: string;
}

export interface LoadOptions {
  /** Prefix of error messages (`sidecar: --interval: …`); none for the operator, whose settings name themselves. */
  readonly command?: string;
  /** Whether the command takes operands (`sockeye probe HOST:PORT…`). */
  readonly positionals?: boolean;
  readonly configFile?: ConfigFileSetting;
}

export interface Loaded<S extends Table> {
  readonly values: Values<S>;
  /** `-h`/`--help`, which every mode takes. */
  readonly help: boolean;
  readonly positionals: string[];
}

const HELP_FLAG = 'help';

/** Reads every setting of `table`, or throws `ConfigError` naming the first bad one. */
export function loadSettings<const S extends Table>(
  table: S,
  sources: Sources,
  how: LoadOptions = {},
): Loaded<S> {
  const env = sources.env ?? {};
  const prefix = how.command === undefined ? '' : `${how.command}: `;
  const parsed = readFlags(sources.argv, argOptions(table, how), {
    ...(how.command === undefined ? {} : { command: how.command }),
    positionals: how.positionals ?? false,
  });
  const flags = parsed.values as Readonly<Record<string, unknown>>;
  const configPath =
    how.configFile && (asString(flags[how.configFile.flag]) ?? nonEmpty(env[how.configFile.env]));
  const file =
    configPath === undefined || configPath === ''
      ? new Map<string, unknown>()
      : readConfigFile(configPath, table, sources.readFile);

  const values: Record<string, unknown> = {};
  for (const [key, row] of Object.entries(table)) {
    const picked = pick(row, flags, env, file, configPath);
    if (picked === undefined) {
      values[key] = row.default;
      continue;
    }
    const result = row.kind.schema.safeParse(picked.value);
    if (!result.success) {
      const problem = result.error.issues.map((i) => i.message).join('; ');
      const shown = Array.isArray(picked.value) ? picked.value.join(',') : picked.value;
      throw new ConfigError(`${prefix}${picked.where}: ${problem} (got ${JSON.stringify(shown)})`);
    }
    values[key] = result.data;
  }
  return { values: values as Values<S>, help: flags[HELP_FLAG] === true, positionals: parsed.positionals };
}

function argOptions(table: Table, how: LoadOptions): ParseArgsOptionsConfig {
  const options: ParseArgsOptionsConfig = { [HELP_FLAG]: { type: 'boolean', short: 'h' } };
  if (how.configFile) options[how.configFile.flag] = { type: 'string' };
  for (const row of Object.values(table)) {
    options[row.flag] = {
      type: row.kind.arg === 'switch' ? 'boolean' : 'string',
      multiple: row.kind.arg === 'values',
      ...(row.short === undefined ? {} : { short: row.short }),
    };
  }
  return options;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** The highest-precedence value of one setting, and where it came from (for error messages). */
function pick(
  row: Setting,
  flags: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
  file: ReadonlyMap<string, unknown>,
  configPath: string | undefined,
): { value: unknown; where: string } | undefined {
  const flag = flags[row.flag];
  if (flag !== undefined) return { value: flag, where: `--${row.flag}` };
  const fromEnv = row.env === undefined ? undefined : nonEmpty(env[row.env]);
  if (row.env !== undefined && fromEnv !== undefined) return { value: fromEnv, where: row.env };
  if (row.file !== undefined && file.has(row.file)) {
    return { value: file.get(row.file), where: `${configPath}: ${row.file}` };
  }
  return undefined;
}

/** Reads a YAML or JSON file (JSON is YAML) into dotted keys; unknown keys fail, so typos do. */
function readConfigFile(
  path: string,
  table: Table,
  readFile: ((path: string) => string) | undefined,
): Map<string, unknown> {
  let source: string;
  try {
    if (readFile === undefined) throw new Error('no file reader');
    source = readFile(path);
  } catch (err) {
    throw new ConfigError(`--config ${path}: cannot read it (${err instanceof Error ? err.message : err})`, {
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = parseYaml(source);
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML or JSON (${err instanceof Error ? err.message : err})`, {
      cause: err,
    });
  }
  const out = new Map<string, unknown>();
  if (doc === null || doc === undefined) return out;
  const known = new Set(Object.values(table).flatMap((row) => (row.file === undefined ? [] : [row.file])));
  const walk = (node: unknown, prefix: string): void => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      throw new ConfigError(`${path}: ${prefix || 'the document'} should be a mapping`);
    }
    for (const [key, value] of Object.entries(node)) {
      const dotted = prefix ? `${prefix}.${key}` : key;
      if (known.has(dotted)) {
        out.set(dotted, value);
      } else if ([...known].some((k) => k.startsWith(`${dotted}.`))) {
        walk(value, dotted);
      } else {
        throw new ConfigError(`${path}: unknown key "${dotted}"`);
      }
    }
  };
  walk(doc, '');
  return out;
}

// ---- help ----------------------------------------------------------------------------------------------

/**
 * The flag rows of a mode's `--help`: `-s, --flag VALUE   SOCKEYE_ENV   help (default …)`, the config
 * file first, `-h, --help` last. The short-flag and variable columns appear only when a row has one.
 */
export function settingsHelp(table: Table, how: Pick<LoadOptions, 'configFile'> = {}): string {
  const rows: { short: string; flag: string; env: string; help: string }[] = [];
  if (how.configFile) {
    const c = how.configFile;
    rows.push({ short: '', flag: `--${c.flag} FILE`, env: c.env, help: c.help });
  }
  for (const row of Object.values(table)) {
    const shown = row.default === undefined ? '' : row.kind.show(row.default);
    rows.push({
      short: row.short === undefined ? '' : `-${row.short}, `,
      flag:
        row.kind.arg === 'switch' ? `--[no-]${row.flag}` : `--${row.flag} ${row.metavar ?? row.kind.metavar}`,
      env: row.env ?? '',
      help: shown === '' ? row.help : `${row.help} (default ${shown})`,
    });
  }
  rows.push({ short: '-h, ', flag: '--help', env: '', help: 'this text' });
  const shortWidth = Math.max(...rows.map((r) => r.short.length));
  const flagWidth = Math.max(...rows.map((r) => r.flag.length));
  const envWidth = Math.max(...rows.map((r) => r.env.length));
  return rows
    .map((r) => {
      const env = envWidth === 0 ? '' : `${r.env.padEnd(envWidth)}  `;
      return `  ${r.short.padStart(shortWidth)}${r.flag.padEnd(flagWidth)}  ${env}${r.help}`.trimEnd();
    })
    .join('\n');
}

// ---- rows more than one mode has -------------------------------------------------------------------------

/** `--context` and `--kubeconfig`, as kubectl takes them: flags only (kubectl's variable is `$KUBECONFIG`). */
export const CLUSTER_SETTINGS = {
  context: setting({
    kind: text('a kubeconfig context'),
    flag: 'context',
    metavar: 'NAME',
    default: undefined,
    help: 'kubeconfig context to use (default: the current one)',
  }),
  kubeconfig: setting({
    kind: text('a kubeconfig file'),
    flag: 'kubeconfig',
    metavar: 'FILE',
    default: undefined,
    help: 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)',
  }),
} as const;

/** What `--kubeconfig` and `--context` asked for; neither given: client-node's default order. */
export type ClusterChoice = Partial<Values<typeof CLUSTER_SETTINGS>>;

/** `-c, --concurrency N` of the one-shot commands (audit, probe): connects in flight at once. */
export const CONCURRENCY_SETTING = setting({
  kind: integer(1, 100_000),
  flag: 'concurrency',
  short: 'c',
  default: 256,
  help: 'connects in flight at once',
});

/**
 * The Service data path checks (docs/design.md "Safety"), each on unless turned off: the operator's and
 * the audit's, with the same flags, variables and `--config` keys.
 */
export const HOP_SETTINGS = {
  checkClusterIP: setting({
    file: 'checkClusterIP',
    flag: 'check-cluster-ip',
    env: 'SOCKEYE_CHECK_CLUSTER_IP',
    kind: boolean,
    default: true,
    help: "also probe each Service's ClusterIPs on its ports, from where sockeye runs",
  }),
  checkNodePorts: setting({
    file: 'checkNodePorts',
    flag: 'check-node-ports',
    env: 'SOCKEYE_CHECK_NODE_PORTS',
    kind: boolean,
    default: true,
    help: "also probe each NodePort/LoadBalancer Service's own nodePorts (and healthCheckNodePort) on every node InternalIP",
  }),
  checkLoadBalancers: setting({
    file: 'checkLoadBalancers',
    flag: 'check-load-balancers',
    env: 'SOCKEYE_CHECK_LOAD_BALANCERS',
    kind: boolean,
    default: true,
    help: "also probe each LoadBalancer Service's ingress IPs (from its status) on its ports",
  }),
} as const;

/**
 * The node sockeye runs on (downward API `spec.nodeName`), named when a ClusterIP does not forward
 * from it: the operator's, and the audit's when it runs in a pod.
 */
export const NODE_NAME_SETTING = setting({
  file: 'prober.nodeName',
  flag: 'node-name',
  env: 'SOCKEYE_NODE_NAME',
  kind: name(DNS_SUBDOMAIN, 'a node name'),
  default: undefined,
  help: 'the node this pod runs on (downward API), named when a ClusterIP does not forward from it',
});

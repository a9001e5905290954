/**
 * The `sockeye operator` configuration: flags > env (`SOCKEYE_*`) > file (`--config`, YAML or JSON) >
 * defaults. Every setting is one row of `OPERATOR_OPTIONS` (flag, env var, file key, kind, default),
 * so the three sources cannot drift apart and `--help` is generated from the same table. Each value is
 * validated by the zod schema of its kind; a bad one fails start-up with a message naming where it came
 * from (`--interval`, `SOCKEYE_INTERVAL` or `sockeye.yaml: interval`).
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MAX_TIMEOUT_MS, parseBoolean, parseDuration } from './annotations.ts';
import { CLUSTER_FLAGS, CLUSTER_FLAGS_HELP, ConfigError, readFlags as readArgv } from './flags.ts';

export { ConfigError };

export interface OperatorConfig {
  /** How often every Service is probed, plus up to `intervalJitter` of it at random. */
  readonly intervalMs: number;
  readonly intervalJitter: number;
  readonly timeoutMs: number;
  /** Connects in flight at most, for the whole operator (fair between namespaces: probe/slots.ts). */
  readonly concurrency: number;
  /** Namespaces to watch (empty: all) and to leave alone. */
  readonly namespaces: { readonly include: readonly string[]; readonly exclude: readonly string[] };
  /** Probes that must agree before a failure is reported (1: report the first). */
  readonly confirmations: number;
  readonly leaderElection: {
    readonly enabled: boolean;
    readonly leaseName: string;
    readonly leaseNamespace: string;
    readonly leaseDurationMs: number;
    readonly renewDeadlineMs: number;
    readonly retryPeriodMs: number;
  };
  /** Who sockeye is: the Event reporting instance, the lease holder, and the source NetworkPolicies see. */
  readonly prober: {
    readonly podName: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
  };
  readonly http: { readonly host: string; readonly port: number };
  /**
   * /metrics and /sockeye/v1/findings: over HTTPS behind a TokenReview and a SubjectAccessReview when
   * `secure`, on `port`; not secure and without a port, on the health listener (`http.port`).
   */
  readonly metrics: { readonly secure: boolean; readonly port: number | undefined };
  readonly writeAnnotations: boolean;
  readonly writeEvents: boolean;
  readonly optIn: { readonly selectorlessServices: boolean; readonly hostNetworkPods: boolean };
  /**
   * `--kubeconfig` and `--context`, as kubectl takes them: flags only (kubectl's `$KUBECONFIG` is the
   * variable), so neither is in the option table, the chart's environment or the config file.
   */
  readonly cluster: { readonly kubeconfig?: string; readonly context?: string };
}

// ---- value kinds: each accepts a string (flag, env) or a typed value (file) -------------------------

function fromText<T>(parse: (text: string) => { ok: true; value: T } | { ok: false; problem: string }) {
  return (value: string, ctx: z.RefinementCtx): T => {
    const parsed = parse(value);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.problem });
    return z.NEVER;
  };
}

const duration = (minMs: number, maxMs: number) =>
  z
    .string({ error: 'want a duration such as 1500ms, 2s or 1m' })
    .transform(fromText(parseDuration))
    .refine((ms) => ms >= minMs && ms <= maxMs, `want a duration from ${fmtMs(minMs)} to ${fmtMs(maxMs)}`);

const integer = (min: number, max: number) =>
  z
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
    .pipe(z.int(`want a whole number`).min(min, `want at least ${min}`).max(max, `want at most ${max}`));

const fraction = z
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
  .pipe(z.number().min(0, 'want a number from 0 to 1').max(1, 'want a number from 0 to 1'));

const boolean = z.union([z.boolean(), z.string().transform(fromText(parseBoolean))], {
  error: 'want true or false',
});

/** Lowercase RFC 1123 labels: what Kubernetes accepts as a namespace or Lease name. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const name = (pattern: RegExp, what: string) =>
  z
    .string({ error: `want ${what}` })
    .trim()
    .max(253)
    .regex(pattern, `want ${what}`);

const nameList = z
  .union([
    z.array(z.string(), { error: 'want a list of namespace names' }),
    z.string().transform((s) => s.split(',')),
  ])
  .transform((names) => names.map((n) => n.trim()).filter((n) => n !== ''))
  .pipe(z.array(z.string().regex(DNS_LABEL, 'want namespace names (lowercase letters, digits and -)')));

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

const labels = z
  .union(
    [
      z.record(z.string(), z.string(), { error: 'want labels as key=value,key=value' }),
      z.string().transform((s, ctx) => {
        const out: Record<string, string> = {};
        for (const pair of s.split(',').filter((p) => p.trim() !== '')) {
          const eq = pair.indexOf('=');
          if (eq < 0) {
            ctx.addIssue({ code: 'custom', message: 'want labels as key=value,key=value' });
            return z.NEVER;
          }
          out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
        }
        return out;
      }),
    ],
    { error: 'want labels as key=value,key=value' },
  )
  .superRefine((map, ctx) => {
    for (const [key, value] of Object.entries(map)) {
      if (!LABEL_KEY.test(key) || key.length > 317)
        ctx.addIssue({ code: 'custom', message: `bad label key "${key}"` });
      if (!LABEL_VALUE.test(value) || value.length > 63) {
        ctx.addIssue({ code: 'custom', message: `bad label value "${value}" for "${key}"` });
      }
    }
  });

const host = z.string({ error: 'want a listen address' }).trim().min(1, 'want a listen address');

// ---- the option table ------------------------------------------------------------------------------

interface Option {
  /** Key in the config file (dotted for nested objects) and in `RawConfig`. */
  readonly file: string;
  readonly flag: string;
  readonly env: string;
  readonly schema: z.ZodType;
  /** undefined: derived from other settings after the merge (see `derive`). */
  readonly default: unknown;
  /** A flag without a value (`--x`, `--no-x`). */
  readonly boolean?: true;
  /** A flag that may repeat (`--namespace a --namespace b`), joined with commas. */
  readonly multiple?: true;
  readonly help: string;
}

export const OPERATOR_OPTIONS: readonly Option[] = [
  {
    file: 'interval',
    flag: 'interval',
    env: 'SOCKEYE_INTERVAL',
    schema: duration(1000, 24 * 3_600_000),
    default: '30s',
    help: 'time between two probes of a Service',
  },
  {
    file: 'intervalJitter',
    flag: 'interval-jitter',
    env: 'SOCKEYE_INTERVAL_JITTER',
    schema: fraction,
    default: 0.1,
    help: 'random extra delay, as a fraction of the interval, so probes spread out',
  },
  {
    file: 'timeout',
    flag: 'timeout',
    env: 'SOCKEYE_TIMEOUT',
    schema: duration(1, MAX_TIMEOUT_MS),
    default: '2s',
    help: 'connect timeout of one probe',
  },
  {
    file: 'concurrency',
    flag: 'concurrency',
    env: 'SOCKEYE_CONCURRENCY',
    schema: integer(1, 10_000),
    default: 64,
    help: 'connects in flight at most, across every worker and timeout; a namespace takes at most half',
  },
  {
    file: 'namespaces',
    flag: 'namespace',
    env: 'SOCKEYE_NAMESPACES',
    schema: nameList,
    default: [],
    multiple: true,
    help: 'namespaces to watch (repeat or comma list; default all)',
  },
  {
    file: 'excludeNamespaces',
    flag: 'exclude-namespace',
    env: 'SOCKEYE_EXCLUDE_NAMESPACES',
    schema: nameList,
    default: [],
    multiple: true,
    help: 'namespaces never to watch (repeat or comma list)',
  },
  {
    file: 'confirmations',
    flag: 'confirmations',
    env: 'SOCKEYE_CONFIRMATIONS',
    schema: integer(1, 10),
    default: 2,
    help: 'probes that must fail in a row before a failure is reported',
  },
  {
    file: 'leaderElection.enabled',
    flag: 'leader-elect',
    env: 'SOCKEYE_LEADER_ELECT',
    schema: boolean,
    default: true,
    boolean: true,
    help: 'run leader election so that only one replica probes and writes',
  },
  {
    file: 'leaderElection.leaseName',
    flag: 'lease-name',
    env: 'SOCKEYE_LEASE_NAME',
    schema: name(DNS_SUBDOMAIN, 'a Lease name (lowercase letters, digits, - and .)'),
    default: 'sockeye-operator',
    help: 'name of the leader election Lease',
  },
  {
    file: 'leaderElection.leaseNamespace',
    flag: 'lease-namespace',
    env: 'SOCKEYE_LEASE_NAMESPACE',
    schema: name(DNS_LABEL, 'a namespace name'),
    default: undefined,
    help: "namespace of the Lease (default: the prober's namespace)",
  },
  {
    file: 'leaderElection.leaseDuration',
    flag: 'lease-duration',
    env: 'SOCKEYE_LEASE_DURATION',
    schema: duration(2000, 600_000),
    default: '15s',
    help: 'how long a Lease holds without renewal',
  },
  {
    file: 'leaderElection.renewDeadline',
    flag: 'renew-deadline',
    env: 'SOCKEYE_RENEW_DEADLINE',
    schema: duration(1000, 600_000),
    default: '10s',
    help: 'how long the leader keeps trying to renew before it gives up',
  },
  {
    file: 'leaderElection.retryPeriod',
    flag: 'retry-period',
    env: 'SOCKEYE_RETRY_PERIOD',
    schema: duration(100, 600_000),
    default: '2s',
    help: 'time between two lease actions',
  },
  {
    file: 'prober.podName',
    flag: 'pod-name',
    env: 'SOCKEYE_POD_NAME',
    schema: name(DNS_SUBDOMAIN, 'a pod name'),
    default: undefined,
    help: 'this pod (downward API); default $HOSTNAME',
  },
  {
    file: 'prober.namespace',
    flag: 'pod-namespace',
    env: 'SOCKEYE_POD_NAMESPACE',
    schema: name(DNS_LABEL, 'a namespace name'),
    default: 'default',
    help: "this pod's namespace (downward API), for NetworkPolicy checks",
  },
  {
    file: 'prober.labels',
    flag: 'pod-labels',
    env: 'SOCKEYE_POD_LABELS',
    schema: labels,
    default: {},
    help: "this pod's labels as key=value,…, for NetworkPolicy checks",
  },
  {
    file: 'http.host',
    flag: 'http-host',
    env: 'SOCKEYE_HTTP_HOST',
    schema: host,
    default: '::',
    help: 'listen address of every listener (:: takes IPv4 too; 0.0.0.0 when the host has no IPv6)',
  },
  {
    file: 'http.port',
    flag: 'http-port',
    env: 'SOCKEYE_HTTP_PORT',
    schema: integer(0, 65_535),
    default: 8080,
    help: 'plain HTTP port of /healthz /readyz, open (0: any free port)',
  },
  {
    file: 'metrics.secure',
    flag: 'metrics-secure',
    env: 'SOCKEYE_METRICS_SECURE',
    schema: boolean,
    default: true,
    boolean: true,
    help: 'serve /metrics and /sockeye/v1/findings over HTTPS to callers whose token RBAC allows get on the path',
  },
  {
    file: 'metrics.port',
    flag: 'metrics-port',
    env: 'SOCKEYE_METRICS_PORT',
    schema: integer(0, 65_535),
    default: undefined,
    help: 'port of /metrics and /sockeye/v1/findings (default 8443; without --metrics-secure: the http port)',
  },
  {
    file: 'writeAnnotations',
    flag: 'annotations',
    env: 'SOCKEYE_ANNOTATIONS',
    schema: boolean,
    default: true,
    boolean: true,
    help: 'write sockeye.dev/status, summary and since on Services and Pods',
  },
  {
    file: 'writeEvents',
    flag: 'events',
    env: 'SOCKEYE_EVENTS',
    schema: boolean,
    default: true,
    boolean: true,
    help: 'write Events (kubectl describe)',
  },
  {
    file: 'probeSelectorlessServices',
    flag: 'probe-selectorless-services',
    env: 'SOCKEYE_PROBE_SELECTORLESS_SERVICES',
    schema: boolean,
    default: false,
    boolean: true,
    help: 'also probe Services without a selector (hand-made EndpointSlices)',
  },
  {
    file: 'probeHostNetworkPods',
    flag: 'probe-host-network-pods',
    env: 'SOCKEYE_PROBE_HOST_NETWORK_PODS',
    schema: boolean,
    default: false,
    boolean: true,
    help: 'also probe hostNetwork pods (their IP is the node)',
  },
];

const CONFIG_FLAG = 'config';
const CONFIG_ENV = 'SOCKEYE_CONFIG';

export interface OperatorConfigSources {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads the `--config` file (injected for tests). */
  readonly readFile: (path: string) => string;
}

/** Builds the operator configuration, or throws `ConfigError` naming the first bad setting. */
export function loadOperatorConfig(sources: OperatorConfigSources): OperatorConfig {
  const flags = readFlags(sources.argv);
  const configPath = flagValue(flags, CONFIG_FLAG) ?? nonEmpty(sources.env[CONFIG_ENV]);
  const file =
    configPath === undefined ? new Map<string, unknown>() : readConfigFile(configPath, sources.readFile);

  const values = new Map<string, unknown>();
  for (const option of OPERATOR_OPTIONS) {
    const picked = pick(option, flags, sources.env, file, configPath);
    if (picked === undefined) continue;
    const result = option.schema.safeParse(picked.value);
    if (!result.success) {
      const problem = result.error.issues.map((i) => i.message).join('; ');
      throw new ConfigError(`${picked.where}: ${problem} (got ${JSON.stringify(picked.value)})`);
    }
    values.set(option.file, result.data);
  }
  return { ...derive(values, sources.env), cluster: clusterChoice(flags) };
}

type Flags = ReturnType<typeof readFlags>;

function readFlags(argv: readonly string[]) {
  const options: ParseArgsOptionsConfig = { [CONFIG_FLAG]: { type: 'string' }, ...CLUSTER_FLAGS };
  for (const option of OPERATOR_OPTIONS) {
    options[option.flag] = option.boolean
      ? { type: 'boolean' }
      : { type: 'string', multiple: option.multiple ?? false };
  }
  return readArgv(argv, options).values;
}

function clusterChoice(flags: Flags): OperatorConfig['cluster'] {
  const kubeconfig = flagValue(flags, 'kubeconfig');
  const context = flagValue(flags, 'context');
  return {
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    ...(context === undefined ? {} : { context }),
  };
}

function flagValue(flags: Flags, flag: string): string | undefined {
  const value = flags[flag];
  return typeof value === 'string' ? value : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The highest-precedence value of one option, and where it came from (for error messages). */
function pick(
  option: Option,
  flags: Flags,
  env: Readonly<Record<string, string | undefined>>,
  file: ReadonlyMap<string, unknown>,
  configPath: string | undefined,
): { value: unknown; where: string } | undefined {
  const flag = flags[option.flag];
  if (flag !== undefined) {
    return { value: Array.isArray(flag) ? flag.join(',') : flag, where: `--${option.flag}` };
  }
  const fromEnv = nonEmpty(env[option.env]);
  if (fromEnv !== undefined) return { value: fromEnv, where: option.env };
  if (file.has(option.file)) return { value: file.get(option.file), where: `${configPath}: ${option.file}` };
  if (option.default !== undefined) return { value: option.default, where: `default of ${option.file}` };
  return undefined;
}

/** Reads a YAML or JSON file (JSON is YAML) into dotted keys; unknown keys fail, so typos do. */
function readConfigFile(path: string, readFile: (path: string) => string): Map<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new ConfigError(`--config ${path}: cannot read it (${err instanceof Error ? err.message : err})`, {
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML or JSON (${err instanceof Error ? err.message : err})`, {
      cause: err,
    });
  }
  const out = new Map<string, unknown>();
  if (doc === null || doc === undefined) return out;
  const known = new Set(OPERATOR_OPTIONS.map((o) => o.file));
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

/** Fills the settings whose defaults depend on others and checks the ones that constrain each other. */
function derive(
  values: ReadonlyMap<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): Omit<OperatorConfig, 'cluster'> {
  const get = <T>(key: string): T => values.get(key) as T;
  const proberNamespace = get<string>('prober.namespace');
  const podName = get<string | undefined>('prober.podName') ?? nonEmpty(env.HOSTNAME) ?? 'sockeye';
  const config: Omit<OperatorConfig, 'cluster'> = {
    intervalMs: get('interval'),
    intervalJitter: get('intervalJitter'),
    timeoutMs: get('timeout'),
    concurrency: get('concurrency'),
    namespaces: { include: get('namespaces'), exclude: get('excludeNamespaces') },
    confirmations: get('confirmations'),
    leaderElection: {
      enabled: get('leaderElection.enabled'),
      leaseName: get('leaderElection.leaseName'),
      leaseNamespace: get<string | undefined>('leaderElection.leaseNamespace') ?? proberNamespace,
      leaseDurationMs: get('leaderElection.leaseDuration'),
      renewDeadlineMs: get('leaderElection.renewDeadline'),
      retryPeriodMs: get('leaderElection.retryPeriod'),
    },
    prober: { podName, namespace: proberNamespace, labels: get('prober.labels') },
    http: { host: get('http.host'), port: get('http.port') },
    metrics: {
      secure: get('metrics.secure'),
      port: get<number | undefined>('metrics.port') ?? (get('metrics.secure') ? 8443 : undefined),
    },
    writeAnnotations: get('writeAnnotations'),
    writeEvents: get('writeEvents'),
    optIn: {
      selectorlessServices: get('probeSelectorlessServices'),
      hostNetworkPods: get('probeHostNetworkPods'),
    },
  };
  if (
    config.metrics.port !== undefined &&
    config.metrics.port !== 0 &&
    config.metrics.port === config.http.port
  ) {
    throw new ConfigError(
      `metrics-port ${config.metrics.port} is the http-port: give /metrics a port of its own, or leave it unset with --no-metrics-secure`,
    );
  }
  const le = config.leaderElection;
  if (le.enabled) {
    if (le.leaseDurationMs <= le.renewDeadlineMs) {
      throw new ConfigError('lease-duration must be longer than renew-deadline');
    }
    if (le.renewDeadlineMs <= 1.2 * le.retryPeriodMs) {
      throw new ConfigError('renew-deadline must be longer than 1.2 × retry-period');
    }
    if (le.leaseDurationMs % 1000 !== 0) throw new ConfigError('lease-duration must be whole seconds');
  }
  if (config.timeoutMs >= config.intervalMs) {
    throw new ConfigError(
      `timeout (${fmtMs(config.timeoutMs)}) must be shorter than interval (${fmtMs(config.intervalMs)})`,
    );
  }
  const both = config.namespaces.include.filter((ns) => config.namespaces.exclude.includes(ns));
  if (both.length > 0) {
    throw new ConfigError(
      `namespace ${both.join(', ')} is both included (--namespace) and excluded (--exclude-namespace)`,
    );
  }
  return config;
}

function fmtMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The flags table for `sockeye operator --help`. */
export function operatorHelp(): string {
  const rows = [
    {
      flag: `--${CONFIG_FLAG} FILE`,
      env: CONFIG_ENV,
      help: 'YAML or JSON file with the settings below (camelCase keys)',
    },
    ...CLUSTER_FLAGS_HELP.map(([flag, help]) => ({ flag, env: '', help })),
    ...OPERATOR_OPTIONS.map((o) => ({
      flag: o.boolean ? `--[no-]${o.flag}` : `--${o.flag} VALUE`,
      env: o.env,
      help: o.default === undefined ? o.help : `${o.help} (default ${JSON.stringify(o.default)})`,
    })),
  ];
  const width = Math.max(...rows.map((r) => r.flag.length));
  const envWidth = Math.max(...rows.map((r) => r.env.length));
  return rows.map((r) => `  ${r.flag.padEnd(width)}  ${r.env.padEnd(envWidth)}  ${r.help}`).join('\n');
}

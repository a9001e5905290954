/**
 * `sockeye sidecar` settings: flags > env > defaults, and the pod's identity from the downward API.
 * A bad value fails start-up with a message naming the flag or env var. Pure: argv and env come in.
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import { parseDuration } from '../config/annotations.ts';
import { booleanSetting, readFlags } from '../config/flags.ts';
import { UsageError } from '../config/usage-error.ts';
import type { DeclaredPort } from './classify.ts';

export interface SidecarConfig {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Rounds a class must hold before Events and annotations report it. */
  readonly confirmations: number;
  readonly http: { readonly host: string | undefined; readonly port: number };
  /** Ports to check when the pod spec cannot be read through the API. */
  readonly ports: readonly DeclaredPort[] | undefined;
  /** This container's name: its own ports are never checked. */
  readonly containerName: string;
  /** Use the API (pod spec, Events, annotations) when a ServiceAccount token is mounted. */
  readonly api: boolean;
  readonly events: boolean;
  readonly annotations: boolean;
}

export interface PodIdentity {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly uid: string | undefined;
  /** From POD_IPS (comma list, as the downward API writes status.podIPs), else POD_IP; may be empty. */
  readonly ips: readonly string[];
}

export const DEFAULT_HTTP_PORT = 9876;

const OPTIONS = {
  ports: { env: 'SOCKEYE_PORTS', help: 'ports to check without API access: 8080,metrics=9090' },
  interval: { env: 'SOCKEYE_INTERVAL', help: 'time between two rounds (default 10s)' },
  timeout: {
    env: 'SOCKEYE_TIMEOUT',
    help: 'connect timeout of one probe (default 1s, at most half the interval)',
  },
  confirmations: {
    env: 'SOCKEYE_CONFIRMATIONS',
    help: 'rounds a change must hold before it is reported (default 2)',
  },
  port: {
    env: 'SOCKEYE_HTTP_PORT',
    help: `port of /healthz, /readyz, /metrics (default ${DEFAULT_HTTP_PORT})`,
  },
  host: { env: 'SOCKEYE_HTTP_HOST', help: 'address to serve on (default: every address)' },
  'container-name': {
    env: 'SOCKEYE_CONTAINER_NAME',
    help: 'this container’s name in the pod (default sockeye)',
  },
  api: {
    env: 'SOCKEYE_API',
    help: 'use the Kubernetes API when a token is mounted (default true)',
    boolean: true,
  },
  events: { env: 'SOCKEYE_EVENTS', help: 'write Events on the pod (default true)', boolean: true },
  annotations: {
    env: 'SOCKEYE_ANNOTATIONS',
    help: 'write sockeye.dev/* annotations on the pod (default true)',
    boolean: true,
  },
} as const satisfies Record<string, { env: string; help: string; boolean?: true }>;

type Name = keyof typeof OPTIONS;

export function sidecarHelp(): string {
  const rows = Object.entries(OPTIONS).map(([flag, o]) => ({
    flag: 'boolean' in o ? `--[no-]${flag}` : `--${flag} VALUE`,
    env: o.env,
    help: o.help,
  }));
  const width = Math.max(...rows.map((r) => r.flag.length));
  const envWidth = Math.max(...rows.map((r) => r.env.length));
  return rows.map((r) => `  ${r.flag.padEnd(width)}  ${r.env.padEnd(envWidth)}  ${r.help}`).join('\n');
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadSidecarConfig(argv: readonly string[], env: Env): SidecarConfig {
  const options: ParseArgsOptionsConfig = {};
  for (const [flag, o] of Object.entries(OPTIONS))
    options[flag] = { type: 'boolean' in o ? 'boolean' : 'string' };
  const { values } = readFlags(argv, options, { command: 'sidecar' });
  const raw = (name: Name): { value: string; where: string } | undefined => {
    const flag = values[name];
    if (flag !== undefined) return { value: String(flag), where: `--${name}` };
    const fromEnv = env[OPTIONS[name].env]?.trim();
    return fromEnv ? { value: fromEnv, where: OPTIONS[name].env } : undefined;
  };
  const duration = (name: Name, fallback: number, min: number, max: number): number => {
    const r = raw(name);
    if (!r) return fallback;
    const d = parseDuration(r.value);
    if (!d.ok) throw new UsageError(`sidecar: ${r.where}: ${d.problem} (got "${r.value}")`);
    if (d.value < min || d.value > max) {
      throw new UsageError(
        `sidecar: ${r.where}: want a duration from ${min}ms to ${max}ms (got "${r.value}")`,
      );
    }
    return d.value;
  };
  const integer = (name: Name, fallback: number, min: number, max: number): number => {
    const r = raw(name);
    if (!r) return fallback;
    const n = Number(r.value);
    if (!/^\d+$/.test(r.value) || n < min || n > max) {
      throw new UsageError(
        `sidecar: ${r.where}: want a whole number from ${min} to ${max} (got "${r.value}")`,
      );
    }
    return n;
  };
  const bool = (name: Name): boolean => {
    const r = raw(name);
    return r ? booleanSetting(r.value, `sidecar: ${r.where}`) : true;
  };
  const portsRaw = raw('ports');
  const intervalMs = duration('interval', 10_000, 100, 3_600_000);
  const config: SidecarConfig = {
    intervalMs,
    // Inside the pod a refusal is immediate; the default only has to bound a dropped SYN.
    timeoutMs: duration('timeout', Math.min(1000, Math.floor(intervalMs / 2)), 1, 60_000),
    confirmations: integer('confirmations', 2, 1, 100),
    http: { host: raw('host')?.value, port: integer('port', DEFAULT_HTTP_PORT, 0, 65535) },
    ports: portsRaw ? parsePorts(portsRaw.value, portsRaw.where) : undefined,
    containerName: raw('container-name')?.value ?? 'sockeye',
    api: bool('api'),
    events: bool('events'),
    annotations: bool('annotations'),
  };
  if (config.timeoutMs >= config.intervalMs) {
    throw new UsageError(
      `sidecar: timeout (${config.timeoutMs}ms) must be shorter than interval (${config.intervalMs}ms)`,
    );
  }
  return config;
}

/** `8080,metrics=9090`: numbers, optionally named like a containerPort. */
export function parsePorts(value: string, where: string): DeclaredPort[] {
  const ports: DeclaredPort[] = [];
  for (const item of value.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const m = /^(?:([a-z0-9]([-a-z0-9]*[a-z0-9])?)=)?(\d+)$/.exec(item);
    const number = Number(m?.[3]);
    if (!m || number < 1 || number > 65535) {
      throw new UsageError(`sidecar: ${where}: "${item}" is not a port (want 8080 or name=8080, 1-65535)`);
    }
    if (!ports.some((p) => p.number === number)) ports.push({ name: m[1] ?? '', number });
  }
  return ports;
}

/** Who the sidecar is, from the downward API env (POD_NAME, POD_NAMESPACE, POD_UID, POD_IPS/POD_IP). */
export function podIdentity(env: Env, fallbackNamespace: string | undefined): PodIdentity {
  const list = (env.POD_IPS?.trim() || env.POD_IP?.trim() || '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return {
    name: env.POD_NAME?.trim() || env.HOSTNAME?.trim() || 'unknown',
    namespace: env.POD_NAMESPACE?.trim() || fallbackNamespace,
    uid: env.POD_UID?.trim() || undefined,
    ips: [...new Set(list)],
  };
}

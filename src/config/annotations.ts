/**
 * The `sockeye.dev/*` annotations users set on a Service, Pod or Namespace (docs/design.md "Annotations").
 * Nearest wins: Pod, then Service, then Namespace. A value that cannot be parsed is reported as a
 * problem (the rules turn it into an `InvalidConfiguration` finding) and ignored as if absent, so the
 * next layer's value or the default applies. Never throws.
 */
import {
  ANNOTATION_PREFIX,
  IGNORE_PORTS_ANNOTATION,
  KNOWN_ANNOTATIONS,
  PROBE_ANNOTATION,
  TIMEOUT_ANNOTATION,
  USER_ANNOTATIONS,
} from '../model/annotation-keys.ts';
import type { Labels, ObjectRef } from '../model/types.ts';

export const DEFAULT_TIMEOUT_MS = 2000;
/** Longer would let one misconfigured object stall a probe round. */
export const MAX_TIMEOUT_MS = 60_000;

export interface ProbeConfig {
  /** False when `sockeye.dev/probe: "false"` opts the object out. */
  readonly probe: boolean;
  readonly timeoutMs: number;
  /** Port names and numbers not to probe. */
  readonly ignorePorts: readonly (string | number)[];
}

export const DEFAULT_CONFIG: ProbeConfig = { probe: true, timeoutMs: DEFAULT_TIMEOUT_MS, ignorePorts: [] };

/** One annotation sockeye could not use; becomes an `InvalidConfiguration` finding on `object`. */
export interface ConfigProblem {
  readonly object: ObjectRef;
  readonly key: string;
  readonly value: string;
  readonly problem: string;
}

/** One object's annotations, with the ports an `ignore-ports` entry may name (none known for a Namespace). */
export interface AnnotationLayer {
  readonly object: ObjectRef;
  readonly annotations: Labels;
  /** The ports this object has, to catch a typo in `ignore-ports`; undefined skips the check (Namespaces). */
  readonly knownPorts?: KnownPorts | undefined;
}

/** Port names an entry must be one of; numbers too when `numbers` is given (a Pod may be sent to undeclared ones). */
export interface KnownPorts {
  readonly names: ReadonlySet<string>;
  readonly numbers?: ReadonlySet<number> | undefined;
}

export interface ResolvedConfig {
  readonly config: ProbeConfig;
  readonly problems: readonly ConfigProblem[];
}

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

/** Parses one layer; fields left out are absent or invalid. */
export function parseLayer(layer: AnnotationLayer): {
  config: Partial<ProbeConfig>;
  problems: ConfigProblem[];
} {
  const config: { -readonly [K in keyof ProbeConfig]?: ProbeConfig[K] } = {};
  const problems: ConfigProblem[] = [];
  const take = <T>(key: string, parse: (v: string) => Parsed<T>, set: (v: T) => void) => {
    const value = layer.annotations[key];
    if (value === undefined) return;
    const parsed = parse(value);
    if (parsed.ok) set(parsed.value);
    else problems.push({ object: layer.object, key, value, problem: parsed.problem });
  };
  take(PROBE_ANNOTATION, parseBoolean, (v) => {
    config.probe = v;
  });
  take(TIMEOUT_ANNOTATION, parseTimeout, (v) => {
    config.timeoutMs = v;
  });
  take(
    IGNORE_PORTS_ANNOTATION,
    (v) => parsePortList(v, layer.knownPorts),
    (v) => {
      config.ignorePorts = v;
    },
  );
  for (const [key, value] of Object.entries(layer.annotations)) {
    if (!key.startsWith(ANNOTATION_PREFIX) || KNOWN_ANNOTATIONS.has(key)) continue;
    problems.push({
      object: layer.object,
      key,
      value,
      problem: `unknown annotation; the ones users set are ${USER_ANNOTATIONS.join(', ')}`,
    });
  }
  return { config, problems };
}

/** Resolves the layers nearest first (Pod, Service, Namespace); every layer's problems are returned. */
export function resolveConfig(
  layers: readonly AnnotationLayer[],
  defaults: ProbeConfig = DEFAULT_CONFIG,
): ResolvedConfig {
  const parsed = layers.map(parseLayer);
  const pick = <K extends keyof ProbeConfig>(key: K): ProbeConfig[K] => {
    for (const p of parsed) {
      const v = p.config[key];
      if (v !== undefined) return v as ProbeConfig[K];
    }
    return defaults[key];
  };
  return {
    config: { probe: pick('probe'), timeoutMs: pick('timeoutMs'), ignorePorts: pick('ignorePorts') },
    problems: parsed.flatMap((p) => p.problems),
  };
}

export function parseBoolean(value: string): Parsed<boolean> {
  const v = value.trim().toLowerCase();
  if (v === 'true') return { ok: true, value: true };
  if (v === 'false') return { ok: true, value: false };
  return { ok: false, problem: 'want "true" or "false"' };
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };

/** Durations as Go writes them, restricted to ms, s and m: `1500ms`, `2s`, `1.5s`, `1m30s`. */
export function parseDuration(value: string): Parsed<number> {
  const v = value.trim();
  const part = /(\d+(?:\.\d+)?)(ms|s|m)/y;
  let total = 0;
  let at = 0;
  while (at < v.length) {
    part.lastIndex = at;
    const m = part.exec(v);
    if (!m) break;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN);
    at = part.lastIndex;
  }
  if (v === '' || at !== v.length || !Number.isFinite(total)) {
    return { ok: false, problem: 'want a duration such as 1500ms, 2s or 1m' };
  }
  return { ok: true, value: Math.round(total) };
}

export function parseTimeout(value: string): Parsed<number> {
  const d = parseDuration(value);
  if (!d.ok) return d;
  if (d.value < 1 || d.value > MAX_TIMEOUT_MS) {
    return { ok: false, problem: `want a duration from 1ms to ${MAX_TIMEOUT_MS / 1000}s` };
  }
  return d;
}

/**
 * A comma list of port names and numbers. Numbers must be 1-65535; when `known` is given each entry must
 * be one of its ports (a typo would otherwise silently ignore nothing).
 */
export function parsePortList(value: string, known?: KnownPorts): Parsed<(string | number)[]> {
  const out: (string | number)[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    if (/^\d+$/.test(item)) {
      const n = Number(item);
      if (n < 1 || n > 65535) return { ok: false, problem: `port ${item} is out of range 1-65535` };
      if (known?.numbers && !known.numbers.has(n))
        return { ok: false, problem: `port ${item} is not a port of this object` };
      out.push(n);
    } else {
      if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(item)) {
        return { ok: false, problem: `"${item}" is neither a port number nor a port name` };
      }
      if (known && !known.names.has(item))
        return { ok: false, problem: `no port named "${item}" on this object` };
      out.push(item);
    }
  }
  return { ok: true, value: out };
}

/** Whether a port (by any of its names and numbers) is listed in `ignorePorts`. */
export function isIgnored(config: ProbeConfig, ...ids: readonly (string | number | undefined)[]): boolean {
  return ids.some((id) => id !== undefined && id !== '' && config.ignorePorts.includes(id));
}

/**
 * The `sockeye sidecar` settings table: flags > env > defaults (no config file: the sidecar is
 * configured through its container's args and env). It sits with the other tables because the webhook
 * reads it too: the container it injects serves on the sidecar's port, whose default is written here once.
 */
import { z } from 'zod';
import { boolean, duration, fromText, integer, type Kind, type Parsed, setting, text } from './settings.ts';

/** The port of the sidecar's /healthz, /readyz, /metrics and /status, and of the container the webhook injects. */
export const DEFAULT_SIDECAR_PORT = 9876;

/** A port the sidecar checks: its containerPort name (empty when it has none) and number. */
export interface PortSpec {
  readonly name: string;
  readonly number: number;
}

/** `8080,metrics=9090`: numbers, optionally named like a containerPort; each number once. */
export function readPorts(value: string): Parsed<PortSpec[]> {
  const ports: PortSpec[] = [];
  for (const item of value.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const m = /^(?:([a-z0-9]([-a-z0-9]*[a-z0-9])?)=)?(\d+)$/.exec(item);
    const number = Number(m?.[3]);
    if (!m || number < 1 || number > 65535) {
      return { ok: false, problem: `"${item}" is not a port (want 8080 or name=8080, 1-65535)` };
    }
    if (!ports.some((p) => p.number === number)) ports.push({ name: m[1] ?? '', number });
  }
  return { ok: true, value: ports };
}

const ports: Kind<readonly PortSpec[]> = {
  schema: z.string({ error: 'want ports such as 8080,metrics=9090' }).transform(fromText(readPorts)),
  arg: 'value',
  metavar: 'PORTS',
  show: (list) => list.map((p) => (p.name ? `${p.name}=${p.number}` : String(p.number))).join(','),
};

/** A TCP port to listen on (0: any free one). */
export const listenPort = integer(0, 65_535);

export const SIDECAR_SETTINGS = {
  ports: setting({
    kind: ports,
    flag: 'ports',
    env: 'SOCKEYE_PORTS',
    default: undefined,
    help: 'ports to check without API access: 8080,metrics=9090',
  }),
  interval: setting({
    kind: duration(100, 3_600_000),
    flag: 'interval',
    env: 'SOCKEYE_INTERVAL',
    default: 10_000,
    help: 'time between two rounds',
  }),
  timeout: setting({
    kind: duration(1, 60_000),
    flag: 'timeout',
    env: 'SOCKEYE_TIMEOUT',
    // Derived from the interval (sidecar/config.ts).
    default: undefined,
    help: 'connect timeout of one probe (default 1s, at most half the interval)',
  }),
  confirmations: setting({
    kind: integer(1, 100),
    flag: 'confirmations',
    env: 'SOCKEYE_CONFIRMATIONS',
    default: 2,
    help: 'rounds a change must hold before it is reported',
  }),
  port: setting({
    kind: listenPort,
    flag: 'port',
    env: 'SOCKEYE_HTTP_PORT',
    default: DEFAULT_SIDECAR_PORT,
    help: 'port of /healthz, /readyz, /metrics',
  }),
  host: setting({
    kind: text('a listen address'),
    flag: 'host',
    env: 'SOCKEYE_HTTP_HOST',
    metavar: 'ADDR',
    default: undefined,
    help: 'address to serve on (default: every address)',
  }),
  containerName: setting({
    kind: text('a container name'),
    flag: 'container-name',
    env: 'SOCKEYE_CONTAINER_NAME',
    metavar: 'NAME',
    default: 'sockeye',
    help: 'this container’s name in the pod',
  }),
  api: setting({
    kind: boolean,
    flag: 'api',
    env: 'SOCKEYE_API',
    default: true,
    help: 'use the Kubernetes API when a token is mounted',
  }),
  events: setting({
    kind: boolean,
    flag: 'events',
    env: 'SOCKEYE_EVENTS',
    default: true,
    help: 'write Events on the pod',
  }),
  annotations: setting({
    kind: boolean,
    flag: 'annotations',
    env: 'SOCKEYE_ANNOTATIONS',
    default: true,
    help: 'write sockeye.dev/* annotations on the pod',
  }),
} as const;

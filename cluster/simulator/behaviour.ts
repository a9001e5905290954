import { parseDuration } from '../../src/config/annotations.ts';

/**
 * What a simulated pod's sockets do, read from its `sim.sockeye.dev/*` annotations. This is the
 * whole scenario language of the local cluster: a test scenario is plain Kubernetes YAML.
 */

export const LISTEN = 'sim.sockeye.dev/listen';
export const READY = 'sim.sockeye.dev/ready';
export const NETWORK = 'sim.sockeye.dev/network';
export const NETNS = 'sim.sockeye.dev/netns';
export const TERMINATE_DELAY = 'sim.sockeye.dev/terminate-delay';
export const IPV6 = 'sim.sockeye.dev/ipv6';

export type ListenMode = 'accept' | 'reset' | 'drop';
export type ListenBind = 'any' | 'pod' | 'loopback' | 'ipv4' | 'ipv6';

export interface Listener {
  readonly port: number;
  readonly mode: ListenMode;
  readonly bind: ListenBind;
}

export interface PodBehaviour {
  readonly listeners: readonly Listener[];
  readonly ready: boolean;
  readonly networkDown: boolean;
  /** A private network namespace: needed when loopback differs from the pod IP, or to run commands in the pod. */
  readonly privateNetns: boolean;
  readonly terminateDelayMs: number;
  /** Dual-stack: the pod also gets the IPv6 twin of its address (see addresses.ts ipv6Twin). */
  readonly dualStack: boolean;
  /** Annotation problems, each naming the annotation; the rest of the behaviour still applies. */
  readonly problems: readonly string[];
}

const MODES: readonly string[] = ['accept', 'reset', 'drop'];
const BINDS: readonly string[] = ['any', 'pod', 'loopback', 'ipv4', 'ipv6'];

/** Parses one `PORT[/MODE][@BIND]` item. */
export function parseListener(item: string): Listener | string {
  const m = /^(\d+)(?:\/([a-z]+))?(?:@([a-z0-9]+))?$/.exec(item.trim());
  if (!m) return `"${item}" is not PORT[/MODE][@BIND]`;
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return `port ${m[1]} is outside 1-65535`;
  const mode = m[2] ?? 'accept';
  const bind = m[3] ?? 'any';
  if (!MODES.includes(mode)) return `mode "${mode}" in "${item}" is not one of ${MODES.join(', ')}`;
  if (!BINDS.includes(bind)) return `bind "${bind}" in "${item}" is not one of ${BINDS.join(', ')}`;
  return { port, mode: mode as ListenMode, bind: bind as ListenBind };
}

export function parseBehaviour(annotations: Readonly<Record<string, string>> | undefined): PodBehaviour {
  const a = annotations ?? {};
  const problems: string[] = [];
  const listeners: Listener[] = [];
  const seen = new Set<number>();
  for (const item of (a[LISTEN] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const parsed = parseListener(item);
    if (typeof parsed === 'string') problems.push(`${LISTEN}: ${parsed}`);
    else if (seen.has(parsed.port)) problems.push(`${LISTEN}: port ${parsed.port} is listed twice`);
    else {
      seen.add(parsed.port);
      listeners.push(parsed);
    }
  }
  const ready = a[READY];
  if (ready !== undefined && ready !== 'true' && ready !== 'false') {
    problems.push(`${READY}: "${ready}" is not "true" or "false"`);
  }
  const network = a[NETWORK];
  if (network !== undefined && network !== 'up' && network !== 'down') {
    problems.push(`${NETWORK}: "${network}" is not "up" or "down"`);
  }
  const netns = a[NETNS];
  if (netns !== undefined && netns !== 'shared' && netns !== 'private') {
    problems.push(`${NETNS}: "${netns}" is not "shared" or "private"`);
  }
  const ipv6 = a[IPV6];
  if (ipv6 !== undefined && ipv6 !== 'true' && ipv6 !== 'false') {
    problems.push(`${IPV6}: "${ipv6}" is not "true" or "false"`);
  }
  let terminateDelayMs = 0;
  const delay = a[TERMINATE_DELAY];
  if (delay !== undefined) {
    const parsed = parseDuration(delay);
    if (!parsed.ok)
      problems.push(`${TERMINATE_DELAY}: "${delay}" is not a duration such as 500ms, 30s or 2m`);
    else terminateDelayMs = parsed.value;
  }
  return {
    listeners,
    ready: ready !== 'false',
    networkDown: network === 'down',
    privateNetns: netns === 'private' || (netns !== 'shared' && listeners.some((l) => l.bind === 'loopback')),
    terminateDelayMs,
    dualStack: ipv6 === 'true',
    problems,
  };
}

/** The addresses a listener binds to, given the pod's IPs (IPv4 first) and where the pod lives. */
export function bindAddresses(
  listener: Listener,
  podIPs: readonly string[],
  privateNetns: boolean,
): string[] {
  const v4 = podIPs.filter((ip) => !ip.includes(':'));
  const v6 = podIPs.filter((ip) => ip.includes(':'));
  // In a node's shared namespace a wildcard would catch every pod of the node: bind the pod's own
  // addresses, which look the same from outside. A private namespace has the real wildcards.
  switch (listener.bind) {
    case 'loopback':
      return ['127.0.0.1', '::1'];
    case 'pod':
      return [...podIPs];
    case 'any':
      return privateNetns ? ['0.0.0.0', '::'] : [...podIPs];
    case 'ipv4':
      return privateNetns ? ['0.0.0.0'] : v4;
    case 'ipv6':
      return privateNetns ? ['::'] : v6;
  }
}

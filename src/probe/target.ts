import type { ProbeTarget } from './outcome.ts';

/** net.isIP, with node:net loaded when first needed (a worker thread of a bulk run never checks a target). */
let netIsIP: ((input: string) => number) | undefined;
function isIP(input: string): number {
  netIsIP ??= process.getBuiltinModule('node:net').isIP;
  return netIsIP(input);
}

/** A target as a user wrote it: a host (IP literal or DNS name) and a port. */
export interface TargetSpec {
  /** The text the user gave, for messages. */
  readonly input: string;
  readonly host: string;
  readonly port: number;
  /** 4 or 6 when `host` is an IP literal; 0 for a name that still needs resolving. */
  readonly family: 0 | 4 | 6;
}

export type ParsedTarget =
  | { readonly kind: 'target'; readonly target: TargetSpec }
  | { readonly kind: 'invalid'; readonly input: string; readonly reason: string };

const hostnamePattern =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

function invalid(input: string, reason: string): ParsedTarget {
  return { kind: 'invalid', input, reason };
}

function parsePort(text: string): number | string {
  if (!/^\d+$/.test(text)) return `port "${text}" is not a number`;
  const port = Number(text);
  if (port < 1 || port > 65535) return `port ${text} is outside 1-65535`;
  return port;
}

/** Parses `HOST:PORT`, `[IPv6]:PORT`; never resolves names (see resolve.ts). */
export function parseTarget(raw: string): ParsedTarget {
  const input = raw.trim();
  if (input === '') return invalid(raw, 'empty target');
  let host: string;
  let portText: string;
  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    if (close < 0) return invalid(input, 'missing "]" after the IPv6 address; write [ADDRESS]:PORT');
    host = input.slice(1, close);
    const rest = input.slice(close + 1);
    if (!rest.startsWith(':') || rest.length === 1) return invalid(input, 'missing :PORT after "]"');
    portText = rest.slice(1);
    if (isIP(host) !== 6) return invalid(input, `"${host}" is not an IPv6 address`);
  } else {
    const colon = input.lastIndexOf(':');
    if (colon < 0) return invalid(input, 'missing :PORT; write HOST:PORT');
    host = input.slice(0, colon);
    portText = input.slice(colon + 1);
    if (host.includes(':')) return invalid(input, 'an IPv6 address needs brackets: [ADDRESS]:PORT');
    if (host === '') return invalid(input, 'missing host before ":"');
    if (portText === '') return invalid(input, 'missing port after ":"');
  }
  const port = parsePort(portText);
  if (typeof port === 'string') return invalid(input, port);
  const family = isIP(host);
  if (family === 0 && !hostnamePattern.test(host))
    return invalid(input, `"${host}" is not an IP address or host name`);
  return { kind: 'target', target: { input, host, port, family: family as 0 | 4 | 6 } };
}

/** Formats an address and port the way users type them back: IPv6 in brackets. */
export function formatAddress(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Why a target cannot be probed at all; a name would put DNS inside the deadline, so it is refused. */
export function targetProblem(target: ProbeTarget, runTimeoutMs: number | undefined): string | undefined {
  if (isIP(target.ip) === 0) return `"${target.ip}" is not an IP address; resolve names before probing`;
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    return `port ${target.port} is outside 1-65535`;
  }
  const timeoutMs = target.timeoutMs ?? runTimeoutMs;
  if (timeoutMs === undefined) return 'no timeout: neither the target nor the run sets one';
  if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) return `timeout ${timeoutMs} ms is not positive`;
  return undefined;
}

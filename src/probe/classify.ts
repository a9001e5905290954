import type { Outcome, ProbeResult, ProbeTarget } from './outcome.ts';

/** Where in a probe's life the socket error came from; a reset means something different in each. */
export type ProbePhase = 'connect' | 'established';

/**
 * Reads one socket error code as an outcome (docs/design.md "Probe outcomes"). Only codes that a packet
 * from the network can cause blame the target; everything else (EMFILE, EADDRNOTAVAIL, ENOBUFS, EPERM
 * from a local firewall, …) is the prober's own `error`.
 */
export function classifyErrno(code: string | undefined): Exclude<Outcome, 'open'> {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    // The kernel gave up on its own SYN retransmits before our deadline did: still a drop.
    case 'ETIMEDOUT':
      return 'timeout';
    // A SYN-ACK came, then an RST before connect() returned: the listener accepted, then aborted.
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    default:
      return 'error';
  }
}

const localCauses: Readonly<Record<string, string>> = {
  EMFILE: 'this process ran out of file descriptors (raise `ulimit -n` or lower --concurrency)',
  ENFILE: 'the system ran out of file descriptors',
  EADDRNOTAVAIL: 'no local port or source address available (ephemeral ports exhausted?)',
  EADDRINUSE: 'no free local port for this destination (ephemeral ports exhausted?)',
  ENOBUFS: 'the kernel ran out of socket buffers',
  ENOMEM: 'the kernel ran out of memory for a socket',
  EPERM: 'a local firewall rule or security policy blocked the connect',
  EACCES: 'a local firewall rule or security policy blocked the connect',
  EAFNOSUPPORT: 'this host has no support for that address family (IPv6 disabled?)',
  ENETDOWN: 'the local network interface for that route is down',
};

/** A sentence naming the prober-side cause of an `error` outcome. */
export function localCause(code: string | undefined, message: string): string {
  return (code !== undefined ? localCauses[code] : undefined) ?? message;
}

/** The result of a connect that failed with `errno`: its outcome, and for `error` the prober-side cause. */
export function failedResult<T extends ProbeTarget>(
  target: T,
  latencyMs: number,
  errno: string,
  message: string,
): ProbeResult<T> {
  const outcome = classifyErrno(errno);
  return outcome === 'error'
    ? { target, latencyMs, outcome, errno, cause: localCause(errno, message) }
    : { target, latencyMs, outcome, errno };
}

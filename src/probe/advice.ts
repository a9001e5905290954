import type { ProbeResult } from './outcome.ts';
import { formatAddress } from './target.ts';

/** What a result most likely means, and what to check next: the part of `sockeye probe` that explains. */
export interface Advice {
  readonly meaning: string;
  /** Empty when there is nothing to check. */
  readonly next: string;
}

/** Pure: the advice for one result, given the deadline it ran under. */
export function adviceFor(result: ProbeResult, timeoutMs: number): Advice {
  const { ip, port } = result.target;
  const address = formatAddress(ip, port);
  switch (result.outcome) {
    case 'open':
      if (result.app && !result.app.ok) {
        return {
          meaning: `the port accepts connections, but the ${result.app.kind.toUpperCase()} check failed: ${result.app.detail}`,
          next: 'the process listens but does not serve as expected: check its logs and readiness',
        };
      }
      return { meaning: 'something accepted the connection', next: '' };
    case 'refused':
      return {
        meaning: `nothing listens on ${address}: the host answered the SYN with a reset`,
        next: `is the process up? is it bound to this address (0.0.0.0 or the pod IP, not only 127.0.0.1)? on the host or in the pod: ss -ltnp 'sport = :${port}'`,
      };
    case 'timeout':
      return {
        meaning: `no answer within ${timeoutMs} ms: the SYN was dropped on the way, or the listener's accept queue is full`,
        next: `check NetworkPolicies that select the target (kubectl get networkpolicy -A), host firewalls and cloud security groups; for an overloaded listener compare Recv-Q with Send-Q in ss -ltn 'sport = :${port}'`,
      };
    case 'unreachable':
      return {
        meaning: `no route to ${ip}, or no host answers at that address (${result.errno})`,
        next: `the pod may be gone or the address stale: compare with kubectl get pods -o wide and the EndpointSlices; check routing with ip route get ${ip}`,
      };
    case 'reset':
      return {
        meaning: 'a listener accepted the connection, then aborted it',
        next: "often a proxy or sidecar with no healthy upstream, or a listener over its connection limit: check the listener's and any sidecar's logs",
      };
    case 'error':
      return {
        meaning: `the probe failed on this machine: ${result.cause}`,
        next: 'this says nothing about the target; fix the local problem and probe again',
      };
  }
}

/**
 * How one TCP connect ended, read from the socket error (what getsockopt(SO_ERROR) reports after a
 * non-blocking connect). The contract is ../shared/DESIGN.md "Probe outcomes"; these names are public.
 */
export const OUTCOMES = ['open', 'refused', 'timeout', 'unreachable', 'reset', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Outcomes that mean the target itself failed. `error` is the prober's own problem, never the target's. */
export function isTargetFailure(outcome: Outcome): boolean {
  return outcome === 'refused' || outcome === 'timeout' || outcome === 'unreachable' || outcome === 'reset';
}

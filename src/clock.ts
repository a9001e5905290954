/**
 * The one notion of time every component is given: monotonic milliseconds, injected so that backoff,
 * leases, informer silence and probe deadlines run under fake time in unit tests. Components that also
 * schedule work take timers beside it (`Timers` in kube/backoff.ts, `ProbeClock` in probe/clock.ts).
 */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
}

export const monotonicClock: Clock = { now: () => performance.now() };

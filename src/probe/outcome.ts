/**
 * How one TCP connect ended, read from the socket error (what getsockopt(SO_ERROR) reports after a
 * non-blocking connect). The contract is docs/design.md "Probe outcomes"; these names are public.
 */
export const OUTCOMES = ['open', 'refused', 'timeout', 'unreachable', 'reset', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Outcomes that mean the target itself failed. `error` is the prober's own problem, never the target's. */
export function isTargetFailure(outcome: Outcome): boolean {
  return outcome === 'refused' || outcome === 'timeout' || outcome === 'unreachable' || outcome === 'reset';
}

/** Application checks for `open` targets. Off unless asked for; they send a request, so they are not silent. */
export type AppCheck =
  | {
      readonly kind: 'http';
      readonly path: string;
      /** Statuses that pass; default 200-399. */
      readonly expectStatus?: readonly number[];
      /** Speak HTTPS (without certificate verification unless `verify`). */
      readonly tls?: boolean;
      readonly verify?: boolean;
      readonly hostHeader?: string;
    }
  | { readonly kind: 'tls'; readonly servername?: string; readonly verify?: boolean };

/** One address to probe: an IP literal (never a name: names are resolved once, up front) and a port. */
export interface ProbeTarget {
  readonly ip: string;
  readonly port: number;
  /** This target's own deadline in milliseconds (e.g. from `sockeye.dev/timeout`); the run's otherwise. */
  readonly timeoutMs?: number | undefined;
  /** This target's own application check (a health-check hop's HTTP GET); the run's otherwise. */
  readonly app?: AppCheck | undefined;
}

/** What an optional application check saw on an `open` target. */
export type AppCheckResult =
  | { readonly kind: 'http'; readonly ok: boolean; readonly status?: number; readonly detail: string }
  | { readonly kind: 'tls'; readonly ok: boolean; readonly protocol?: string; readonly detail: string };

interface ResultBase<T extends ProbeTarget> {
  readonly target: T;
  /** Milliseconds from connect() to the socket's answer (for `timeout`: to the deadline). */
  readonly latencyMs: number;
}

/**
 * The result of one probe: exactly one outcome. `errno` is the raw code the socket reported
 * (e.g. `ECONNREFUSED`); `cause` says, for `error`, what went wrong on the prober's side.
 */
export type ProbeResult<T extends ProbeTarget = ProbeTarget> =
  | (ResultBase<T> & { readonly outcome: 'open'; readonly app?: AppCheckResult })
  | (ResultBase<T> & { readonly outcome: 'refused' | 'unreachable' | 'reset'; readonly errno: string })
  | (ResultBase<T> & { readonly outcome: 'timeout'; readonly errno?: string })
  | (ResultBase<T> & { readonly outcome: 'error'; readonly errno?: string; readonly cause: string });

/**
 * Backoff and rate-limit primitives shared by the work queue, the event recorder, leader election and
 * the informer supervisor. Pure: time comes from an injected clock and randomness from an injected
 * source, so every caller is testable with fake timers.
 */

import type { Clock } from '../clock.ts';

/** The timer functions a component uses; the defaults are the globals, looked up at call time (fake-timer friendly). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const globalTimers: Timers = {
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    // Pending delays must not keep a finished process alive.
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Resolves after `ms`, or early (without rejecting) when `signal` aborts: a retry loop checks the
 * signal after waking and stops.
 */
export function sleep(ms: number, timers: Timers = globalTimers, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      timers.clearTimeout(handle);
      resolve();
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface BackoffOptions {
  /** Delay of the first retry. */
  readonly baseMs: number;
  /** Ceiling of any delay, before jitter. */
  readonly maxMs: number;
  /** Growth per attempt; 2 doubles. */
  readonly factor?: number;
  /**
   * Extra random delay as a fraction of the computed one: 0 = none, 1 = up to +100% (client-go's
   * `wait.Jitter` semantics: delay + random * jitter * delay).
   */
  readonly jitter?: number;
}

/** Delay before retry number `attempt` (0-based): base * factor^attempt, capped, then jittered. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const factor = options.factor ?? 2;
  // Cap the exponent so that huge attempt counts never overflow to Infinity before the min().
  const raw = options.baseMs * factor ** Math.min(Math.max(attempt, 0), 64);
  const capped = Math.min(raw, options.maxMs);
  return jittered(capped, options.jitter ?? 0, random);
}

/** `ms` plus up to `fraction * ms` of random extra (client-go's `wait.Jitter`). */
export function jittered(ms: number, fraction: number, random: () => number = Math.random): number {
  if (fraction <= 0) return ms;
  return ms + random() * fraction * ms;
}

/**
 * A stateful backoff for one retrying activity: `next()` returns the delay before the next try and
 * advances; `reset()` after a success. A server's Retry-After hint raises the delay, never lowers it.
 */
export class Backoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** Consecutive failures since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  next(retryAfterMs?: number): number {
    const delay = backoffDelay(this.#attempt, this.#options, this.#random);
    this.#attempt++;
    return retryAfterMs === undefined ? delay : Math.max(delay, retryAfterMs);
  }

  reset(): void {
    this.#attempt = 0;
  }
}

export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly qps: number;
  /** Bucket size, and the number of tokens it starts with. */
  readonly burst: number;
}

/**
 * A token bucket (golang.org/x/time/rate semantics). `tryTake` is `Allow()`: take a token if one is
 * there. `reserve` is `Reserve().Delay()`: always takes a token, possibly going into debt, and says how
 * long the caller must wait for it.
 */
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  constructor(options: TokenBucketOptions, clock: Clock) {
    if (!(options.qps > 0) || !(options.burst >= 1)) {
      throw new RangeError(`token bucket needs qps > 0 and burst >= 1, got ${options.qps}/${options.burst}`);
    }
    this.#qps = options.qps;
    this.#burst = options.burst;
    this.#clock = clock;
    this.#tokens = options.burst;
    this.#last = clock.now();
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed / 1000) * this.#qps);
  }

  /** Takes a token when one is available now. */
  tryTake(): boolean {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }

  /** Takes a token now or in the future; returns the milliseconds until it is the caller's. */
  reserve(): number {
    this.#refill();
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#qps) * 1000;
  }

  /** Tokens available now (may be negative after reservations). */
  available(): number {
    this.#refill();
    return this.#tokens;
  }
}

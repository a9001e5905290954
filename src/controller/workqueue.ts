/**
 * client-go's rate-limited work queue (k8s.io/client-go/util/workqueue), for `namespace/name` keys:
 *
 * - a key is queued at most once (`dirty`), and worked by one worker at a time (`processing`); a key
 *   added while a worker holds it is queued again when that worker calls `done`;
 * - `addAfter` delays a key (the earliest pending time wins);
 * - `addRateLimited` delays by the larger of a per-key exponential backoff (5 ms doubling to 1000 s)
 *   and a global token bucket (10 qps, burst 100); `forget` clears the key's backoff;
 * - `shutDown` stops handing out work and resolves once in-flight keys are done; `shutDownWithDrain`
 *   lets the workers finish everything queued first.
 *
 * Time comes from an injected clock and timers, so tests drive it with fake timers.
 */
import { type Clock, monotonicClock } from '../clock.ts';
import { globalTimers, type Timers, TokenBucket } from '../kube/backoff.ts';

export interface WorkQueueOptions {
  /** Per-key backoff: first delay (default 5 ms). */
  readonly baseDelayMs?: number;
  /** Per-key backoff ceiling (default 1000 s). */
  readonly maxDelayMs?: number;
  /** Global bucket rate (default 10 per second). */
  readonly qps?: number;
  /** Global bucket size (default 100). */
  readonly burst?: number;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Called once per `addRateLimited`, for the retries metric. */
  readonly onRetry?: (key: string) => void;
}

interface Waiting {
  readonly readyAt: number;
  readonly handle: unknown;
}

export class WorkQueue {
  readonly #queue: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #waiting = new Map<string, Waiting>();
  readonly #failures = new Map<string, number>();
  readonly #getters: Array<(key: string | undefined) => void> = [];
  readonly #idle: Array<() => void> = [];
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #bucket: TokenBucket;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #onRetry: ((key: string) => void) | undefined;
  #shuttingDown = false;
  #draining = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? monotonicClock;
    this.#timers = options.timers ?? globalTimers;
    this.#baseDelayMs = options.baseDelayMs ?? 5;
    this.#maxDelayMs = options.maxDelayMs ?? 1_000_000;
    this.#bucket = new TokenBucket({ qps: options.qps ?? 10, burst: options.burst ?? 100 }, this.#clock);
    this.#onRetry = options.onRetry;
  }

  /** Queues `key` unless it is already queued; a key being worked on is queued again after `done`. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const getter = this.#getters.shift();
    if (getter) {
      this.#hand(key, getter);
    } else {
      this.#queue.push(key);
    }
  }

  /** Queues `key` after `ms`; when the key already waits, the earlier time wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.#cancelWait(key);
      this.add(key);
      return;
    }
    const readyAt = this.#clock.now() + ms;
    const existing = this.#waiting.get(key);
    if (existing && existing.readyAt <= readyAt) return;
    this.#cancelWait(key);
    const handle = this.#timers.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, ms);
    this.#waiting.set(key, { readyAt, handle });
  }

  /**
   * Queues `key` after its backoff: the larger of the per-key exponential delay and the global bucket's.
   * `maxDelayMs` caps the per-key delay for this call below the queue's ceiling.
   */
  addRateLimited(key: string, maxDelayMs = this.#maxDelayMs): void {
    if (this.#shuttingDown) return;
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const ceiling = Math.min(maxDelayMs, this.#maxDelayMs);
    const perKey = Math.min(this.#baseDelayMs * 2 ** Math.min(failures, 64), ceiling);
    const global = this.#bucket.reserve();
    this.#onRetry?.(key);
    this.addAfter(key, Math.max(perKey, global));
  }

  /**
   * Queues `key` again after a failure: after the server's `Retry-After` when it sent one (it wins over
   * the queue's backoff: the queue keeps the earliest time, so the two cannot be combined), else with
   * `addRateLimited`. Either way one retry for `onRetry`.
   */
  addAfterFailure(key: string, retryAfterMs: number | undefined): void {
    if (retryAfterMs === undefined) {
      this.addRateLimited(key);
      return;
    }
    if (this.#shuttingDown) return;
    this.#onRetry?.(key);
    this.addAfter(key, retryAfterMs);
  }

  /** Clears the key's backoff (call after a successful reconcile). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** How many times `addRateLimited` ran for `key` since the last `forget`. */
  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Keys ready to be handed out (the depth metric); delayed keys are not counted. */
  len(): number {
    return this.#queue.length;
  }

  /** Keys waiting for their delay to pass. */
  waitingLen(): number {
    return this.#waiting.size;
  }

  /** Keys being worked on now. */
  processingLen(): number {
    return this.#processing.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * The next key to work on; the caller owns it until `done(key)`. Waits while the queue is empty.
   * Resolves `undefined` once the queue shuts down: the worker should return.
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown && !this.#draining) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#processing.add(key);
      this.#dirty.delete(key);
      return Promise.resolve(key);
    }
    // Draining: a key still being worked on may come back (re-added before shutdown), so wait for it.
    if (this.#shuttingDown && this.#processing.size === 0) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks `key` as no longer worked on; queues it again when it was re-added meanwhile. */
  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    if (this.#dirty.has(key)) {
      const getter = this.#getters.shift();
      if (getter) {
        this.#hand(key, getter);
      } else {
        this.#queue.push(key);
      }
    }
    this.#checkIdle();
  }

  /**
   * Stops taking work: adds are ignored, delayed keys dropped, waiting and future `get`s resolve
   * `undefined`. Resolves once every key handed out has been `done`.
   */
  shutDown(): Promise<void> {
    this.#beginShutdown(false);
    return this.#whenIdle();
  }

  /**
   * Like `shutDown`, but workers keep getting the keys already queued (client-go's ShutDownWithDrain).
   * Resolves once the queue is empty and every key is `done`.
   */
  shutDownWithDrain(): Promise<void> {
    this.#beginShutdown(true);
    return this.#whenIdle();
  }

  #beginShutdown(drain: boolean): void {
    this.#shuttingDown = true;
    this.#draining = drain;
    for (const { handle } of this.#waiting.values()) this.#timers.clearTimeout(handle);
    this.#waiting.clear();
    if (!drain) {
      this.#queue.length = 0;
      this.#dirty.clear();
    }
    this.#checkIdle();
  }

  #hand(key: string, getter: (key: string | undefined) => void): void {
    this.#processing.add(key);
    this.#dirty.delete(key);
    getter(key);
  }

  #cancelWait(key: string): void {
    const existing = this.#waiting.get(key);
    if (!existing) return;
    this.#timers.clearTimeout(existing.handle);
    this.#waiting.delete(key);
  }

  #whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #isIdle(): boolean {
    return this.#processing.size === 0 && (!this.#draining || this.#queue.length === 0);
  }

  #checkIdle(): void {
    if (!this.#shuttingDown) return;
    if (this.#queue.length === 0 && (!this.#draining || this.#processing.size === 0)) {
      for (const getter of this.#getters.splice(0)) getter(undefined);
    }
    if (this.#isIdle()) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}

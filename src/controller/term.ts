/**
 * A term of leadership, and the fence every API write of the operator passes. client-go ends a
 * term with OnStoppedLeading and the cancellation of the leader's context, which its callers must
 * thread through; here each write also asks `holds()` right before it is sent, so a write started
 * after the renew deadline is never sent even when the event loop is too busy to have noticed the
 * lost Lease yet (the check is a clock read, not a timer).
 *
 * - `signal` aborts when the term ends: reconciles in flight stop, queued writes are dropped and
 *   requests in flight are cancelled;
 * - `holds()` is false once the term ended or its expiry (monotonic) passed: the leader elector
 *   moves the expiry on with each renewal, to the renew deadline that renewal bought.
 */
import { type Clock, monotonicClock } from '../clock.ts';
import type { Fence } from '../kube/fence.ts';

export type { Fence };

export class Term implements Fence {
  readonly #ended = new AbortController();
  readonly #clock: Clock;
  #expiresAt: number;

  /** `expiresAt` on `clock` (default: never; the term lasts until `end()`). */
  constructor(options: { readonly clock?: Clock; readonly expiresAt?: number } = {}) {
    this.#clock = options.clock ?? monotonicClock;
    this.#expiresAt = options.expiresAt ?? Number.POSITIVE_INFINITY;
  }

  get signal(): AbortSignal {
    return this.#ended.signal;
  }

  /** Monotonic time after which no write of this term may start. */
  get expiresAt(): number {
    return this.#expiresAt;
  }

  holds(): boolean {
    return !this.#ended.signal.aborted && this.#clock.now() < this.#expiresAt;
  }

  /** Moves the expiry to `at` (a renewal); an ended term stays ended. */
  extend(at: number): void {
    if (!this.#ended.signal.aborted) this.#expiresAt = Math.max(this.#expiresAt, at);
  }

  end(): void {
    this.#ended.abort(new Error('the term of leadership ended'));
  }
}

import type { ProbeClock } from './clock.ts';
import { Fifo } from './fifo.ts';

/** Something that must be told when its deadline passes. */
export interface Expiring {
  expire(): void;
}

/**
 * An entry the sweep tracks: its deadline, whether it ended, the queue it waits in, and what to do
 * when it expires. A caller may track an object of its own (bulk.ts: Node's connect request), so that a
 * deadline allocates nothing.
 */
export interface Tracked extends Expiring {
  at: number;
  done: boolean;
  queue: Fifo<Tracked> | undefined;
}

class QueuedEntry implements Tracked {
  at = 0;
  done = false;
  queue: Fifo<Tracked> | undefined;
  readonly #owner: Expiring;

  constructor(owner: Expiring) {
    this.#owner = owner;
  }

  expire(): void {
    this.#owner.expire();
  }
}

/**
 * One timer for any number of deadlines. Probes of one run share a few durations (connect timeout,
 * reset window), and deadlines of one duration expire in the order they were added, so each duration
 * gets a FIFO and the single timer is armed at the earliest head: O(1) per probe, where a setTimeout
 * per socket would allocate a Timeout object and churn Node's timer lists at 10^5 sockets in flight.
 * Cancelling marks the entry and drops the cancelled entries at the head of its queue; others wait
 * until they reach the head.
 */
export class DeadlineSweep {
  readonly #clock: ProbeClock;
  readonly #queues = new Map<number, Fifo<Tracked>>();
  #timer: unknown;
  #armedAt = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(clock: ProbeClock) {
    this.#clock = clock;
  }

  /** A deadline `durationMs` from now that tells `owner` when it passes. */
  add(durationMs: number, owner: Expiring): Tracked {
    const entry = new QueuedEntry(owner);
    this.track(entry, durationMs);
    return entry;
  }

  /** Tracks the caller's own entry: it expires `durationMs` after `from` (default now). */
  track(entry: Tracked, durationMs: number, from = this.#clock.now()): void {
    let queue = this.#queues.get(durationMs);
    if (!queue) {
      queue = new Fifo();
      this.#queues.set(durationMs, queue);
    }
    entry.at = from + durationMs;
    entry.done = false;
    entry.queue = queue;
    queue.push(entry);
    if (entry.at < this.#armedAt) this.#arm(entry.at);
  }

  cancel(entry: Tracked): void {
    entry.done = true;
    const queue = entry.queue;
    if (queue) while (queue.head?.done) queue.shift();
  }

  /** Stops the timer; pending deadlines never fire. Each entry that has not ended is handed to `each`. */
  close(each?: (entry: Tracked) => void): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    if (each)
      for (const queue of this.#queues.values())
        for (let entry = queue.shift(); entry !== undefined; entry = queue.shift())
          if (!entry.done) each(entry);
    this.#queues.clear();
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#armedAt = at;
    this.#timer = this.#clock.setTimer(() => this.#sweep(), Math.max(0, Math.ceil(at - this.#clock.now())));
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    const expired: Tracked[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const queue of this.#queues.values()) {
      for (let entry = queue.head; entry !== undefined; entry = queue.head) {
        if (!entry.done && entry.at > now) {
          next = Math.min(next, entry.at);
          break;
        }
        queue.shift();
        if (!entry.done) expired.push(entry);
      }
    }
    if (next < this.#armedAt) this.#arm(next);
    // After the I/O already pending is read: an answer in the kernel by now is an answer, not a timeout.
    if (expired.length > 0) this.#clock.afterPendingIO(() => this.#expire(expired));
  }

  #expire(expired: readonly Tracked[]): void {
    if (this.#closed) return;
    for (const entry of expired) {
      if (entry.done) continue;
      entry.done = true;
      entry.expire();
    }
  }
}

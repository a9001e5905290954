import type { ProbeClock } from './clock.ts';
import { Fifo } from './fifo.ts';

/** Something that must be told when its deadline passes. */
export interface Expiring {
  expire(): void;
}

export interface DeadlineEntry {
  readonly at: number;
  readonly owner: Expiring;
  done: boolean;
}

class QueuedEntry implements DeadlineEntry {
  readonly at: number;
  readonly owner: Expiring;
  readonly queue: Fifo<DeadlineEntry>;
  done = false;

  constructor(at: number, owner: Expiring, queue: Fifo<DeadlineEntry>) {
    this.at = at;
    this.owner = owner;
    this.queue = queue;
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
  readonly #queues = new Map<number, Fifo<DeadlineEntry>>();
  #timer: unknown;
  #armedAt = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(clock: ProbeClock) {
    this.#clock = clock;
  }

  add(durationMs: number, owner: Expiring): DeadlineEntry {
    let queue = this.#queues.get(durationMs);
    if (!queue) {
      queue = new Fifo();
      this.#queues.set(durationMs, queue);
    }
    const entry = new QueuedEntry(this.#clock.now() + durationMs, owner, queue);
    queue.push(entry);
    if (entry.at < this.#armedAt) this.#arm(entry.at);
    return entry;
  }

  cancel(entry: DeadlineEntry): void {
    entry.done = true;
    // Most probes end in the order they started, so the cancelled entry is usually its queue's head:
    // drop it (and any cancelled run behind it) now, rather than at the next sweep, so finished probes
    // are not kept alive until their deadline would have passed (that promotes them to V8's old space).
    if (entry instanceof QueuedEntry) {
      const queue = entry.queue;
      while (queue.head?.done) queue.shift();
    }
  }

  /** Stops the timer; pending deadlines never fire. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
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
    const expired: DeadlineEntry[] = [];
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
    // Node runs timers before it polls for I/O, so when the loop is busy an answer (RST, SYN-ACK) may
    // already sit in the kernel when its deadline fires. Expire only after that pending I/O has been
    // read; an entry whose owner was answered meanwhile is cancelled by then.
    if (expired.length > 0) this.#clock.afterPendingIO(() => this.#expire(expired));
  }

  #expire(expired: readonly DeadlineEntry[]): void {
    if (this.#closed) return;
    for (const entry of expired) {
      if (entry.done) continue;
      entry.done = true;
      entry.owner.expire();
    }
  }
}

/**
 * The targets of one run spread over threads (parallel.ts), each taken by whichever thread has a free
 * slot first: the next position comes from one counter in shared memory, so every target is taken by
 * exactly one thread, and a thread that starts late (a worker's ~80 ms of start-up) or runs slower
 * takes fewer, instead of the whole run waiting for the last of fixed, equal shares.
 */
export class SharedTargets<T> implements Iterable<T> {
  readonly length: number;
  readonly #next: Int32Array;
  readonly #at: (position: number) => T;

  /** `counter`: from SharedTargets.counter(), the same one in every thread of the run. */
  constructor(counter: SharedArrayBuffer, length: number, at: (position: number) => T) {
    this.#next = new Int32Array(counter);
    this.length = length;
    this.#at = at;
  }

  /** A counter for a new run (it crosses to workers shared, not copied). */
  static counter(): SharedArrayBuffer {
    return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  }

  /** Takes the next target no thread has taken: its position, or -1 once every one is taken. */
  take(): number {
    // Read first: threads that keep asking after the end must not wrap the counter around.
    if (this.exhausted) return -1;
    const position = Atomics.add(this.#next, 0, 1);
    return position < this.length ? position : -1;
  }

  /** Whether every target is taken (by any thread). */
  get exhausted(): boolean {
    return Atomics.load(this.#next, 0) >= this.length;
  }

  at(position: number): T {
    return this.#at(position);
  }

  /** Takes every target left, one at a time. */
  *[Symbol.iterator](): Iterator<T> {
    for (let k = this.take(); k >= 0; k = this.take()) yield this.#at(k);
  }
}

/**
 * Releases values in the order their indexes were handed out, however they arrive: the stable order
 * a caller asks for when it wants results beside its inputs. Holds only values that wait for an
 * earlier one.
 */
export class InputOrder<T> {
  readonly #waiting = new Map<number, T>();
  #next = 0;

  /** Records the value for `index` and returns every value that is now in turn, in order. */
  push(index: number, value: T): T[] {
    if (index !== this.#next) {
      this.#waiting.set(index, value);
      return [];
    }
    const released = [value];
    this.#next++;
    for (let v = this.#waiting.get(this.#next); v !== undefined; v = this.#waiting.get(this.#next)) {
      this.#waiting.delete(this.#next);
      released.push(v);
      this.#next++;
    }
    return released;
  }

  get pending(): number {
    return this.#waiting.size;
  }
}

/**
 * Results waiting for the consumer: as they end (`completion`), or held back until every earlier
 * input's result is in (`input`). One run's probes and the shares of a run split over threads
 * (parallel.ts) deliver through it alike.
 */
export class ResultQueue<T> {
  readonly #ordered: InputOrder<T> | undefined;
  #ready: T[] = [];

  constructor(order: 'completion' | 'input' | undefined) {
    this.#ordered = order === 'input' ? new InputOrder<T>() : undefined;
  }

  push(index: number, value: T): void {
    if (this.#ordered) for (const v of this.#ordered.push(index, value)) this.#ready.push(v);
    else this.#ready.push(value);
  }

  get size(): number {
    return this.#ready.length;
  }

  /** Everything ready now, oldest first; the queue is empty after. */
  take(): T[] {
    const batch = this.#ready;
    this.#ready = [];
    return batch;
  }
}

/**
 * Wakes the one consumer of a result queue. Node drains the microtask queue after every connect
 * callback, so waking the consumer from each one would resume it once per result; `later` wakes it
 * once per event-loop turn instead, after the turn's I/O (one epoll batch can end hundreds of
 * connects), while results pile up.
 */
export class TurnWaker {
  #wake: (() => void) | undefined;
  #scheduled = false;
  readonly #fire = () => {
    this.#scheduled = false;
    this.#wake?.();
  };

  /** Wakes the consumer, if it waits, once this turn's I/O is read. */
  later(): void {
    if (this.#scheduled || this.#wake === undefined) return;
    this.#scheduled = true;
    setImmediate(this.#fire);
  }

  /** Wakes the consumer, if it waits, now (a failure, an abort). */
  now(): void {
    this.#wake?.();
  }

  /** Waits until woken. */
  async wait(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    this.#wake = undefined;
  }
}

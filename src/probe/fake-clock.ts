import type { ProbeClock } from './clock.ts';

/** A clock for unit tests: time moves only when `advance` is called; deferred work runs on `flush`. */
export class FakeClock implements ProbeClock {
  #now = 0;
  #timers = new Map<number, { at: number; callback: () => void }>();
  #deferred: (() => void)[] = [];
  #nextId = 1;

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + delayMs, callback });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  afterPendingIO(callback: () => void): void {
    this.#deferred.push(callback);
  }

  get timers(): number {
    return this.#timers.size;
  }

  /** Moves time forward, firing due timers in order, each followed by the work it deferred. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const due = [...this.#timers.entries()]
        .filter(([, t]) => t.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].callback();
      this.flush();
    }
    this.#now = until;
  }

  flush(): void {
    while (this.#deferred.length > 0) this.#deferred.shift()?.();
  }
}

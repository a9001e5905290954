/** Time as the probe engine sees it; injected so deadline logic runs under a fake clock in unit tests. */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
  /** Runs the callback after the I/O events that are already pending (setImmediate). */
  afterPendingIO(callback: () => void): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
  afterPendingIO: (callback) => {
    setImmediate(callback);
  },
};

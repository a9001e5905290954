import { type Clock, monotonicClock } from '../clock.ts';

/**
 * The clock plus the scheduling the probe engine's deadline sweep needs; injected so deadline logic
 * runs under a fake clock in unit tests.
 */
export interface ProbeClock extends Clock {
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
  /** Runs the callback after the I/O events that are already pending (setImmediate). */
  afterPendingIO(callback: () => void): void;
}

export const systemClock: ProbeClock = {
  now: monotonicClock.now,
  setTimer: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
  afterPendingIO: (callback) => {
    setImmediate(callback);
  },
};

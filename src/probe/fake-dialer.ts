import type { Dialer, DialResult } from './dialer.ts';

/**
 * A dialer for unit tests that answers only when the test says so: pool logic (bounds, order,
 * deadlines, fairness, abort) without sockets. Socket behaviour itself is tested against real sockets
 * in test/net.
 */
export class ScriptedDialer implements Dialer {
  readonly name = 'scripted';
  /** Dials in flight, by `ip:port`. */
  readonly waiting = new Map<string, (result: DialResult) => void>();
  readonly aborted: string[] = [];
  /** The most dials ever in flight at once. */
  maxInFlight = 0;

  dial(ip: string, port: number, done: (result: DialResult) => void) {
    const key = `${ip}:${port}`;
    this.waiting.set(key, done);
    this.maxInFlight = Math.max(this.maxInFlight, this.waiting.size);
    return {
      abort: () => {
        this.waiting.delete(key);
        this.aborted.push(key);
      },
    };
  }

  answer(key: string, result: DialResult): void {
    const done = this.waiting.get(key);
    if (!done) throw new Error(`${key} is not being dialed`);
    this.waiting.delete(key);
    done(result);
  }
}

export const refused: DialResult = { kind: 'failed', errno: 'ECONNREFUSED', message: 'refused' };
export const open: DialResult = {
  kind: 'connected',
  connection: {
    reset: () => {},
    toSocket: () => {
      throw new Error('no stream phase in these tests');
    },
  },
};

/** One turn of the event loop: lets probe runs start, deliver and wake. */
export const tick = () => new Promise((resolve) => setImmediate(resolve));

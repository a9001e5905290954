import type { Worker } from 'node:worker_threads';
import {
  type Dialer,
  type DialResult,
  defaultDialer,
  failedWith,
  type PendingDial,
  tcpWrap,
} from './dialer.ts';
import { oncePerTurn, portFor, startWorker, type WorkerScript } from './worker-thread.ts';

/**
 * A dialer whose connects are made in a worker thread: the connect() and close() system calls, and
 * what the kernel does inside them, leave the caller's thread. On a node-local veth the whole
 * handshake (the SYN, the listener's SYN-ACK, the ACK) and the RST that closes it run inside those
 * calls. The operator's prober probing 20,000 simulated pods spent 1.8–2.2 s of its thread's CPU
 * with the default dialer and 0.21–0.39 s with this one, in about the same wall time and CPU for
 * the process (README "Operator"): worth it where a core is free. Slots, fairness, deadlines and
 * results stay with the caller (engine.ts); only addresses cross, in batches, and statuses and
 * latencies come back.
 *
 * A connect that succeeds is closed with RST in the worker at once: its connection cannot be read
 * (`streams: false`), so a probe that needs one (a reset window, an application check) dials in its
 * own thread (engine.ts). Should the worker fail, the dials in flight are made again in this thread
 * and every later one too: nothing is lost, only the offload.
 */
export class ThreadDialer implements Dialer {
  readonly name = 'thread';
  readonly streams = false;
  readonly #pending = new Map<number, ThreadDial>();
  #worker: Worker | undefined;
  /** The worker failed or the dialer was closed: dials are made in this thread. */
  #local = false;
  #nextId = 1;
  /** Dials and aborts not yet sent: [id, ip, port, …] and ids. */
  #dials: (number | string)[] = [];
  #aborts: number[] = [];
  /** Once per event-loop turn: every dial the turn's results made room for crosses in one message. */
  readonly #flushSoon = oncePerTurn(() => this.#flush());
  readonly #options: ThreadDialerOptions;

  constructor(options: ThreadDialerOptions = {}) {
    this.#options = options;
  }

  dial(ip: string, port: number, done: (result: DialResult) => void): PendingDial {
    if (this.#local) return defaultDialer.dial(ip, port, done);
    const id = this.#nextId++;
    const dial = new ThreadDial(this, id, ip, port, done);
    this.#pending.set(id, dial);
    this.#dials.push(id, ip, port);
    this.#flushSoon();
    return dial;
  }

  /** Whether dials go to the worker: false once it failed, or the dialer was closed. */
  get inThread(): boolean {
    return !this.#local;
  }

  /** Dials in flight in the worker, for tests. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Stops the worker (its connects closed with RST); later dials are made in this thread. */
  async close(): Promise<void> {
    await this.#fallBack(undefined);
  }

  /** Called by ThreadDial.abort: the worker resets the connect if it is still there. */
  abort(id: number): void {
    if (!this.#pending.delete(id) || this.#local) return;
    this.#aborts.push(id);
    this.#flushSoon();
    if (this.#pending.size === 0) this.#worker?.unref();
  }

  #flush(): void {
    if (this.#local || (this.#dials.length === 0 && this.#aborts.length === 0)) return;
    const worker = this.#workerNow();
    if (!worker) return;
    const message: ToDialWorker = { dials: this.#dials, aborts: this.#aborts };
    this.#dials = [];
    this.#aborts = [];
    if (this.#pending.size > 0) worker.ref();
    worker.postMessage(message);
  }

  #workerNow(): Worker | undefined {
    if (this.#worker) return this.#worker;
    let worker: Worker;
    try {
      worker = startWorker(DIAL_WORKER_KEY, {
        ...(this.#options.script ? { script: this.#options.script } : {}),
        // Its heap holds at most the dials in flight and their handles.
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      });
    } catch (err) {
      void this.#fallBack(`the probe thread did not start: ${String(err)}`);
      return undefined;
    }
    this.#worker = worker;
    worker.on('message', (message: FromDialWorker) => this.#results(message));
    worker.on('error', (err) => void this.#fallBack(`the probe thread failed: ${String(err)}`));
    worker.once('exit', (code) => void this.#fallBack(`the probe thread exited with code ${code}`));
    return worker;
  }

  #results(message: FromDialWorker): void {
    const { done } = message;
    for (let k = 0; k < done.length; k += 3) {
      const dial = this.#pending.get(done[k] as number);
      if (!dial) continue;
      this.#pending.delete(dial.id);
      const status = done[k + 1] as number;
      const latencyMs = done[k + 2] as number;
      dial.settle(
        status === 0
          ? { kind: 'connected', connection: closedConnection, latencyMs }
          : {
              ...failedWith(status),
              latencyMs,
            },
      );
    }
    if (this.#pending.size === 0) this.#worker?.unref();
  }

  /** From now on dials are made here; those in flight in the worker are made again here. */
  async #fallBack(reason: string | undefined): Promise<void> {
    if (this.#local) return;
    this.#local = true;
    if (reason !== undefined) this.#options.onFallback?.(reason);
    const worker = this.#worker;
    this.#worker = undefined;
    this.#dials = [];
    this.#aborts = [];
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const dial of pending) dial.redialHere();
    if (worker) await worker.terminate();
  }
}

export interface ThreadDialerOptions {
  /** Hears once why dials went back to the caller's thread (the worker did not start, failed or ended). */
  readonly onFallback?: (reason: string) => void;
  /** The worker's code: by default the probe engine's (worker-script.ts); tests give one that fails. */
  readonly script?: WorkerScript;
}

/** A dial sent to the worker: settled by its result, or made again in this thread if the worker fails. */
class ThreadDial implements PendingDial {
  readonly id: number;
  readonly #dialer: ThreadDialer;
  readonly #ip: string;
  readonly #port: number;
  #done: ((result: DialResult) => void) | undefined;
  #here: PendingDial | undefined;

  constructor(
    dialer: ThreadDialer,
    id: number,
    ip: string,
    port: number,
    done: (result: DialResult) => void,
  ) {
    this.#dialer = dialer;
    this.id = id;
    this.#ip = ip;
    this.#port = port;
    this.#done = done;
  }

  settle(result: DialResult): void {
    const done = this.#done;
    this.#done = undefined;
    done?.(result);
  }

  redialHere(): void {
    const done = this.#done;
    if (done) this.#here = defaultDialer.dial(this.#ip, this.#port, done);
  }

  abort(): void {
    this.#done = undefined;
    if (this.#here) this.#here.abort();
    else this.#dialer.abort(this.id);
  }
}

/** A connection the worker has closed already (with RST). */
const closedConnection = {
  reset(): void {},
  toSocket(): never {
    throw new Error('a connection made in the probe thread cannot be read (ThreadDialer.streams is false)');
  },
};

/** Marks a dial worker (the same script serves a run's share: parallel.ts). */
const DIAL_WORKER_KEY = 'sockeyeDialWorker';

/** Dials to make ([id, ip, port, …]) and ids of dials to give up. */
interface ToDialWorker {
  readonly dials: readonly (number | string)[];
  readonly aborts: readonly number[];
}

/** What ended, [id, status (0: connected and closed; a negative libuv status), latency ms, …]. */
interface FromDialWorker {
  readonly done: readonly number[];
}

/**
 * In a worker started by ThreadDialer: makes the dials it is sent with the default dialer, closes
 * every connection at once with RST, and sends back each dial's status and latency, one message per
 * event-loop turn. Anywhere else: does nothing, and says so.
 */
export function serveDials(): boolean {
  const port = portFor(DIAL_WORKER_KEY);
  if (!port || !tcpWrap) return false;
  const inFlight = new Map<number, PendingDial>();
  let done: number[] = [];
  const flushSoon = oncePerTurn(() => {
    port.postMessage({ done } satisfies FromDialWorker);
    done = [];
  });
  const ended = (id: number, status: number, startedAt: number) => {
    inFlight.delete(id);
    done.push(id, status, performance.now() - startedAt);
    flushSoon();
  };
  port.on('message', (message: ToDialWorker) => {
    const { dials } = message;
    for (let k = 0; k < dials.length; k += 3) {
      const id = dials[k] as number;
      const startedAt = performance.now();
      const dial = defaultDialer.dial(dials[k + 1] as string, dials[k + 2] as number, (result) => {
        if (result.kind === 'connected') {
          result.connection.reset();
          ended(id, 0, startedAt);
        } else ended(id, result.status ?? UNKNOWN_STATUS, startedAt);
      });
      inFlight.set(id, dial);
    }
    // After the dials: a dial aborted before it crossed comes in the same message as its abort.
    for (const id of message.aborts) {
      inFlight.get(id)?.abort();
      inFlight.delete(id);
    }
  });
  return true;
}

/** A failure without a libuv status (none from the handle dialer): read as an unknown error. */
const UNKNOWN_STATUS = -4094; // UV_UNKNOWN

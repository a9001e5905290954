import { availableParallelism, loadavg } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { AppCheck } from './app-check.ts';
import { ResultQueue } from './input-order.ts';
import type { ProbeResult, ProbeTarget } from './outcome.ts';
import { SharedTargets } from './shared-targets.ts';
import { targetProblem } from './target.ts';
import { probeWorkerScript } from './worker-script.ts';

/**
 * A run spread over threads: this thread and `threads - 1` workers (engine.ts run as a worker's
 * entry, which then serves one share: serveShare), each with its own event loop, TCP handles and
 * deadline sweep, each probing a share of the targets with the same engine code as a run in one
 * thread (so classification cannot differ), at a share of the bound.
 *
 * When it pays (README "Probe engine", measured on loopback): one thread spends ~23 µs of CPU per
 * probe; a worker costs ~46 ms of CPU and ~80 ms before its first connect to start (an isolate,
 * Node's bootstrap, the engine's modules), then ~6 µs per probe more (its own JIT warm-up, the
 * results crossing threads). Its half of the run must outlast its start-up: below MIN_TARGETS a run
 * stays in one thread. And only on a core that is idle: on a machine already busy (load average at
 * or above the cores) two threads took 40% more CPU for no less wall time, so a worker is started
 * per core the 1-minute load average leaves free.
 */
export const MIN_TARGETS = 8000;
/** Most threads a run uses; past the cores they only contend. */
export const MAX_THREADS = 4;

/**
 * Threads for a run of `targets` valid targets at `bound` probes in flight: `asked` if given, else
 * one, plus one per idle core (`cores` less the `load` average) for runs of MIN_TARGETS or more.
 */
export function threadsFor(
  targets: number,
  bound: number,
  asked?: number,
  cores = availableParallelism(),
  load = loadavg()[0] ?? 0,
): number {
  if (asked === undefined && targets < MIN_TARGETS) return 1;
  const idle = Math.max(0, Math.floor(cores - load));
  const wanted = asked ?? Math.min(cores, MAX_THREADS, 1 + idle);
  // Each thread holds at least one slot of the bound and probes at least one target.
  return Math.max(1, Math.min(wanted, Math.floor(bound), targets));
}

/** Splits one bound into `threads` shares that add up to it, none empty (bound >= threads). */
export function splitBound(bound: number, threads: number): number[] {
  const base = Math.floor(bound / threads);
  return Array.from({ length: threads }, (_, k) => base + (k < bound - base * threads ? 1 : 0));
}

/** A result without its target: what crosses between threads (the target object stays with the caller). */
export type DetachedResult = ProbeResult extends infer R
  ? R extends ProbeResult
    ? Omit<R, 'target'>
    : never
  : never;

/** The targets every thread of a run takes from, as plain data (copied to each worker). */
export interface Pool {
  readonly ips: string[];
  readonly ports: number[];
  /** A target's own deadline, or null for the run's. */
  readonly timeouts: (number | null)[];
  /** Each target's index in the whole run. */
  readonly indexes: number[];
}

/** One thread's part of a run, as plain data (it is copied to a worker, `next` shared). */
export interface Share {
  readonly pool: Pool;
  /** The run's counter of taken targets (shared-targets.ts): the same memory in every thread. */
  readonly next: SharedArrayBuffer;
  readonly concurrency: number;
  readonly timeoutMs?: number;
  readonly resetWindowMs?: number;
  readonly app?: AppCheck;
}

interface ShareTarget extends ProbeTarget {
  readonly index: number;
}

/** The options of engine.ts a run over threads reads and hands on to each share. */
export interface ThreadedOptions {
  readonly timeoutMs?: number;
  readonly concurrency?: number;
  readonly order?: 'completion' | 'input';
  readonly signal?: AbortSignal;
  readonly resetWindowMs?: number;
  readonly app?: AppCheck;
}

/** How a share is probed: probeTargets of engine.ts, in one thread. */
export type ShareProbe = (
  targets: Iterable<ShareTarget>,
  options: ThreadedOptions & { readonly threads: 1 },
) => AsyncIterable<ProbeResult<ShareTarget>>;

/**
 * Plans a run over threads: the targets that cannot be probed get their `error` result at once
 * (`problem`); the others go into one pool that every thread takes from as its slots free up
 * (shared-targets.ts), each thread with its share of the bound. A worker that is still starting
 * takes nothing, so this thread's probes begin at once; targets that time out, often next to each
 * other in the input, hold only the slots of the thread that took them while the others go on.
 */
export function planShares<T extends ProbeTarget>(
  targets: readonly T[],
  options: ThreadedOptions,
  threads: number,
  problem: (index: number, cause: string) => void,
): Share[] {
  const pool: Pool = { ips: [], ports: [], timeouts: [], indexes: [] };
  for (let index = 0; index < targets.length; index++) {
    const target = targets[index] as T;
    const cause = targetProblem(target, options.timeoutMs);
    if (cause !== undefined) {
      problem(index, cause);
      continue;
    }
    pool.ips.push(target.ip);
    pool.ports.push(target.port);
    pool.timeouts.push(target.timeoutMs ?? null);
    pool.indexes.push(index);
  }
  if (pool.ips.length === 0) return [];
  const next = SharedTargets.counter();
  // Never more threads than targets: each would start only to find nothing to take.
  return splitBound(options.concurrency ?? 256, Math.min(threads, pool.ips.length)).map(
    (concurrency): Share => ({
      pool,
      next,
      concurrency,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.resetWindowMs !== undefined ? { resetWindowMs: options.resetWindowMs } : {}),
      ...(options.app !== undefined ? { app: options.app } : {}),
    }),
  );
}

/** Probes one share in this thread; `emit` gets each result, without its target, with its run index. */
export async function runShare(
  share: Share,
  probe: ShareProbe,
  emit: (index: number, result: DetachedResult) => void,
  signal: AbortSignal,
): Promise<void> {
  const { ips, ports, timeouts, indexes } = share.pool;
  const targets = new SharedTargets<ShareTarget>(share.next, ips.length, (k) => {
    const timeoutMs = timeouts[k];
    const ip = ips[k] as string;
    const port = ports[k] as number;
    const index = indexes[k] as number;
    return timeoutMs === null || timeoutMs === undefined
      ? { ip, port, index }
      : { ip, port, timeoutMs, index };
  });
  const options: ThreadedOptions & { readonly threads: 1 } = {
    concurrency: share.concurrency,
    threads: 1,
    signal,
    ...(share.timeoutMs !== undefined ? { timeoutMs: share.timeoutMs } : {}),
    ...(share.resetWindowMs !== undefined ? { resetWindowMs: share.resetWindowMs } : {}),
    ...(share.app !== undefined ? { app: share.app } : {}),
  };
  for await (const result of probe(targets, options)) {
    const { target, ...rest } = result;
    emit(target.index, rest as DetachedResult);
  }
}

/** Marks a worker started to serve a share (other code, a test runner's, starts workers too). */
const SHARE_KEY = 'sockeyeProbeShare';

/**
 * In a worker started by probeInThreads: probes its share with `probe` and posts the results back in
 * batches, one message per event-loop turn. Anywhere else: does nothing, and says so.
 */
export function serveShare(probe: ShareProbe): boolean {
  const share = (workerData as Record<string, unknown> | null)?.[SHARE_KEY] as Share | undefined;
  const port = parentPort;
  if (isMainThread || !port || share === undefined) return false;
  const stop = new AbortController();
  port.on('message', (message: unknown) => {
    if (message === 'stop') stop.abort();
  });
  const post = (message: WorkerMessage) => port.postMessage(message);
  let batch: (number | DetachedResult)[] = [];
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    if (batch.length === 0) return;
    post({ results: batch });
    batch = [];
  };
  const emit = (index: number, result: DetachedResult) => {
    batch.push(index, result);
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flush);
  };
  runShare(share, probe, emit, stop.signal)
    .then(() => {
      flush();
      post({ done: true });
    })
    .catch((err: unknown) => {
      // Stopped by the caller: it wants no more messages.
      if (!stop.signal.aborted)
        post({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    })
    // Nothing keeps the thread alive once its run is over.
    .finally(() => port.unref());
  return true;
}

/** Messages a worker sends: results as [index, result, index, result…], then `done` or `error`. */
export type WorkerMessage =
  | { readonly results: readonly (number | DetachedResult)[] }
  | { readonly done: true }
  | { readonly error: string };

/** A share probed by a worker thread. */
class WorkerShare {
  readonly #worker: Worker;
  #exited = false;
  readonly #exit: Promise<void>;

  constructor(
    share: Share,
    emit: (index: number, result: DetachedResult) => void,
    done: () => void,
    fail: (err: unknown) => void,
  ) {
    const script = probeWorkerScript();
    this.#worker =
      'source' in script
        ? new Worker(script.source, { eval: true, workerData: { [SHARE_KEY]: share } })
        : new Worker(script.url, { workerData: { [SHARE_KEY]: share } });
    let finished = false;
    this.#worker.on('message', (message: WorkerMessage) => {
      if ('results' in message) {
        const r = message.results;
        for (let k = 0; k < r.length; k += 2) emit(r[k] as number, r[k + 1] as DetachedResult);
      } else if ('done' in message) {
        finished = true;
        done();
      } else {
        finished = true;
        fail(new Error(`probe worker: ${message.error}`));
      }
    });
    this.#worker.on('error', (err) => {
      finished = true;
      fail(err);
    });
    this.#exit = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        this.#exited = true;
        if (!finished) fail(new Error(`probe worker exited with code ${code} before its last result`));
        resolve();
      });
    });
  }

  /** Asks the worker to close its probes (with RST, as a run in one thread does) and waits for it to end. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    this.#worker.postMessage('stop');
    const timer = setTimeout(() => void this.#worker.terminate(), 5000);
    await this.#exit;
    clearTimeout(timer);
  }
}

/**
 * probeTargets over `threads` threads: results as the one-thread run gives them (same objects, the
 * caller's targets, in completion or input order), `concurrency` shared out between the threads.
 */
export async function* probeInThreads<T extends ProbeTarget>(
  targets: readonly T[],
  options: ThreadedOptions,
  threads: number,
  probeHere: ShareProbe,
): AsyncGenerator<ProbeResult<T>, void, undefined> {
  const { signal } = options;
  signal?.throwIfAborted();
  const ready = new ResultQueue<ProbeResult<T>>(options.order);
  const stop = new AbortController();
  const workers: WorkerShare[] = [];
  let running = 0;
  let failure: { readonly error: unknown } | undefined;
  let wake: (() => void) | undefined;
  // As in the one-thread run: results pile up for the rest of the event-loop turn, one wake-up each.
  let wakeScheduled = false;
  const wakeNow = () => {
    wakeScheduled = false;
    wake?.();
  };
  const scheduleWake = () => {
    if (wakeScheduled || wake === undefined) return;
    wakeScheduled = true;
    setImmediate(wakeNow);
  };
  const emit = (index: number, result: DetachedResult) => {
    ready.push(index, { target: targets[index], ...result } as ProbeResult<T>);
    scheduleWake();
  };
  const done = () => {
    running--;
    scheduleWake();
  };
  const fail = (error: unknown) => {
    if (stop.signal.aborted) return;
    failure ??= { error };
    wake?.();
  };
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const shares = planShares(targets, options, threads, (index, cause) =>
      ready.push(index, { target: targets[index] as T, latencyMs: 0, outcome: 'error', cause }),
    );
    running = shares.length;
    // Workers first: their start-up overlaps this thread's own share.
    for (const share of shares.slice(1)) workers.push(new WorkerShare(share, emit, done, fail));
    const own = shares[0];
    if (own) runShare(own, probeHere, emit, stop.signal).then(done, fail);
    for (;;) {
      if (ready.size > 0) {
        for (const result of ready.take()) yield result;
        continue;
      }
      if (failure) throw failure.error;
      signal?.throwIfAborted();
      if (running === 0) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
    await Promise.all(workers.map((w) => w.stop()));
  }
}

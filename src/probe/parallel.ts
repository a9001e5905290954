import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import type { MessagePort, Worker } from 'node:worker_threads';
import type { AppCheck } from './app-check.ts';
import { ResultQueue, TurnWaker } from './input-order.ts';
import type { ProbeResult, ProbeTarget } from './outcome.ts';
import { ResultDecoder, ResultEncoder, type WireBatch } from './result-wire.ts';
import { SharedTargets } from './shared-targets.ts';
import { oncePerTurn, portFor, startWorker } from './worker-thread.ts';

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
 * stays in one thread. And only on a core that is idle: on a machine already busy two threads took 40%
 * more CPU for no less wall time, so a worker is started per core that other work leaves free now
 * (busyElsewhere).
 */
export const MIN_TARGETS = 8000;
/** Most threads a run uses; past the cores they only contend. */
export const MAX_THREADS = 4;

/**
 * Threads for a run of `targets` valid targets at `bound` probes in flight: `asked` if given, else
 * this one plus one per core left idle (`cores`, less this thread, less the `busy` ones: by default
 * busyElsewhere) for runs of MIN_TARGETS or more.
 */
export function threadsFor(
  targets: number,
  bound: number,
  asked?: number,
  cores = availableParallelism(),
  busy?: number,
): number {
  if (asked === undefined && targets < MIN_TARGETS) return 1;
  let wanted = asked;
  if (wanted === undefined) {
    // Only here is the run queue read (busyElsewhere: a few /proc files). A core is idle unless a whole
    // core's worth of other work is busy, now and over the minute.
    const idle = Math.max(0, Math.ceil(cores - 1 - (busy ?? busyElsewhere())));
    wanted = Math.min(cores, MAX_THREADS, 1 + idle);
  }
  // Each thread holds at least one slot of the bound and probes at least one target.
  return Math.max(1, Math.min(wanted, Math.floor(bound), targets));
}

/**
 * From /proc/loadavg (`0.52 0.58 0.59 3/213 4123`): the 1-minute load average (0.52) and the tasks
 * runnable now (3), this one included.
 */
export function runQueueOf(
  loadavgText: string,
): { readonly load: number; readonly runnable: number } | undefined {
  const m = /^(\S+) \S+ \S+ (\d+)\//.exec(loadavgText);
  const load = Number(m?.[1]);
  return m && Number.isFinite(load) ? { load, runnable: Number(m[2]) } : undefined;
}

/** Whether a /proc task `stat` line (`4123 (node) R 1 …`) says the task is runnable. */
export function taskRunnable(statText: string): boolean {
  return statText[statText.lastIndexOf(')') + 2] === 'R';
}

/** This process's threads that are runnable now (Node's own helpers compile and collect beside it). */
function ownRunnable(): number {
  let runnable = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      if (taskRunnable(readFileSync(`/proc/self/task/${task}/stat`, 'utf8'))) runnable++;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return runnable;
}

/** Where the counts come from: /proc on Linux. */
export interface RunQueue {
  /** /proc/loadavg's text. */
  loadavg(): string;
  /** This process's runnable threads. */
  own(): number;
}

const procRunQueue: RunQueue = { loadavg: () => readFileSync('/proc/loadavg', 'utf8'), own: ownRunnable };

/**
 * Cores busy with other work: the tasks runnable at this instant that are not this process's threads
 * (least of three reads), or the 1-minute load average if that is lower. A run lasts a second or less,
 * so the instant matters: the load average counts, for a minute, work that has ended (the bench's own
 * earlier runs kept it near 1.0 on a 2-core machine). And the minute matters: one read of the run queue
 * can catch another process's moment of work (a collector thread, a short command). Work that shows
 * in both is work. The load average alone where /proc is missing. Like the load average it is the
 * host's in a container (other containers' work counts as busy: fewer threads, never more), while
 * the core count it is taken from follows the container's CPU quota (availableParallelism: libuv
 * 1.49+ reads the cgroup's cpu.max).
 */
export function busyElsewhere(queue: RunQueue = procRunQueue): number {
  let least: number | undefined;
  let load: number | undefined;
  try {
    for (let k = 0; k < 3; k++) {
      const now = runQueueOf(queue.loadavg());
      if (now === undefined) continue;
      load = now.load;
      const others = Math.max(0, now.runnable - queue.own());
      least = Math.min(least ?? others, others);
    }
  } catch {
    // Not Linux, or no /proc: the load average.
  }
  const minute = load ?? loadavg()[0] ?? 0;
  return least === undefined ? minute : Math.min(least, minute);
}

/** Splits one bound into `threads` shares that add up to it, none empty (bound >= threads). */
export function splitBound(bound: number, threads: number): number[] {
  const base = Math.floor(bound / threads);
  return Array.from({ length: threads }, (_, k) => base + (k < bound - base * threads ? 1 : 0));
}

/**
 * The targets every thread of a run takes from, as plain data (copied to each worker), at their
 * positions in the caller's list.
 */
export interface Pool {
  readonly ips: string[];
  readonly ports: number[];
  /** A target's own deadline, or null for the run's. */
  readonly timeouts: (number | null)[];
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

/** The options of engine.ts a run over threads reads and hands on to each share. */
export interface ThreadedOptions {
  readonly timeoutMs?: number;
  readonly concurrency?: number;
  readonly order?: 'completion' | 'input';
  readonly signal?: AbortSignal;
  readonly resetWindowMs?: number;
  readonly app?: AppCheck;
}

/**
 * How a share is probed: the engine's run in one thread (engine.ts), taking targets from the pool as
 * its slots free up and handing each result to `deliver` with the target's pool position; settles when
 * the share is done, rejects with the reason when `signal` aborts.
 */
export type ShareProbe = <T extends ProbeTarget>(
  targets: SharedTargets<T>,
  options: ThreadedOptions & { readonly threads: 1 },
  deliver: (position: number, result: ProbeResult<T>) => void,
) => Promise<void>;

/**
 * Plans a run over threads: every target goes into one pool that every thread takes from as its slots
 * free up (shared-targets.ts), each thread with its share of the bound. A target that cannot be
 * probed gets its `error` result from the thread that takes it: checking 20,000 targets here, before
 * any thread starts, cost this thread 4–6 ms. A worker that is still starting takes nothing, so this
 * thread's probes begin at once; targets that time out, often next to each other in the input, hold
 * only the slots of the thread that took them while the others go on.
 */
export function planShares<T extends ProbeTarget>(
  targets: readonly T[],
  options: ThreadedOptions,
  threads: number,
): Share[] {
  const n = targets.length;
  if (n === 0) return [];
  const pool: Pool = { ips: new Array(n), ports: new Array(n), timeouts: new Array(n) };
  for (let k = 0; k < n; k++) {
    const target = targets[k] as T;
    pool.ips[k] = target.ip;
    pool.ports[k] = target.port;
    pool.timeouts[k] = target.timeoutMs ?? null;
  }
  const next = SharedTargets.counter();
  // Never more threads than targets: each would start only to find nothing to take.
  return splitBound(options.concurrency ?? 256, Math.min(threads, n)).map(
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

/**
 * Probes one share in this thread: `at` makes the target at a pool position, its index in the whole
 * run (this thread's own share gives the caller's objects back; a worker builds plain ones), and
 * `deliver` gets each result with that index.
 */
export function runShare<T extends ProbeTarget>(
  share: Share,
  probe: ShareProbe,
  at: (index: number) => T,
  deliver: (index: number, result: ProbeResult<T>) => void,
  signal: AbortSignal,
): Promise<void> {
  const targets = new SharedTargets<T>(share.next, share.pool.ips.length, at);
  const options: ThreadedOptions & { readonly threads: 1 } = {
    concurrency: share.concurrency,
    threads: 1,
    signal,
    ...(share.timeoutMs !== undefined ? { timeoutMs: share.timeoutMs } : {}),
    ...(share.resetWindowMs !== undefined ? { resetWindowMs: share.resetWindowMs } : {}),
    ...(share.app !== undefined ? { app: share.app } : {}),
  };
  return probe(targets, options, deliver);
}

/** A pool's target as plain data, for a worker (the caller's objects stay in the caller's thread). */
function poolTarget(pool: Pool): (position: number) => ProbeTarget {
  const { ips, ports, timeouts } = pool;
  return (k) => {
    const timeoutMs = timeouts[k];
    const ip = ips[k] as string;
    const port = ports[k] as number;
    return timeoutMs === null || timeoutMs === undefined ? { ip, port } : { ip, port, timeoutMs };
  };
}

/** Marks a probe worker (other code, a test runner's, starts workers too). */
const WORKER_KEY = 'sockeyeProbeWorker';

/** What a worker is sent: its share once (it may have started before the share was known), or `stop`. */
type ToWorker = { readonly share: Share } | 'stop';

/**
 * In a worker started by ProbeWorker: waits for its share, probes it with `probe` and posts the
 * results back in batches, one message per event-loop turn. Anywhere else: does nothing, and says so.
 */
export function serveShare(probe: ShareProbe): boolean {
  const port = portFor(WORKER_KEY);
  if (!port) return false;
  const stop = new AbortController();
  let started = false;
  port.on('message', (message: ToWorker) => {
    if (message === 'stop') {
      stop.abort();
      // Stopped before its share came (a run that needed fewer threads): nothing keeps it alive now.
      if (!started) port.unref();
    } else if (!started) {
      started = true;
      probeShare(message.share, probe, port, stop.signal);
    }
  });
  return true;
}

function probeShare(share: Share, probe: ShareProbe, port: MessagePort, signal: AbortSignal): void {
  const post = (message: WorkerMessage) => port.postMessage(message);
  const batch = new ResultEncoder();
  const flush = () => {
    if (batch.size > 0) post({ batch: batch.take() });
  };
  const flushSoon = oncePerTurn(flush);
  const deliver = (index: number, result: ProbeResult) => {
    batch.add(index, result);
    flushSoon();
  };
  runShare(share, probe, poolTarget(share.pool), deliver, signal)
    .then(() => {
      flush();
      post({ done: true });
    })
    .catch((err: unknown) => {
      // Stopped by the caller: it wants no more messages.
      if (!signal.aborted) post({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    })
    // Nothing keeps the thread alive once its run is over.
    .finally(() => port.unref());
}

/** Messages a worker sends: its results, one batch per event-loop turn (result-wire.ts), then `done` or `error`. */
export type WorkerMessage =
  | { readonly batch: WireBatch }
  | { readonly done: true }
  | { readonly error: string };

/** Who hears of a share a worker probes. */
interface ShareListener {
  /** One batch of results, read in the order they came. */
  results(batch: WireBatch, decoder: ResultDecoder): void;
  done(): void;
  fail(err: unknown): void;
}

/**
 * A worker thread that probes one share. It starts before its share is known (the ~25–45 ms of an
 * isolate, Node's bootstrap and the engine's modules overlap whatever the caller still does), and
 * is then either given its share or stopped.
 */
class ProbeWorker {
  readonly #worker: Worker;
  /** The shapes this worker's batches introduced (result-wire.ts). */
  readonly #decoder = new ResultDecoder();
  #listener: ShareListener | undefined;
  /** Why it failed before it was given a share, told to the run that takes it. */
  #failure: { readonly error: unknown } | undefined;
  #finished = false;
  #exited = false;
  readonly #exit: Promise<void>;

  constructor() {
    this.#worker = startWorker(WORKER_KEY);
    this.#worker.on('message', (message: WorkerMessage) => {
      if ('batch' in message) this.#listener?.results(message.batch, this.#decoder);
      else if ('done' in message) {
        this.#finished = true;
        this.#listener?.done();
      } else this.#fail(new Error(`probe worker: ${message.error}`));
    });
    this.#worker.on('error', (err) => this.#fail(err));
    this.#exit = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        this.#exited = true;
        this.#fail(new Error(`probe worker exited with code ${code} before its last result`));
        resolve();
      });
    });
  }

  #fail(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#listener) this.#listener.fail(error);
    else this.#failure = { error };
  }

  /** Waits for a share without keeping the process alive. */
  standBy(): void {
    this.#worker.unref();
  }

  serve(share: Share, listener: ShareListener): void {
    this.#listener = listener;
    if (this.#failure) {
      listener.fail(this.#failure.error);
      return;
    }
    this.#worker.ref();
    this.#worker.postMessage({ share } satisfies ToWorker);
  }

  /** Asks the worker to close its probes (with RST, as a run in one thread does) and waits for it to end. */
  async stop(): Promise<void> {
    this.#finished = true;
    if (this.#exited) return;
    this.#worker.postMessage('stop' satisfies ToWorker);
    const timer = setTimeout(() => void this.#worker.terminate(), 5000);
    await this.#exit;
    clearTimeout(timer);
  }
}

/** Workers started ahead of a run (prestartWorkers), taken by the next run over threads. */
const standby: ProbeWorker[] = [];

/** How long a worker started ahead waits for a run before it is stopped. */
const STANDBY_MS = 10_000;

/**
 * Starts workers ahead of a run, so that their start-up overlaps the caller's own (reading and
 * checking its targets): `count` workers wait, unreferenced, and the next runs over threads take them
 * before starting any of their own. One not taken within STANDBY_MS is stopped.
 */
export function prestartWorkers(count: number): void {
  while (standby.length < count) {
    const worker = new ProbeWorker();
    worker.standBy();
    standby.push(worker);
    setTimeout(() => {
      const at = standby.indexOf(worker);
      if (at < 0) return;
      standby.splice(at, 1);
      void worker.stop();
    }, STANDBY_MS).unref();
  }
}

/** Workers waiting for a run now (prestartWorkers), for tests. */
export function standbyWorkers(): number {
  return standby.length;
}

/**
 * probeBatches over `threads` threads: results as the one-thread run gives them (same objects, the
 * caller's targets, in completion or input order), `concurrency` shared out between the threads.
 */
export async function* probeInThreads<T extends ProbeTarget>(
  targets: readonly T[],
  options: ThreadedOptions,
  threads: number,
  probe: ShareProbe,
): AsyncGenerator<ProbeResult<T>[], void, undefined> {
  const { signal } = options;
  signal?.throwIfAborted();
  const ready = new ResultQueue<ProbeResult<T>>(options.order);
  const stop = new AbortController();
  const workers: ProbeWorker[] = [];
  let running = 0;
  let failure: { readonly error: unknown } | undefined;
  const waker = new TurnWaker();
  // Results about the caller's own target objects, from this thread's share or a worker's batch.
  const deliver = (index: number, result: ProbeResult<T>) => {
    ready.push(index, result);
    waker.later();
  };
  const targetAt = (index: number) => targets[index] as T;
  const results = (batch: WireBatch, decoder: ResultDecoder) => decoder.read(batch, targetAt, deliver);
  const done = () => {
    running--;
    waker.later();
  };
  const fail = (error: unknown) => {
    if (stop.signal.aborted) return;
    failure ??= { error };
    waker.now();
  };
  const onAbort = () => waker.now();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // Workers first, before the targets are pooled: their start-up overlaps that and this thread's own
    // share. Those started ahead (prestartWorkers) are taken first.
    for (let k = 1; k < threads; k++) workers.push(standby.pop() ?? new ProbeWorker());
    const shares = planShares(targets, options, threads);
    running = shares.length;
    const listener: ShareListener = { results, done, fail };
    // Fewer shares than threads when there are fewer targets: the workers left over are stopped.
    workers.forEach((worker, k) => {
      const share = shares[k + 1];
      if (share) worker.serve(share, listener);
      else void worker.stop();
    });
    const own = shares[0];
    // This thread probes the caller's own target objects, and its results need no copy.
    if (own) runShare(own, probe, targetAt, deliver, stop.signal).then(done, fail);
    for (;;) {
      if (ready.size > 0) {
        yield ready.take();
        continue;
      }
      if (failure) throw failure.error;
      signal?.throwIfAborted();
      if (running === 0) return;
      await waker.wait();
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
    await Promise.all(workers.map((w) => w.stop()));
  }
}

import type { Socket } from 'node:net';
import type { AppCheck } from './app-check.ts';
import { BulkRun } from './bulk.ts';
import { failedResult } from './classify.ts';
import { type ProbeClock, systemClock } from './clock.ts';
import { DeadlineSweep, type Expiring, type Tracked } from './deadlines.ts';
import {
  type Dialer,
  type DialResult,
  defaultDialer,
  type PendingDial,
  streamReads,
  tcpWrap,
} from './dialer.ts';
import { ResultQueue, TurnWaker } from './input-order.ts';
import type { ProbeResult, ProbeTarget } from './outcome.ts';
import {
  MIN_TARGETS,
  prestartWorkers,
  probeInThreads,
  serveShare,
  standbyWorkers,
  threadsFor,
} from './parallel.ts';
import { SharedTargets } from './shared-targets.ts';
import { ProbeSlots, type SlotFeed } from './slots.ts';
import { targetProblem } from './target.ts';
import { serveDials } from './thread-dialer.ts';

export interface ProbeOptions<T extends ProbeTarget = ProbeTarget> {
  /**
   * Deadline for the TCP handshake of a target without a `timeoutMs` of its own, in milliseconds; such
   * a target is an `error` result when this is missing too.
   */
  readonly timeoutMs?: number;
  /** Probes in flight at once for this run alone (default 256), when no shared `slots` is given. */
  readonly concurrency?: number;
  /**
   * The bound shared with other runs (every worker and caller that is given the same instance):
   * probes of all of them together stay within it, with the fairness between namespaces of slots.ts.
   */
  readonly slots?: ProbeSlots;
  /** The namespace a target belongs to, for that fairness; without it the run is one queue. */
  readonly namespaceOf?: (target: T) => string | undefined;
  /** `completion` (default) yields each result as it ends; `input` yields them in the targets' order. */
  readonly order?: 'completion' | 'input';
  /** Aborting stops new probes, closes the ones in flight, and makes the iterator throw the reason. */
  readonly signal?: AbortSignal;
  /**
   * After the handshake, how long to watch for the listener aborting the connection (the `reset`
   * outcome: a proxy that accepts and then finds no upstream). 0 (default) reports `open` at once.
   */
  readonly resetWindowMs?: number;
  /** An application check run on `open` targets; off by default. */
  readonly app?: AppCheck;
  readonly clock?: ProbeClock;
  /** How sockets are opened; the default uses Node's TCP handle directly (dialer.ts). */
  readonly dialer?: Dialer;
  /**
   * Threads to spread a long run over (parallel.ts): by default the machine's cores, for runs long
   * enough that a worker's start-up pays off and that share no `slots`, `dialer`, `clock` or
   * `namespaceOf` (those live in this thread); 1 keeps every probe in this thread.
   */
  readonly threads?: number;
}

export const DEFAULT_CONCURRENCY = 256;

/** Application checks load node:tls and node:crypto; only runs that ask for them pay that at start-up. */
let appCheckModule: Promise<typeof import('./app-check.ts')> | undefined;
function loadAppCheck(): Promise<typeof import('./app-check.ts')> {
  appCheckModule ??= import('./app-check.ts');
  return appCheckModule;
}

interface Run<T extends ProbeTarget> {
  readonly options: ProbeOptions<T>;
  readonly clock: ProbeClock;
  readonly sweep: DeadlineSweep;
  readonly dialer: Dialer;
  /** A target of `feed` got its slot. */
  begin(feed: RunFeed, target: T, index: number): void;
  /** `feed` was given a slot but had nothing left to start (another thread took it): it goes back. */
  unused(feed: RunFeed): void;
  /** A target taken from a shared pool cannot be probed: its `error` result, and the slot goes back. */
  refuse(feed: RunFeed, target: T, index: number, cause: string): void;
  finish(attempt: Attempt<T>, result: ProbeResult<T>): void;
}

/** Where a run's probes come from, as the slots see it, and whether it has any left to start. */
interface RunFeed extends SlotFeed {
  readonly done: boolean;
}

/**
 * A run's targets of one namespace, in input order, with their input positions: handed to the slots
 * whole (fairness needs to see every namespace that waits), started one at a time.
 */
class Feed<T extends ProbeTarget> implements RunFeed {
  readonly namespace: string | undefined;
  readonly targets: T[] = [];
  readonly indexes: number[] = [];
  readonly #run: Run<T>;
  #next = 0;

  constructor(run: Run<T>, namespace: string | undefined) {
    this.#run = run;
    this.namespace = namespace;
  }

  get done(): boolean {
    return this.#next >= this.targets.length;
  }

  startNext(): boolean {
    const i = this.#next++;
    this.#run.begin(this, this.targets[i] as T, this.indexes[i] as number);
    return !this.done;
  }
}

/**
 * A thread's feed from targets shared with other threads (parallel.ts): it takes a target only when a
 * slot of this thread is there to start it in, so the thread with free slots takes the work. Holding
 * one taken ahead would keep it from the others for as long as this thread's slots wait (a timeout,
 * at the end of a run); instead, when another thread took the last one first, the slot goes back.
 */
class SharedFeed<T extends ProbeTarget> implements RunFeed {
  readonly namespace = undefined;
  readonly #run: Run<T>;
  readonly #targets: SharedTargets<T>;

  constructor(run: Run<T>, targets: SharedTargets<T>) {
    this.#run = run;
    this.#targets = targets;
  }

  get done(): boolean {
    return this.#targets.exhausted;
  }

  startNext(): boolean {
    const position = this.#targets.take();
    if (position < 0) this.#run.unused(this);
    else {
      // Checked by the thread that takes it (parallel.ts planShares pools every target).
      const target = this.#targets.at(position);
      const problem = targetProblem(target, this.#run.options.timeoutMs);
      if (problem) this.#run.refuse(this, target, position, problem);
      else this.#run.begin(this, target, position);
    }
    return !this.done;
  }
}

/** One probe in flight: a dial, its deadline, and the rule that it ends exactly once. */
class Attempt<T extends ProbeTarget> implements Expiring {
  readonly feed: RunFeed;
  readonly target: T;
  readonly index: number;
  readonly #run: Run<T>;
  readonly #timeoutMs: number;
  #startedAt = 0;
  #deadline: Tracked | undefined;
  #pending: PendingDial | undefined;
  #socket: Socket | undefined;
  #phase: 'connect' | 'window' | 'app' | 'done' = 'connect';
  #connectedAt = 0;

  constructor(run: Run<T>, feed: RunFeed, target: T, index: number) {
    this.#run = run;
    this.feed = feed;
    this.target = target;
    this.index = index;
    // targetProblem turned away targets with neither.
    this.#timeoutMs = target.timeoutMs ?? run.options.timeoutMs ?? 0;
  }

  /** Dials; kept out of the constructor so that a dial that ends at once finds the attempt registered. */
  start(): void {
    this.#startedAt = this.#run.clock.now();
    this.#deadline = this.#run.sweep.add(this.#timeoutMs, this);
    let { dialer } = this.#run;
    // A dialer whose connections cannot be read (thread-dialer.ts) serves only plain connects.
    if (dialer.streams === false && (this.#app() !== undefined || this.#windowMs() > 0))
      dialer = defaultDialer;
    try {
      this.#pending = dialer.dial(this.target.ip, this.target.port, (result) => this.#onDialed(result));
    } catch (err) {
      // The slot is shared with other runs: a dialer that throws must still end the probe and free it.
      this.#end({ target: this.target, latencyMs: 0, outcome: 'error', cause: String(err) });
    }
  }

  #elapsed(): number {
    return this.#run.clock.now() - this.#startedAt;
  }

  /** The application check run once connected: the target's own, else the run's. */
  #app(): AppCheck | undefined {
    return this.target.app ?? this.#run.options.app;
  }

  /** How long a connection is watched for a reset after the handshake (0: not at all). */
  #windowMs(): number {
    return this.#run.options.resetWindowMs ?? 0;
  }

  #onDialed(result: DialResult): void {
    this.#pending = undefined;
    if (this.#phase !== 'connect') {
      if (result.kind === 'connected') result.connection.reset();
      return;
    }
    if (this.#deadline) this.#run.sweep.cancel(this.#deadline);
    if (result.kind === 'failed') {
      this.#end(failedResult(this.target, result.latencyMs ?? this.#elapsed(), result.errno, result.message));
      return;
    }
    this.#connectedAt = result.latencyMs ?? this.#elapsed();
    const resetWindowMs = this.#windowMs();
    const app = this.#app();
    if (app) {
      this.#phase = 'app';
      const socket = result.connection.toSocket();
      void loadAppCheck()
        .then(({ runAppCheck }) => runAppCheck(socket, this.target, app, this.#timeoutMs))
        .then((check) =>
          this.#end({ target: this.target, latencyMs: this.#connectedAt, outcome: 'open', app: check }),
        );
    } else if (resetWindowMs > 0) {
      // Keep reading: an RST from the listener surfaces as an error on the socket.
      this.#phase = 'window';
      const socket = result.connection.toSocket();
      this.#socket = socket;
      this.#deadline = this.#run.sweep.add(resetWindowMs, this);
      socket.on('error', (err: NodeJS.ErrnoException) => this.#onWindowError(err));
      socket.on('end', () => this.expire());
    } else {
      result.connection.reset();
      this.#end({ target: this.target, latencyMs: this.#connectedAt, outcome: 'open' });
    }
  }

  #onWindowError(err: NodeJS.ErrnoException): void {
    if (this.#phase !== 'window') return;
    this.#socket = undefined;
    this.#end({
      target: this.target,
      latencyMs: this.#elapsed(),
      outcome: 'reset',
      errno: err.code ?? 'ECONNRESET',
    });
  }

  /** The deadline passed: no answer to the SYN, or a reset window that stayed quiet. */
  expire(): void {
    if (this.#phase === 'connect') {
      this.#pending?.abort();
      this.#pending = undefined;
      this.#end({ target: this.target, latencyMs: this.#elapsed(), outcome: 'timeout' });
    } else if (this.#phase === 'window') {
      this.#socket?.resetAndDestroy();
      this.#socket = undefined;
      this.#end({ target: this.target, latencyMs: this.#connectedAt, outcome: 'open' });
    }
  }

  /** Closes without a result, for cancellation. */
  cancel(): void {
    this.#phase = 'done';
    if (this.#deadline) this.#run.sweep.cancel(this.#deadline);
    this.#pending?.abort();
    this.#socket?.destroy();
  }

  #end(result: ProbeResult<T>): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    if (this.#deadline) this.#run.sweep.cancel(this.#deadline);
    this.#run.finish(this, result);
  }
}

/**
 * Probes every target, each under its own deadline (`target.timeoutMs`, else `options.timeoutMs`), with
 * at most `concurrency` probes in flight, or within the `slots` bound it shares with other runs, and
 * yields one result per target as probes end (or in input order on request). Targets must be IP
 * literals: resolve names first (resolve.ts). Breaking out of the loop closes whatever is still in flight.
 */
export async function* probeTargets<T extends ProbeTarget>(
  targets: Iterable<T>,
  options: ProbeOptions<T>,
): AsyncGenerator<ProbeResult<T>, void, undefined> {
  // for…of, not yield*: yield* over an array in an async generator wraps every element in an
  // async-from-sync iterator step (two more promises per result).
  for await (const batch of probeBatches(targets, options)) for (const result of batch) yield result;
}

/**
 * probeTargets, the results in batches: what ended in one event-loop turn, in completion order, or
 * what is next in input order. For callers of thousands of targets: one step of the iterator per
 * batch, not per result (`sockeye probe`, the bench).
 */
export function probeBatches<T extends ProbeTarget>(
  targets: Iterable<T>,
  options: ProbeOptions<T>,
): AsyncGenerator<ProbeResult<T>[], void, undefined> {
  if (thisThreadOnly(options) || options.threads === 1) return probeHere(targets, options);
  const list = Array.isArray(targets) ? (targets as readonly T[]) : [...targets];
  // A target's own application check stays in this thread (a worker gets addresses and deadlines only).
  if (list.some((t) => t.app !== undefined)) return probeHere(list, options);
  // Workers started ahead (prestartProbeThreads) were started for this run: its threads were chosen then.
  const ready = list.length >= MIN_TARGETS && standbyWorkers() > 0 ? standbyWorkers() + 1 : undefined;
  const threads = threadsFor(
    list.length,
    options.concurrency ?? DEFAULT_CONCURRENCY,
    options.threads ?? ready,
  );
  return threads > 1 ? probeInThreads(list, options, threads, probeShared) : probeHere(list, options);
}

/**
 * Starts the worker threads a run of `targets` targets would get (probeTargets with the same
 * `concurrency` and `threads`), before the caller has read, parsed or resolved them: a worker takes
 * 25–45 ms to start, and a run that starts later takes them ready. A caller that knows a long run is
 * coming calls this as early as it can (`sockeye probe -f FILE`, once the file is read). Nothing
 * happens for a run that stays in one thread; workers no run takes are stopped after 10 s. Returns the
 * threads chosen.
 */
export function prestartProbeThreads(
  targets: number,
  options: Pick<ProbeOptions, 'concurrency' | 'threads'> = {},
): number {
  const threads = threadsFor(targets, options.concurrency ?? DEFAULT_CONCURRENCY, options.threads);
  prestartWorkers(threads - 1);
  return threads;
}

/** Whether the run uses what lives in this thread: a bound shared with other runs, fairness, a dialer or clock. */
function thisThreadOnly(options: ProbeOptions<never>): boolean {
  return (options.slots ?? options.dialer ?? options.clock ?? options.namespaceOf) !== undefined;
}

/**
 * Whether a run asks for nothing but connects (none of the above, no application check), a reset
 * window at most where Node's stream state can be read (bulk.ts reads the window on the handle).
 */
function plainConnects(options: ProbeOptions<never>): boolean {
  const window = (options.resetWindowMs ?? 0) > 0;
  return !thisThreadOnly(options) && options.app === undefined && (!window || streamReads !== undefined);
}

/** A run of probes in this thread, started by startRun. */
interface LocalRun {
  /** Whether every probe has ended: none in flight, none left to start. */
  finished(): boolean;
  /** Starts no more probes and closes those in flight (they give no result); gives back their slots. */
  close(): void;
}

/**
 * The engine of one thread: starts the targets' probes as slots free up and hands each result to
 * `deliver` with the target's position (in `targets`, or in the shared pool); `changed` is told after
 * every result and every slot given back, when the run may be over. probeHere makes it an iterator;
 * a share of a run over threads (probeShared) takes the results as they come.
 */
function startRun<T extends ProbeTarget>(
  targets: Iterable<T>,
  options: ProbeOptions<T>,
  deliver: (index: number, result: ProbeResult<T>) => void,
  changed: () => void,
): LocalRun {
  const list =
    targets instanceof SharedTargets || Array.isArray(targets)
      ? (targets as readonly T[] | SharedTargets<T>)
      : undefined;
  // A bulk run (bulk.ts) where Node's TCP binding is there and neither the run nor a target asks for
  // more than a connect (a pooled target carries no check: probeBatches keeps those runs in one thread).
  const ownChecks = (l: readonly T[] | SharedTargets<T>) =>
    !(l instanceof SharedTargets) && l.some((t) => t.app !== undefined);
  if (tcpWrap && list && plainConnects(options) && !ownChecks(list)) {
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    const bulk = new BulkRun(
      tcpWrap,
      list,
      { timeoutMs: options.timeoutMs, concurrency, resetWindowMs: options.resetWindowMs },
      { deliver, changed },
    );
    bulk.start();
    return bulk;
  }
  const slots = options.slots ?? new ProbeSlots(options.concurrency ?? DEFAULT_CONCURRENCY);
  const clock = options.clock ?? systemClock;
  const inFlight = new Set<Attempt<T>>();
  const feeds = new Map<string | undefined, RunFeed>();

  const run: Run<T> = {
    options,
    clock,
    sweep: new DeadlineSweep(clock),
    dialer: options.dialer ?? defaultDialer,
    begin(feed, target, index) {
      const attempt = new Attempt(run, feed, target, index);
      inFlight.add(attempt);
      attempt.start();
    },
    finish(attempt, result) {
      inFlight.delete(attempt);
      deliver(attempt.index, result);
      slots.release(attempt.feed);
      changed();
    },
    unused(feed) {
      slots.release(feed);
      changed();
    },
    refuse(feed, target, index, cause) {
      deliver(index, { target, latencyMs: 0, outcome: 'error', cause });
      run.unused(feed);
    },
  };

  const unstarted = () => {
    for (const feed of feeds.values()) if (!feed.done) return true;
    return false;
  };

  /** Gives back this run's slots and queue places: the bound may be shared with runs that go on. */
  function close(): void {
    for (const feed of feeds.values()) if (!feed.done) slots.withdraw(feed);
    feeds.clear();
    const attempts = [...inFlight];
    inFlight.clear();
    for (const attempt of attempts) {
      attempt.cancel();
      slots.release(attempt.feed);
    }
    run.sweep.close();
  }

  if (targets instanceof SharedTargets) {
    // Taken one at a time as this thread's slots free up, each checked as it is taken.
    const feed = new SharedFeed(run, targets as SharedTargets<T>);
    if (!feed.done) feeds.set(undefined, feed);
  } else {
    const byNamespace = new Map<string | undefined, Feed<T>>();
    let index = 0;
    for (const target of targets) {
      const problem = targetProblem(target, options.timeoutMs);
      if (problem) {
        deliver(index++, { target, latencyMs: 0, outcome: 'error', cause: problem });
        continue;
      }
      const namespace = options.namespaceOf?.(target);
      let feed = byNamespace.get(namespace);
      if (!feed) {
        feed = new Feed(run, namespace);
        byNamespace.set(namespace, feed);
        feeds.set(namespace, feed);
      }
      feed.targets.push(target);
      feed.indexes.push(index++);
    }
  }
  for (const feed of feeds.values()) slots.add(feed);
  return { finished: () => inFlight.size === 0 && !unstarted(), close };
}

/** probeBatches in this thread alone. */
async function* probeHere<T extends ProbeTarget>(
  targets: Iterable<T>,
  options: ProbeOptions<T>,
): AsyncGenerator<ProbeResult<T>[], void, undefined> {
  const { signal } = options;
  signal?.throwIfAborted();
  const ready = new ResultQueue<ProbeResult<T>>(options.order);
  const waker = new TurnWaker();
  let run: LocalRun | undefined;
  const onAbort = () => {
    run?.close();
    waker.now();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    run = startRun(
      targets,
      options,
      (index, result) => ready.push(index, result),
      () => waker.later(),
    );
    for (;;) {
      if (ready.size > 0) {
        yield ready.take();
        continue;
      }
      signal?.throwIfAborted();
      if (run.finished()) return;
      await waker.wait();
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    run?.close();
  }
}

/**
 * One share of a run over threads (parallel.ts), in this thread: each result goes to `deliver` as it
 * ends, with its position in the pool, without passing through an iterator (the share's results are
 * merged, or sent to the thread that merges them, by the caller). Ends when every probe of the share
 * has; an abort closes the probes in flight and rejects with its reason.
 */
function probeShared<T extends ProbeTarget>(
  targets: SharedTargets<T>,
  options: ProbeOptions<T>,
  deliver: (position: number, result: ProbeResult<T>) => void,
): Promise<void> {
  const { signal } = options;
  return new Promise<void>((resolve, reject) => {
    signal?.throwIfAborted();
    let run: LocalRun | undefined;
    let ended = false;
    const end = (error?: { readonly reason: unknown }) => {
      if (ended) return;
      ended = true;
      signal?.removeEventListener('abort', onAbort);
      run?.close();
      if (error) reject(error.reason);
      else resolve();
    };
    const onAbort = () => end({ reason: signal?.reason });
    const changed = () => {
      if (run?.finished()) end();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      run = startRun(targets, options, deliver, changed);
    } catch (err) {
      end({ reason: err });
      return;
    }
    // A share may find every target taken already.
    changed();
  });
}

/** All results, in the targets' order. */
export async function probeAll<T extends ProbeTarget>(
  targets: Iterable<T>,
  options: ProbeOptions<T>,
): Promise<ProbeResult<T>[]> {
  const results: ProbeResult<T>[] = [];
  for await (const batch of probeBatches(targets, { ...options, order: 'input' })) results.push(...batch);
  return results;
}

/** One target, one result. */
export async function probeOne<T extends ProbeTarget>(
  target: T,
  options: ProbeOptions<T>,
): Promise<ProbeResult<T>> {
  const [result] = await probeAll([target], options);
  if (!result) throw new Error(`probe of ${target.ip}:${target.port} produced no result`);
  return result;
}

// A worker thread started by probeInThreads (parallel.ts) has this module as its entry: it probes the
// share it was given, in its own event loop; one started by a ThreadDialer makes the dials it is
// sent. Everywhere else these do nothing.
serveShare(probeShared);
serveDials();

import { failedResult } from './classify.ts';
import { systemClock } from './clock.ts';
import { DeadlineSweep, type Tracked } from './deadlines.ts';
import {
  type ConnectRequest,
  failedWith,
  noop,
  type StreamReads,
  streamReads,
  type TcpHandle,
  type TcpWrapBinding,
} from './dialer.ts';
import type { Fifo } from './fifo.ts';
import type { ProbeResult, ProbeTarget } from './outcome.ts';
import { SharedTargets } from './shared-targets.ts';
import { DEFAULT_BURST } from './slots.ts';
import { targetProblem } from './target.ts';

/**
 * A run of plain connects (a share of a run over threads, the sidecar, `probe svc/` without health
 * checks, `sockeye probe` and the audit): no application check, no bound shared with other runs, the
 * default dialer and clock. It keeps what engine.ts keeps per probe (the bound, bursts of
 * DEFAULT_BURST per event-loop turn, a deadline per target read after the I/O already pending, RST on
 * every close) on Node's connect request itself: one request and one handle per probe and nothing
 * else until the result. A reset window (`resetWindowMs`) is read on the handle itself, and only for
 * the targets that answer (the general run makes each a net.Socket: ~0.1 ms of CPU apiece). The
 * general run (engine.ts) builds a probe object, a dial, a deadline entry and a closure
 * for each, and its first 10,000 probes run mostly in V8's lower tiers: two processes of 10,000
 * loopback targets each took 227–249 ms with it, 153–158 ms with a loop this lean (README "Probe
 * engine"). The outcomes are the same function of the same socket errors (classify.ts), and
 * test/net/probe-outcomes.test.ts runs every outcome through both.
 */

/** A connect in flight: Node's request, with what the run needs to end it; its own deadline entry. */
interface BulkRequest extends Tracked {
  oncomplete: (this: BulkRequest, status: number) => void;
  run: BulkRun<ProbeTarget>;
  handle: TcpHandle;
  target: ProbeTarget;
  /** The target's position: in the caller's list, or in the pool of a run over threads. */
  index: number;
  startedAt: number;
}

/** Who hears of the run. */
export interface BulkListener<T extends ProbeTarget> {
  deliver(index: number, result: ProbeResult<T>): void;
  /** After results and on start: the run may be over. */
  changed(): void;
}

export interface BulkOptions {
  readonly timeoutMs?: number | undefined;
  readonly concurrency: number;
  /** How long an answered connect is read for an RST before it counts as open (0 or unset: not read). */
  readonly resetWindowMs?: number | undefined;
}

/**
 * An answered connect read for its reset window: its own deadline entry, ended by an RST (`reset`),
 * the listener's FIN or the window's end (`open`, as in the general run), whichever comes first.
 */
class ResetWindow implements Tracked {
  at = 0;
  done = false;
  queue: Fifo<Tracked> | undefined;
  readonly run: BulkRun<ProbeTarget>;
  readonly request: BulkRequest;
  /** When the handshake ended, ms after the connect started: an open result's latency. */
  readonly connectedMs: number;
  /** Its result is given (or the run closed): later reads are ignored. */
  ended = false;

  constructor(run: BulkRun<ProbeTarget>, request: BulkRequest, connectedMs: number) {
    this.run = run;
    this.request = request;
    this.connectedMs = connectedMs;
  }

  expire(): void {
    this.run.windowEnded(this);
  }
}

/** A connected handle whose window is read: the window, for its `onread`. */
interface WindowHandle extends TcpHandle {
  window?: ResetWindow;
}

/** A read on a window's handle (Node calls it with the handle as `this`): data is ignored, an end ends it. */
function onWindowRead(this: TcpHandle): void {
  const window = (this as WindowHandle).window;
  const status = (streamReads as StreamReads).last();
  if (window && status < 0) window.run.windowEnded(window, status);
}

function onBulkComplete(this: BulkRequest, status: number): void {
  this.run.answered(this, status);
}

/** The deadline passed (deadlines.ts, after the I/O already pending was read). */
function expireBulk(this: BulkRequest): void {
  this.run.expired(this);
}

export class BulkRun<T extends ProbeTarget> {
  readonly #tcp: TcpWrapBinding;
  readonly #socket: number;
  readonly #options: BulkOptions;
  readonly #listener: BulkListener<T>;
  /** The caller's list (each target checked as it is taken), or targets shared with other threads. */
  readonly #list: readonly T[] | undefined;
  readonly #shared: SharedTargets<T> | undefined;
  #next = 0;
  #inFlight = 0;
  /** The connects in flight, each its own deadline entry. */
  readonly #sweep = new DeadlineSweep(systemClock);
  #pumpScheduled = false;
  #closed = false;

  constructor(
    tcp: TcpWrapBinding,
    targets: readonly T[] | SharedTargets<T>,
    options: BulkOptions,
    listener: BulkListener<T>,
  ) {
    this.#tcp = tcp;
    this.#socket = tcp.constants.SOCKET;
    this.#options = options;
    this.#listener = listener;
    if (targets instanceof SharedTargets) this.#shared = targets;
    else this.#list = targets;
  }

  /** Starts the first burst; the rest follow as connects end and turns pass. */
  start(): void {
    this.#pump();
  }

  get #more(): boolean {
    return this.#shared ? !this.#shared.exhausted : this.#next < (this.#list?.length ?? 0);
  }

  finished(): boolean {
    return this.#inFlight === 0 && !this.#more;
  }

  /** Starts no more connects and closes those in flight with RST; they give no result. */
  close(): void {
    this.#closed = true;
    this.#sweep.close((entry) => {
      entry.done = true;
      if (entry instanceof ResetWindow) {
        entry.ended = true;
        entry.request.handle.reset(noop);
      } else (entry as BulkRequest).handle.reset(noop);
    });
    this.#inFlight = 0;
  }

  readonly #pumpNow = () => {
    this.#pumpScheduled = false;
    this.#pump();
  };

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#closed || !this.#more) return;
    this.#pumpScheduled = true;
    setImmediate(this.#pumpNow);
  }

  /**
   * Starts up to one burst, within the bound. A loopback handshake ends inside connect(), so starting
   * the whole bound at once would hold thousands of answered sockets for nothing (slots.ts); the next
   * burst starts in the next turn, after the answers are read.
   */
  #pump(): void {
    if (this.#closed) return;
    const { concurrency, timeoutMs } = this.#options;
    let budget = DEFAULT_BURST;
    while (budget > 0 && this.#inFlight < concurrency) {
      let index: number;
      let target: T;
      if (this.#shared) {
        index = this.#shared.take();
        if (index < 0) break;
        target = this.#shared.at(index);
      } else {
        const list = this.#list as readonly T[];
        if (this.#next >= list.length) break;
        index = this.#next++;
        target = list[index] as T;
      }
      const problem = targetProblem(target, timeoutMs);
      if (problem) {
        this.#listener.deliver(index, { target, latencyMs: 0, outcome: 'error', cause: problem });
        continue;
      }
      budget--;
      this.#dial(target, index);
    }
    if (budget === 0 && this.#inFlight < concurrency) this.#schedulePump();
    this.#listener.changed();
  }

  #dial(target: T, index: number): void {
    const tcp = this.#tcp;
    const handle = new tcp.TCP(this.#socket);
    const r = new tcp.TCPConnectWrap() as unknown as BulkRequest;
    r.oncomplete = onBulkComplete;
    r.run = this as unknown as BulkRun<ProbeTarget>;
    r.handle = handle;
    r.target = target;
    r.index = index;
    r.expire = expireBulk;
    r.startedAt = systemClock.now();
    this.#sweep.track(r, target.timeoutMs ?? (this.#options.timeoutMs as number), r.startedAt);
    this.#inFlight++;
    const { ip, port } = target;
    const request = r as unknown as ConnectRequest;
    const status = ip.includes(':') ? handle.connect6(request, ip, port) : handle.connect(request, ip, port);
    // socket() or connect() failed at once (EMFILE, EADDRNOTAVAIL…): the request never completes.
    if (status !== 0) process.nextTick(() => this.answered(r, status));
  }

  /** The connect ended (libuv's answer, or at once with the error connect() returned). */
  answered(r: BulkRequest, status: number): void {
    if (r.done) return;
    this.#sweep.cancel(r);
    const latencyMs = systemClock.now() - r.startedAt;
    const windowMs = this.#options.resetWindowMs ?? 0;
    // Answered, with a window to read: it keeps its place in the bound until the window ends.
    if (status === 0 && windowMs > 0) {
      this.#watchWindow(r, latencyMs, windowMs);
      return;
    }
    this.#inFlight--;
    const target = r.target as T;
    let result: ProbeResult<T>;
    if (status === 0) {
      r.handle.reset(noop);
      result = { target, latencyMs, outcome: 'open' };
    } else {
      r.handle.close();
      const { errno, message } = failedWith(status);
      result = failedResult(target, latencyMs, errno, message);
    }
    this.#listener.deliver(r.index, result);
    this.#schedulePump();
    this.#listener.changed();
  }

  /** Reads an answered connect for `windowMs`. */
  #watchWindow(r: BulkRequest, connectedMs: number, windowMs: number): void {
    // The connect's own deadline entry stays done (cancelled in its queue); the window has its own.
    const window = new ResetWindow(this as unknown as BulkRun<ProbeTarget>, r, connectedMs);
    const handle = r.handle as WindowHandle;
    handle.window = window;
    handle.onread = onWindowRead;
    this.#sweep.track(window, windowMs);
    const status = handle.readStart();
    if (status !== 0) this.windowEnded(window, status);
  }

  /** The window ended: an RST (`err`), or the listener's FIN or the window's end (open, closed with RST). */
  windowEnded(window: ResetWindow, status?: number): void {
    if (window.ended) return;
    window.ended = true;
    this.#sweep.cancel(window);
    const r = window.request;
    this.#inFlight--;
    const target = r.target as T;
    const errno = status === undefined ? undefined : failedWith(status).errno;
    let result: ProbeResult<T>;
    if (errno === undefined || errno === 'EOF') {
      // Quiet through the window, or closed by the listener with FIN: open, as in the general run.
      r.handle.reset(noop);
      result = { target, latencyMs: window.connectedMs, outcome: 'open' };
    } else {
      r.handle.close();
      result = { target, latencyMs: systemClock.now() - r.startedAt, outcome: 'reset', errno };
    }
    this.#listener.deliver(r.index, result);
    this.#schedulePump();
    this.#listener.changed();
  }

  /**
   * Its deadline passed (the sweep marked it ended): closed with RST, as the handshake may have
   * completed after the last poll and a plain close would leave TIME_WAIT.
   */
  expired(r: BulkRequest): void {
    this.#inFlight--;
    r.handle.reset(noop);
    this.#listener.deliver(r.index, {
      target: r.target as T,
      latencyMs: systemClock.now() - r.startedAt,
      outcome: 'timeout',
    });
    this.#schedulePump();
    this.#listener.changed();
  }
}

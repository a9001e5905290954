import type { Socket } from 'node:net';

// node:net and node:util are loaded when first needed (a stream phase, the socket dialer, the first
// socket error): a worker thread of a bulk run needs neither, and each adds ~2 ms to its start-up.
let netModule: typeof import('node:net') | undefined;
let utilModule: typeof import('node:util') | undefined;
const net = () => (netModule ??= process.getBuiltinModule('node:net'));
const util = () => (utilModule ??= process.getBuiltinModule('node:util'));

/** A connected TCP socket the engine still owns. */
export interface Connection {
  /** Closes with RST (SO_LINGER 0), so no TIME_WAIT is left behind. */
  reset(): void;
  /** Hands the connection to stream code (reset window, application checks); the caller closes it. */
  toSocket(): Socket;
}

/**
 * How a connect ended: a connection, or the socket error code with its text (and libuv's status,
 * where the handle gave one). `latencyMs` where the dial was timed elsewhere (another thread: its own
 * clock, not the time the answer took to cross): the engine's own measure otherwise.
 */
export type DialResult =
  | { readonly kind: 'connected'; readonly connection: Connection; readonly latencyMs?: number }
  | {
      readonly kind: 'failed';
      readonly errno: string;
      readonly message: string;
      readonly status?: number;
      readonly latencyMs?: number;
    };

/** A connect in progress. */
export interface PendingDial {
  /** Gives up on the handshake (deadline, cancellation); `done` is then never called. */
  abort(): void;
}

/**
 * Starts non-blocking TCP connects to IP literals. `done` is called exactly once, always
 * asynchronously, unless the dial is aborted first. Injected into the engine so the fast path and the
 * public-API path are interchangeable and tested alike.
 */
export interface Dialer {
  readonly name: string;
  /**
   * false: its connections cannot be read (`toSocket`: they are closed when they are made), so a
   * probe that reads one (a reset window, an application check) dials with the default dialer.
   */
  readonly streams?: boolean;
  dial(ip: string, port: number, done: (result: DialResult) => void): PendingDial;
}

type Failed = Extract<DialResult, { kind: 'failed' }>;

function failed(errno: string, message: string): Failed {
  return { kind: 'failed', errno, message };
}

/**
 * The public-API dialer: one net.Socket per probe. Correct everywhere, but every refused connect
 * builds a stream and an Error whose stack trace the stream machinery formats (streams/destroy.js
 * reads err.stack), which costs about two thirds of the CPU of a refused probe.
 */
export const socketDialer: Dialer = {
  name: 'socket',
  dial(ip, port, done) {
    const socket = new (net().Socket)();
    let settled = false;
    socket.once('connect', () => {
      if (settled) return;
      settled = true;
      done({
        kind: 'connected',
        connection: { reset: () => socket.resetAndDestroy(), toSocket: () => socket },
      });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      done(failed(err.code ?? 'UNKNOWN', err.message));
    });
    socket.connect(port, ip);
    return {
      abort() {
        settled = true;
        socket.destroy();
      },
    };
  },
};

// Node's own TCP handle (what net.Socket wraps). Not public API, so it is reached defensively and
// the socket dialer takes over when it is missing.
export interface TcpHandle {
  connect(req: ConnectRequest, ip: string, port: number): number;
  connect6(req: ConnectRequest, ip: string, port: number): number;
  reset(callback: () => void): number;
  close(callback?: () => void): void;
  /** Starts reading: each read calls `onread` with the handle as `this` (what it read: streamReads). */
  readStart(): number;
  onread: ((this: TcpHandle, buffer: ArrayBuffer | undefined) => void) | undefined;
}
export interface ConnectRequest {
  /** Called by Node with the request as `this`, so one shared function serves every dial. */
  oncomplete: (this: ConnectRequest, status: number) => void;
  /** The dial this request belongs to (a property of our own, read back in `oncomplete`). */
  dial?: HandleDial | undefined;
}
export interface TcpWrapBinding {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => ConnectRequest;
  constants: { SOCKET: number };
}

/** One of Node's internal bindings (`process.binding`), or undefined where the runtime has none. */
function nodeBinding(name: string): unknown {
  const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  return binding?.call(process, name);
}

function loadTcpWrap(): TcpWrapBinding | undefined {
  try {
    const tcp = nodeBinding('tcp_wrap') as Partial<TcpWrapBinding> | undefined;
    if (typeof tcp?.TCP === 'function' && typeof tcp.TCPConnectWrap === 'function' && tcp.constants) {
      return tcp as TcpWrapBinding;
    }
  } catch {
    // Not available in this runtime: fall back to net.Socket.
  }
  return undefined;
}

/**
 * What the read that called a handle's `onread` returned: bytes read, or a negative libuv status
 * (EOF, ECONNRESET…). Node's stream code reads it from the same shared state (stream_wrap).
 */
export interface StreamReads {
  last(): number;
}

function loadStreamReads(): StreamReads | undefined {
  try {
    const stream = nodeBinding('stream_wrap') as
      | { streamBaseState?: unknown; kReadBytesOrError?: unknown }
      | undefined;
    const state = stream?.streamBaseState;
    const at = stream?.kReadBytesOrError;
    if (state instanceof Int32Array && typeof at === 'number') return { last: () => state[at] as number };
  } catch {
    // Not available in this runtime: reads go through net.Socket.
  }
  return undefined;
}

export const streamReads = loadStreamReads();

function errnoName(status: number): string {
  try {
    return util().getSystemErrorName(status);
  } catch {
    return `E${-status}`;
  }
}

function errnoMessage(status: number): string {
  try {
    return util().getSystemErrorMessage(status);
  } catch {
    return `system error ${status}`;
  }
}

/** One immutable `failed` result per status: a refused probe allocates no strings or result object. */
const failures = new Map<number, Failed>();
export function failedWith(status: number): Failed {
  let result = failures.get(status);
  if (!result) {
    result = { ...failed(errnoName(status), errnoMessage(status)), status };
    failures.set(status, result);
  }
  return result;
}

export function noop(): void {}

/** A connected TCP handle; methods on a prototype rather than closures per probe. */
class HandleConnection implements Connection {
  readonly #handle: TcpHandle;

  constructor(handle: TcpHandle) {
    this.#handle = handle;
  }

  reset(): void {
    this.#handle.reset(noop);
  }

  toSocket(): Socket {
    // What net.Server does with an accepted handle; the socket starts reading at once.
    return new (net().Socket)({
      handle: this.#handle,
      readable: true,
      writable: true,
    } as unknown as ConstructorParameters<typeof Socket>[0]);
  }
}

/** One connect in flight on a bare TCP handle: the handle, the request, and who to tell. */
class HandleDial implements PendingDial {
  readonly handle: TcpHandle;
  done: ((result: DialResult) => void) | undefined;

  constructor(handle: TcpHandle, done: (result: DialResult) => void) {
    this.handle = handle;
    this.done = done;
  }

  /** Settles once: returns the callback to call, or undefined if aborted or already settled. */
  settle(): ((result: DialResult) => void) | undefined {
    const done = this.done;
    this.done = undefined;
    return done;
  }

  abort(): void {
    // Always with RST: the handshake may have completed in the kernel after the last poll (a deadline
    // racing a late SYN-ACK, or a loopback connect, which completes inside connect()); a plain close
    // would then send FIN and leave the socket in TIME_WAIT. In SYN_SENT it is an ordinary close.
    if (this.settle()) this.handle.reset(noop);
  }
}

function onConnectComplete(this: ConnectRequest, status: number): void {
  const dial = this.dial;
  this.dial = undefined;
  const done = dial?.settle();
  if (!dial || !done) return;
  if (status !== 0) {
    dial.handle.close();
    done(failedWith(status));
  } else {
    done({ kind: 'connected', connection: new HandleConnection(dial.handle) });
  }
}

function handleDialer(tcp: TcpWrapBinding): Dialer {
  const SOCKET = tcp.constants.SOCKET;
  return {
    name: 'handle',
    dial(ip, port, done) {
      const handle = new tcp.TCP(SOCKET);
      const request = new tcp.TCPConnectWrap();
      const dial = new HandleDial(handle, done);
      request.oncomplete = onConnectComplete;
      request.dial = dial;
      const status = ip.includes(':')
        ? handle.connect6(request, ip, port)
        : handle.connect(request, ip, port);
      if (status !== 0) {
        // socket() or connect() failed at once (EMFILE, EADDRNOTAVAIL…): report it on the next tick.
        request.dial = undefined;
        dial.settle();
        handle.close();
        process.nextTick(done, failedWith(status));
      }
      return dial;
    },
  };
}

/** Node's TCP binding, where this runtime has it (bulk.ts and the default dialer use it). */
export const tcpWrap = loadTcpWrap();

/**
 * The default dialer: Node's TCP handle without the stream and Error objects around it, about 3x the
 * probes per second of net.Socket on loopback (see README "Performance"); net.Socket where the
 * handle is not reachable.
 */
export const defaultDialer: Dialer = tcpWrap ? handleDialer(tcpWrap) : socketDialer;

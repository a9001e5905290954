import { Socket } from 'node:net';
import { getSystemErrorMessage, getSystemErrorName } from 'node:util';

/** A connected TCP socket the engine still owns. */
export interface Connection {
  /** Closes with RST (SO_LINGER 0), so no TIME_WAIT is left behind. */
  reset(): void;
  /** Hands the connection to stream code (reset window, application checks); the caller closes it. */
  toSocket(): Socket;
}

/** How a connect ended: a connection, or the socket error code with its text. */
export type DialResult =
  | { readonly kind: 'connected'; readonly connection: Connection }
  | { readonly kind: 'failed'; readonly errno: string; readonly message: string };

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
  dial(ip: string, port: number, done: (result: DialResult) => void): PendingDial;
}

function failed(errno: string, message: string): DialResult {
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
    const socket = new Socket();
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
interface TcpHandle {
  connect(req: ConnectRequest, ip: string, port: number): number;
  connect6(req: ConnectRequest, ip: string, port: number): number;
  reset(callback: () => void): number;
  close(callback?: () => void): void;
}
interface ConnectRequest {
  oncomplete: (status: number, handle: TcpHandle) => void;
}
interface TcpWrapBinding {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => ConnectRequest;
  constants: { SOCKET: number };
}

function loadTcpWrap(): TcpWrapBinding | undefined {
  try {
    const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
    const tcp = binding?.call(process, 'tcp_wrap') as Partial<TcpWrapBinding> | undefined;
    if (typeof tcp?.TCP === 'function' && typeof tcp.TCPConnectWrap === 'function' && tcp.constants) {
      return tcp as TcpWrapBinding;
    }
  } catch {
    // Not available in this runtime: fall back to net.Socket.
  }
  return undefined;
}

function errnoName(status: number): string {
  try {
    return getSystemErrorName(status);
  } catch {
    return `E${-status}`;
  }
}

function errnoMessage(status: number): string {
  try {
    return getSystemErrorMessage(status);
  } catch {
    return `system error ${status}`;
  }
}

function handleDialer(tcp: TcpWrapBinding): Dialer {
  return {
    name: 'handle',
    dial(ip, port, done) {
      const handle = new tcp.TCP(tcp.constants.SOCKET);
      const request = new tcp.TCPConnectWrap();
      let settled = false;
      request.oncomplete = (status) => {
        if (settled) return;
        settled = true;
        if (status !== 0) {
          handle.close();
          done(failed(errnoName(status), errnoMessage(status)));
          return;
        }
        done({
          kind: 'connected',
          connection: {
            reset: () => handle.reset(() => {}),
            // What net.Server does with an accepted handle; the socket starts reading at once.
            toSocket: () =>
              new Socket({ handle, readable: true, writable: true } as unknown as ConstructorParameters<
                typeof Socket
              >[0]),
          },
        });
      };
      const status = ip.includes(':')
        ? handle.connect6(request, ip, port)
        : handle.connect(request, ip, port);
      if (status !== 0) {
        // socket() or connect() failed at once (EMFILE, EADDRNOTAVAIL…): report it on the next tick.
        settled = true;
        handle.close();
        process.nextTick(done, failed(errnoName(status), errnoMessage(status)));
      }
      return {
        abort() {
          if (settled) return;
          settled = true;
          handle.close();
        },
      };
    },
  };
}

const tcpWrap = loadTcpWrap();

/**
 * The default dialer: Node's TCP handle without the stream and Error objects around it, about 3x the
 * probes per second of net.Socket on loopback (see README "Performance"); net.Socket where the
 * handle is not reachable.
 */
export const defaultDialer: Dialer = tcpWrap ? handleDialer(tcpWrap) : socketDialer;

import { connect } from 'node:net';

export type ConnectResult = 'open' | 'refused' | 'timeout' | 'unreachable' | 'reset' | `error:${string}`;

/**
 * One plain TCP connect, for the harness's own tests (sockeye's engine is tested on its own): what a
 * user's `nc -vz` would see.
 */
export function tcpConnect(
  host: string,
  port: number,
  timeoutMs = 1500,
  /** After the handshake, wait up to this long for the peer's RST (a listener that accepts, then resets). */
  resetWindowMs = 0,
): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (r: ConnectResult) => {
      clearTimeout(timer);
      socket.resetAndDestroy();
      resolve(r);
    };
    let timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('connect', () => {
      if (resetWindowMs === 0) return done('open');
      clearTimeout(timer);
      timer = setTimeout(() => done('open'), resetWindowMs);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done('refused');
      else if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') done('unreachable');
      else if (err.code === 'ECONNRESET') done('reset');
      else done(`error:${err.code ?? err.message}`);
    });
  });
}

/**
 * Waits until a connect to ip:port ends as `wanted` (the simulator and kube-proxy converge
 * asynchronously); `connect` is how to try (default: from this host).
 */
export async function untilConnect(
  ip: string,
  port: number,
  wanted: ConnectResult,
  timeoutMs = 60_000,
  connect: (ip: string, port: number) => Promise<ConnectResult> = tcpConnect,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: ConnectResult = 'timeout';
  while (Date.now() < deadline) {
    last = await connect(ip, port);
    if (last === wanted) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${ip}:${port} still ${last}, not ${wanted}, after ${timeoutMs} ms`);
}

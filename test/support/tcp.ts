import { connect } from 'node:net';

export type ConnectResult = 'open' | 'refused' | 'timeout' | 'unreachable' | 'reset' | `error:${string}`;

/**
 * One plain TCP connect, for the harness's own tests (sockeye's engine is tested on its own): what a
 * user's `nc -vz` would see.
 */
export function tcpConnect(host: string, port: number, timeoutMs = 1500): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (r: ConnectResult) => {
      clearTimeout(timer);
      socket.resetAndDestroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('connect', () => done('open'));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done('refused');
      else if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') done('unreachable');
      else if (err.code === 'ECONNRESET') done('reset');
      else done(`error:${err.code ?? err.message}`);
    });
  });
}

import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { AppCheck, AppCheckResult, ProbeTarget } from './outcome.ts';

export type { AppCheck };

type Stream = Socket;

function handshake(socket: Socket, servername: string | undefined, verify: boolean): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const secure = tlsConnect({ socket, rejectUnauthorized: verify, ...(servername ? { servername } : {}) });
    secure.once('secureConnect', () => resolve(secure));
    secure.once('error', reject);
  });
}

const statusLine = /^HTTP\/\d(?:\.\d)? (\d{3})/;

function httpStatus(stream: Stream, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let head = '';
    stream.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n');
      if (end < 0 && head.length < 8192) return;
      const match = statusLine.exec(head.slice(0, end < 0 ? head.length : end));
      if (match?.[1]) resolve(Number(match[1]));
      else reject(new Error(`not an HTTP response: ${JSON.stringify(head.slice(0, 40))}`));
    });
    stream.once('end', () => reject(new Error('connection closed before a status line')));
    stream.once('error', reject);
    stream.write(request);
  });
}

function passes(status: number, expect: readonly number[] | undefined): boolean {
  return expect ? expect.includes(status) : status >= 200 && status < 400;
}

function failure(check: AppCheck, err: unknown): AppCheckResult {
  const code = (err as NodeJS.ErrnoException).code;
  const detail = `${err instanceof Error ? err.message : String(err)}${code && !String(err).includes(code) ? ` (${code})` : ''}`;
  return { kind: check.kind, ok: false, detail };
}

function withDeadline<R>(work: Promise<R>, timeoutMs: number, socket: Socket): Promise<R> {
  // App checks are off the hot path (opt-in, one per open target), so a plain timer is fine here.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => {
    clearTimeout(timer);
    socket.resetAndDestroy();
  });
}

async function check(socket: Socket, target: ProbeTarget, app: AppCheck): Promise<AppCheckResult> {
  if (app.kind === 'tls') {
    const secure = (await handshake(socket, app.servername, app.verify ?? false)) as Socket & {
      getProtocol(): string | null;
    };
    const protocol = secure.getProtocol() ?? 'unknown';
    secure.destroy();
    return { kind: 'tls', ok: true, protocol, detail: `handshake completed (${protocol})` };
  }
  const stream = app.tls ? await handshake(socket, app.hostHeader, app.verify ?? false) : socket;
  const host = app.hostHeader ?? (target.ip.includes(':') ? `[${target.ip}]` : target.ip);
  const request = `GET ${app.path} HTTP/1.1\r\nHost: ${host}:${target.port}\r\nUser-Agent: sockeye\r\nConnection: close\r\n\r\n`;
  const status = await httpStatus(stream, request);
  if (stream !== socket) stream.destroy();
  const ok = passes(status, app.expectStatus);
  return {
    kind: 'http',
    ok,
    status,
    detail: ok ? `GET ${app.path} -> ${status}` : `GET ${app.path} -> ${status}, unexpected`,
  };
}

/** Runs one application check on a connected socket, and closes it (with RST) when done. Never throws. */
export async function runAppCheck(
  socket: Socket,
  target: ProbeTarget,
  app: AppCheck,
  timeoutMs: number,
): Promise<AppCheckResult> {
  try {
    return await withDeadline(check(socket, target, app), timeoutMs, socket);
  } catch (err) {
    return failure(app, err);
  }
}

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeOne } from '../../src/probe/engine.ts';

const exec = promisify(execFile);

let http: HttpServer;
let tls: TlsServer;
let certDir = '';

function portOf(server: HttpServer | TlsServer): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  http = createHttpServer((req, res) => {
    res.statusCode = req.url === '/healthz' ? 204 : 503;
    res.end();
  });
  await new Promise<void>((resolve) => http.listen({ host: '127.0.0.1', port: 0 }, resolve));
  certDir = await mkdtemp(join(tmpdir(), 'sockeye-tls-'));
  const key = join(certDir, 'key.pem');
  const cert = join(certDir, 'cert.pem');
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=sockeye-test',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  tls = createTlsServer({ key: await readFile(key), cert: await readFile(cert) }, (socket) => socket.end());
  tls.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => tls.listen({ host: '127.0.0.1', port: 0 }, resolve));
});

afterAll(async () => {
  http?.close();
  tls?.close();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

describe('application checks on open targets', () => {
  it('passes an HTTP GET with an expected status and fails one without', async () => {
    const target = { ip: '127.0.0.1', port: portOf(http) };
    const healthy = await probeOne(target, {
      timeoutMs: 5000,
      app: { kind: 'http', path: '/healthz', expectStatus: [204] },
    });
    const unhealthy = await probeOne(target, { timeoutMs: 5000, app: { kind: 'http', path: '/' } });
    expect(healthy).toMatchObject({ outcome: 'open', app: { kind: 'http', ok: true, status: 204 } });
    expect(unhealthy).toMatchObject({ outcome: 'open', app: { kind: 'http', ok: false, status: 503 } });
  });

  it('completes a TLS handshake, and says so when the listener does not speak TLS', async () => {
    const secure = await probeOne(
      { ip: '127.0.0.1', port: portOf(tls) },
      { timeoutMs: 5000, app: { kind: 'tls' } },
    );
    const plain = await probeOne(
      { ip: '127.0.0.1', port: portOf(http) },
      { timeoutMs: 5000, app: { kind: 'tls' } },
    );
    expect(secure).toMatchObject({
      outcome: 'open',
      app: { kind: 'tls', ok: true, protocol: expect.stringMatching(/^TLSv1\.[23]$/) },
    });
    expect(plain).toMatchObject({ outcome: 'open', app: { kind: 'tls', ok: false } });
  });

  it('speaks HTTPS with --http over TLS', async () => {
    const result = await probeOne(
      { ip: '127.0.0.1', port: portOf(tls) },
      { timeoutMs: 5000, app: { kind: 'http', path: '/', tls: true } },
    );
    // The TLS server closes without answering HTTP: the check fails, the port is still open.
    expect(result).toMatchObject({ outcome: 'open', app: { kind: 'http', ok: false } });
  });
});

/**
 * The operator's HTTP endpoints (express 5): `/healthz` (the process serves), `/readyz` (every
 * informer cache has synced), `/metrics` (Prometheus text), `/api/v1/findings` (JSON). Handlers are
 * async; one error middleware answers 500 with a JSON body.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';

export interface HttpDeps {
  /** True once every cache has synced. */
  ready(): boolean;
  readonly registry: Registry;
  /** The body of /api/v1/findings. */
  findings(): unknown;
  readonly logger: Logger;
}

export function createApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.ready();
    res
      .status(ready ? 200 : 503)
      .type('text/plain')
      .send(ready ? 'ok' : 'caches not synced');
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  app.get('/api/v1/findings', (_req, res) => {
    res.json(deps.findings());
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    deps.logger.error({ err }, 'http handler failed');
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}

/** Listens; resolves with the server and the bound port once it is accepting connections. */
export function listen(
  app: express.Express,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => {
      if (err) reject(err);
      else resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

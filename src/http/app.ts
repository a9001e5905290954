/**
 * The operator's HTTP endpoints (express 5), on two listeners:
 * - health, plain HTTP and open (the kubelet probes it): `/healthz` (the process serves) and `/readyz`
 *   (every informer cache has synced);
 * - metrics, HTTPS with Kubernetes authentication and authorization (src/http/authz.ts): `/metrics`
 *   (Prometheus text) and `/sockeye/v1/findings` (JSON), which name every Service, pod, pod IP and
 *   NetworkPolicy sockeye sees.
 * With `--no-metrics-secure` and no `--metrics-port`, one plain listener serves all four, as before.
 * Handlers are async; one error middleware answers 500 with a JSON body.
 */
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import { listenOn } from './listen.ts';
import type { ServingCert } from './tls.ts';

/**
 * Not under /api: the API server's default `system:discovery` ClusterRole grants every authenticated
 * user get on `/api/*`, so a SubjectAccessReview would let any ServiceAccount token read the findings.
 */
export const FINDINGS_PATH = '/sockeye/v1/findings';

export interface HttpDeps {
  /** True once every cache has synced. */
  ready(): boolean;
  readonly registry: Registry;
  /** The body of /sockeye/v1/findings. */
  findings(): unknown;
  readonly logger: Logger;
}

export interface AppRoutes {
  readonly health: boolean;
  readonly metrics: boolean;
  /** Runs before the metrics routes (authentication and authorization). */
  readonly guard?: RequestHandler;
}

export function createApp(
  deps: HttpDeps,
  routes: AppRoutes = { health: true, metrics: true },
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  if (routes.health) {
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
  }
  if (routes.metrics) {
    // Only these two paths are guarded: anything else is a plain 404, whoever asks.
    const guard = routes.guard ? [routes.guard] : [];
    app.get('/metrics', ...guard, async (_req, res) => {
      res.type(deps.registry.contentType).send(await deps.registry.metrics());
    });
    app.get(FINDINGS_PATH, ...guard, (_req, res) => {
      res.json(deps.findings());
    });
  }
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    deps.logger.error({ err }, 'http handler failed');
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}

/** Listens (HTTPS when `tls` is given) with `handler`; see listenOn. */
export async function listen(
  handler: RequestListener,
  host: string,
  port: number,
  tls?: ServingCert,
): Promise<{ server: Server; host: string; port: number }> {
  const server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler)
    : createHttpServer(handler);
  const bound = await listenOn<Server>(server, host, port);
  return { server: bound.server, host: bound.host ?? host, port: bound.port };
}

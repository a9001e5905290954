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
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';
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

/** Listening on `::` accepts IPv4 too (mapped); a host without IPv6 cannot bind it at all. */
export const DUAL_STACK_HOST = '::';
const IPV4_ANY = '0.0.0.0';

/** The address to try instead after `host` failed to bind with `err`, if any. */
export function fallbackHost(host: string, err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return host === DUAL_STACK_HOST && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')
    ? IPV4_ANY
    : undefined;
}

/**
 * Listens (HTTPS when `tls` is given); resolves with the server, the bound host and port once it is
 * accepting connections. `::` falls back to 0.0.0.0 on a host without IPv6.
 */
export async function listen(
  handler: RequestListener,
  host: string,
  port: number,
  tls?: ServingCert,
): Promise<{ server: Server; host: string; port: number }> {
  try {
    return await listenOnce(handler, host, port, tls);
  } catch (err) {
    const fallback = fallbackHost(host, err);
    if (fallback === undefined) throw err;
    return listenOnce(handler, fallback, port, tls);
  }
}

function listenOnce(
  handler: RequestListener,
  host: string,
  port: number,
  tls: ServingCert | undefined,
): Promise<{ server: Server; host: string; port: number }> {
  const server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler)
    : createHttpServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // ipv6Only false: `::` takes IPv4 connections too, whatever the host's bindv6only says.
    server.listen({ host, port, ipv6Only: false }, () => {
      server.off('error', reject);
      resolve({ server, host, port: (server.address() as AddressInfo).port });
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * `/healthz`, `/readyz`, `/metrics` and `/status` on the sidecar's own port. Plain node:http: four
 * GET routes do not need express, and the sidecar's footprint is part of its contract.
 */
import { createServer, type Server } from 'node:http';
import { listenOn } from '../http/listen.ts';
import type { Logger } from '../log.ts';
import type { SidecarMetrics } from './metrics.ts';

export interface SidecarHttpState {
  /** The loop is alive (a round ended recently). */
  healthy(): boolean;
  /** Every declared port answers on every pod IP. */
  ready(): boolean;
  /** The last round, as JSON. */
  status(): unknown;
}

export function startHttp(
  state: SidecarHttpState,
  metrics: SidecarMetrics,
  logger: Logger,
  host: string | undefined,
  port: number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${body}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed');
    switch (path) {
      case '/healthz':
        return state.healthy() ? text(200, 'ok') : text(503, 'the probe loop is stuck');
      case '/readyz':
        return state.ready() ? text(200, 'ok') : text(503, 'a declared port does not answer on the pod IP');
      case '/status':
        res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(state.status())}\n`);
        return;
      case '/metrics':
        metrics.registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
          (err: unknown) => {
            logger.error({ err }, 'metrics failed');
            text(500, 'metrics failed');
          },
        );
        return;
      default:
        return text(404, 'not found');
    }
  });
  return listenOn(server, host, port);
}

/**
 * The webhook's HTTPS server: POST /mutate takes an AdmissionReview and answers with the sidecar
 * patch (inject.ts); GET /healthz. The API server only speaks TLS to webhooks.
 */
import { createServer, type Server } from 'node:https';
import { closeServer, listenOn } from '../http/listen.ts';
import { componentLogger, type Logger } from '../log.ts';
import { admissionResponse, type InjectOptions } from './inject.ts';

export interface WebhookServerOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly host?: string | undefined;
  readonly port: number;
  readonly inject: InjectOptions;
  readonly logger: Logger;
}

/** AdmissionReviews are small; a bigger body is not one. */
const MAX_BODY = 4 * 1024 * 1024;

export function startWebhook(o: WebhookServerOptions): Promise<{ server: Server; port: number }> {
  const log = componentLogger(o.logger, 'webhook');
  const server = createServer({ cert: o.cert, key: o.key }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (req.method !== 'POST' || path !== '/mutate') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        const review: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const answer = admissionResponse(review, o.inject);
        const r = (answer.response ?? {}) as { uid?: string; patch?: string };
        log.info({ uid: r.uid, injected: r.patch !== undefined }, 'admission review');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      } catch (err) {
        log.warn({ err }, 'bad admission review');
        res
          .writeHead(400, { 'content-type': 'text/plain' })
          .end('want an admission.k8s.io/v1 AdmissionReview\n');
      }
    });
  });
  return listenOn(server, o.host, o.port);
}

export const stopWebhook = closeServer;

/**
 * The operator's listeners, from its settings: health always in plain HTTP; metrics and findings
 * over HTTPS behind Kubernetes authentication and authorization by default, or in plain HTTP on
 * their own port, or (neither secure nor given a port) on the health listener as before.
 */
import type { Server } from 'node:http';
import { createApp, type HttpDeps, listen } from './app.ts';
import { KubeAuthorizer, requireKubeAuth, type TokenReviewer } from './authz.ts';
import { closeServer } from './listen.ts';
import { selfSignedCert } from './tls.ts';

export interface OperatorHttpOptions {
  readonly host: string;
  /** Health (and, without a metrics port, everything). */
  readonly port: number;
  readonly metrics: { readonly secure: boolean; readonly port: number | undefined };
  readonly deps: HttpDeps;
  /** The TokenReview/SubjectAccessReview calls; made only when metrics are secure. */
  readonly reviewer: () => TokenReviewer;
  /** The certificate's common name (the pod name). */
  readonly serverName: string;
  readonly now?: () => number;
}

export interface OperatorHttp {
  /** The health listener's port. */
  readonly port: number;
  /** Where /metrics and /sockeye/v1/findings are served (the health port when they share it). */
  readonly metricsPort: number;
  readonly secure: boolean;
  close(): Promise<void>;
}

export async function serveOperatorHttp(options: OperatorHttpOptions): Promise<OperatorHttp> {
  const { deps, metrics } = options;
  if (metrics.port === undefined) {
    if (metrics.secure) throw new Error('secure metrics need a port of their own');
    const { server, port } = await listen(createApp(deps), options.host, options.port);
    deps.logger.info({ port }, 'serving /healthz /readyz /metrics /sockeye/v1/findings (plain HTTP, open)');
    return { port, metricsPort: port, secure: false, close: () => closeServer(server) };
  }
  const servers: Server[] = [];
  const close = () => Promise.all(servers.map(closeServer)).then(() => undefined);
  try {
    const health = await listen(
      createApp(deps, { health: true, metrics: false }),
      options.host,
      options.port,
    );
    servers.push(health.server);
    const guard = metrics.secure
      ? requireKubeAuth(
          new KubeAuthorizer({ reviewer: options.reviewer(), now: options.now ?? Date.now }),
          deps.logger,
        )
      : undefined;
    const tls = metrics.secure
      ? selfSignedCert({
          commonName: options.serverName,
          dnsNames: ['localhost'],
          ipAddresses: ['127.0.0.1', '::1'],
        })
      : undefined;
    const served = await listen(
      createApp(deps, { health: false, metrics: true, ...(guard ? { guard } : {}) }),
      options.host,
      metrics.port,
      tls,
    );
    servers.push(served.server);
    deps.logger.info({ port: health.port }, 'serving /healthz /readyz (plain HTTP, open)');
    deps.logger.info(
      { port: served.port, secure: metrics.secure },
      metrics.secure
        ? 'serving /metrics /sockeye/v1/findings (HTTPS, self-signed; Kubernetes token and RBAC get on the path)'
        : 'serving /metrics /sockeye/v1/findings (plain HTTP, open)',
    );
    return { port: health.port, metricsPort: served.port, secure: metrics.secure, close };
  } catch (err) {
    await close();
    throw err;
  }
}

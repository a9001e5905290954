/**
 * Listening and closing, one way for every server sockeye runs (the operator's health and metrics
 * listeners, the sidecar's, the webhook's).
 */
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** Listening on `::` accepts IPv4 too (mapped); a host without IPv6 cannot bind it at all. */
export const DUAL_STACK_HOST = '::';
const IPV4_ANY = '0.0.0.0';

/** The address to try instead after `host` failed to bind with `err`, if any. */
export function fallbackHost(host: string | undefined, err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return host === DUAL_STACK_HOST && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')
    ? IPV4_ANY
    : undefined;
}

/**
 * Listens (HTTP or HTTPS); resolves with the server and the bound host and port once it accepts
 * connections. `::` falls back to 0.0.0.0 on a host without IPv6.
 */
export async function listenOn<S extends Server | HttpsServer>(
  server: S,
  host: string | undefined,
  port: number,
): Promise<{ server: S; host: string | undefined; port: number }> {
  try {
    return await listenOnce(server, host, port);
  } catch (err) {
    const fallback = fallbackHost(host, err);
    if (fallback === undefined) throw err;
    return listenOnce(server, fallback, port);
  }
}

function listenOnce<S extends Server | HttpsServer>(
  server: S,
  host: string | undefined,
  port: number,
): Promise<{ server: S; host: string | undefined; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // ipv6Only false: `::` takes IPv4 connections too, whatever the host's bindv6only says.
    server.listen({ host, port, ipv6Only: false }, () => {
      server.off('error', reject);
      resolve({ server, host, port: (server.address() as AddressInfo).port });
    });
  });
}

/** Stops accepting, closes every open connection (keep-alive ones too) and resolves when closed. */
export function closeServer(server: Server | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

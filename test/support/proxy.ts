import { connect, createServer, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface CuttableProxyOptions {
  /**
   * The loopback address the proxy connects to the API server from (e.g. 127.0.0.2), so the API
   * server's audit log tells the proxied client's requests (`sourceIPs`) from everyone else's.
   */
  readonly localAddress?: string;
  /** Delay, in ms, of every chunk sent to the API server (a slow link; order is kept). */
  readonly delayMs?: number;
}

/**
 * A TCP proxy to the API server whose connections can be cut, whose port can be closed and reopened,
 * and which can be partitioned: connections are accepted and what is sent into them is swallowed,
 * as on a network that drops packets, until it heals. Its open connections can also be frozen: they
 * stay open and carry nothing more, as when a peer or a NAT on the way died without a reset.
 */
export class CuttableProxy {
  readonly #sockets = new Set<Socket>();
  /** Client connections accepted while partitioned: never forwarded, reset when it heals. */
  readonly #swallowing = new Set<Socket>();
  /** Each forwarded connection's two sockets, to freeze them. */
  readonly #pairs = new Set<readonly [Socket, Socket]>();
  readonly #frozen = new Set<readonly [Socket, Socket]>();
  readonly #target: { host: string; port: number };
  readonly #options: CuttableProxyOptions;
  #server: Server | undefined;
  #partitioned = false;
  port = 0;

  constructor(target: { host: string; port: number }, options: CuttableProxyOptions = {}) {
    this.#target = target;
    this.#options = options;
  }

  async open(): Promise<void> {
    const server = createServer((client) => {
      this.#track(client);
      if (this.#partitioned) {
        this.#swallowing.add(client);
        client.resume();
        return;
      }
      const { localAddress, delayMs = 0 } = this.#options;
      const upstream = connect({
        port: this.#target.port,
        host: this.#target.host,
        ...(localAddress ? { localAddress } : {}),
      });
      this.#track(upstream);
      if (delayMs > 0) {
        // The same delay for every chunk: the timers fire in order, so the stream stays in order.
        client.on('data', (chunk) => setTimeout(() => upstream.write(chunk), delayMs));
        client.on('end', () => setTimeout(() => upstream.end(), delayMs));
      } else {
        client.pipe(upstream);
      }
      upstream.pipe(client);
      const pair = [client, upstream] as const;
      this.#pairs.add(pair);
      client.on('close', () => {
        this.#pairs.delete(pair);
        upstream.destroy();
      });
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.#server = server;
  }

  #track(s: Socket): void {
    this.#sockets.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => {
      this.#sockets.delete(s);
      this.#swallowing.delete(s);
    });
  }

  /** Resets every open connection (the watch among them). */
  cut(): void {
    for (const s of this.#sockets) s.resetAndDestroy();
  }

  /**
   * Every open connection stops forwarding in both directions and stays open: what either side sends
   * is swallowed, nothing answers, no reset, as from a peer that died. New connections are forwarded
   * as usual. Returns how many were frozen.
   */
  freeze(): number {
    const frozen = [...this.#pairs];
    this.#pairs.clear();
    for (const pair of frozen) {
      this.#frozen.add(pair);
      for (const s of pair) {
        s.unpipe();
        s.removeAllListeners('data');
        // Still read (and dropped), so the client's own close is seen.
        s.on('data', () => undefined);
        s.resume();
      }
    }
    return frozen.length;
  }

  /** Sockets of frozen connections still open: the client has not given up on them. */
  frozenOpen(): number {
    return [...this.#frozen].flat().filter((s) => !s.destroyed).length;
  }

  /**
   * Cuts every connection, then swallows whatever the client sends on new ones: its requests hang
   * (nothing reaches the API server) instead of failing fast.
   */
  partition(): void {
    this.#partitioned = true;
    this.cut();
  }

  /** Forwards again; the connections accepted during the partition are reset, their bytes lost. */
  heal(): void {
    this.#partitioned = false;
    for (const s of this.#swallowing) s.resetAndDestroy();
  }

  /** Stops listening: new connections are refused. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.cut();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export function viaProxy(kc: KubeConfig, port: number): KubeConfig {
  const config = JSON.parse(kc.exportConfig()) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of config.clusters) {
    const url = new URL(c.cluster.server);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    c.cluster.server = url.toString().replace(/\/$/, '');
  }
  const out = new KubeConfig();
  out.loadFromString(JSON.stringify(config));
  return out;
}

import { connect, createServer, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** A TCP proxy to the API server whose connections can be cut and whose port can be closed and reopened. */
export class CuttableProxy {
  readonly #sockets = new Set<Socket>();
  readonly #target: { host: string; port: number };
  #server: Server | undefined;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.#target.port, this.#target.host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => this.#sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.#server = server;
  }

  /** Resets every open connection (the watch among them). */
  cut(): void {
    for (const s of this.#sockets) s.resetAndDestroy();
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

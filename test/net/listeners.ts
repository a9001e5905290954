import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';

/** A real TCP listener on `host`, any free port; the prober's RST on each connection is swallowed. */
export async function listen(
  host: string,
  onConnection: (socket: Socket) => void = () => {},
): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => {}); // the prober's RST surfaces here
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, resolve);
  });
  return server;
}

export function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return address.port;
}

/** The first port of the kernel's ephemeral range (where listen(0) and a connect's source port come from). */
function ephemeralLow(): number {
  try {
    return (
      Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768
    );
  } catch {
    return 32_768;
  }
}

/**
 * A port on each of `hosts` that nothing listens on, below the kernel's ephemeral range. A port freed
 * from that range can be taken meanwhile by another test's listen(0), and a connect to it can be given
 * it as its own source port and connect to itself (TCP simultaneous open): either way `open` where
 * `refused` was meant (CI saw it once). Checked free by binding it once on every host.
 */
export async function closedPort(...hosts: readonly string[]): Promise<number> {
  const high = ephemeralLow();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = high - 1 - Math.floor(Math.random() * 10_000);
    const bound: Server[] = [];
    for (const host of hosts) {
      const server = createServer();
      const ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen({ host, port }, () => resolve(true));
      });
      if (!ok) break;
      bound.push(server);
    }
    await Promise.all(bound.map((s) => new Promise((resolve) => s.close(resolve))));
    if (bound.length === hosts.length) return port;
  }
  throw new Error(`no free port below ${high} on ${hosts.join(', ')}`);
}

/** Sockets in TIME_WAIT to or from a local port, as `ss` lists them (empty when none). */
export async function timeWaitOn(port: number): Promise<string> {
  const filter = `( dport = :${port} or sport = :${port} )`;
  return (await promisify(execFile)('ss', ['-Htan', 'state', 'time-wait', filter])).stdout.trim();
}

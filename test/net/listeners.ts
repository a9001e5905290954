import { createServer, type Server, type Socket } from 'node:net';

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

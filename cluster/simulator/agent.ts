/**
 * Runs inside one simulated network namespace (`ip netns exec NS node agent.ts`) and holds the
 * listening sockets of the pods that live there. The simulator drives it with JSON lines on stdin:
 *   {"seq":1,"op":"set","key":"ns/pod","listeners":[{"host":"198.18.0.5","port":8080,"mode":"accept"}]}
 *   {"seq":2,"op":"exec","key":"ns/pod","uid":"…","container":"c","command":["node","x.js"],"env":{...},"log":"/path"}
 * and reads {"seq":1,"ok":true} or {"seq":1,"error":"..."} back; when a started process exits it
 * writes {"exited":{"key":"ns/pod","uid":"…","container":"c","code":0}} (a signal counts 128 + its
 * number, as a container runtime reports it). It exits when stdin closes, so it never outlives the
 * simulator.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';

interface ListenSpec {
  readonly host: string;
  readonly port: number;
  readonly mode: 'accept' | 'reset';
}

type Request =
  | { seq: number; op: 'set'; key: string; listeners: ListenSpec[] }
  | {
      seq: number;
      op: 'exec';
      key: string;
      uid: string;
      container: string;
      command: string[];
      env: Record<string, string>;
      log: string;
    }
  | { seq: number; op: 'kill'; key: string };

const servers = new Map<string, Map<string, Server>>();
const processes = new Map<string, number[]>();

function specId(s: ListenSpec): string {
  return `${s.host}|${s.port}|${s.mode}`;
}

function listen(spec: ListenSpec): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket: Socket) => {
      // A client that resets its probe makes our end error; that is normal traffic, not a crash.
      socket.on('error', () => socket.destroy());
      if (spec.mode === 'reset') socket.resetAndDestroy();
      else socket.on('end', () => socket.end());
    });
    server.once('error', reject);
    server.listen(
      { host: spec.host, port: spec.port, ipv6Only: spec.host.includes(':'), backlog: 4096 },
      () => {
        server.off('error', reject);
        resolve(server);
      },
    );
  });
}

async function set(key: string, wanted: ListenSpec[]): Promise<void> {
  const current = servers.get(key) ?? new Map<string, Server>();
  servers.set(key, current);
  const wantedIds = new Set(wanted.map(specId));
  for (const [id, server] of current) {
    if (!wantedIds.has(id)) {
      current.delete(id);
      await new Promise<void>((r) => server.close(() => r()));
    }
  }
  const errors: string[] = [];
  for (const spec of wanted) {
    const id = specId(spec);
    if (current.has(id)) continue;
    try {
      current.set(id, await listen(spec));
    } catch (err) {
      errors.push(`${spec.host}:${spec.port}: ${(err as Error).message}`);
    }
  }
  if (current.size === 0) servers.delete(key);
  if (errors.length > 0) throw new Error(errors.join('; '));
}

type ExecRequest = Extract<Request, { op: 'exec' }>;

function exec({ key, uid, container, command, env, log }: ExecRequest): void {
  const [file, ...args] = command;
  if (!file) throw new Error('empty command');
  const fd = openSync(log, 'a');
  const child = spawn(file, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  child.on('error', () => undefined);
  child.on('exit', (exitCode, signal) => {
    const code = exitCode ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
    write({ exited: { key, uid, container, code } });
  });
  processes.set(key, [...(processes.get(key) ?? []), child.pid ?? -1]);
}

/**
 * Stops a pod's processes: SIGTERM to each process group, SIGKILL to what is left after a grace
 * period. A process that outlived its pod would keep its network namespace alive unnamed, where
 * no clean-up can find it.
 */
async function kill(key: string, graceMs = 3000): Promise<void> {
  const pids = processes.get(key) ?? [];
  processes.delete(key);
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
      return true;
    } catch {
      return false;
    }
  };
  const alive = pids.filter((pid) => signal(pid, 'SIGTERM'));
  const deadline = Date.now() + graceMs;
  while (alive.some((pid) => signal(pid, 0 as unknown as NodeJS.Signals)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const pid of alive) signal(pid, 'SIGKILL');
}

async function killAll(): Promise<void> {
  await Promise.all([...processes.keys()].map((key) => kill(key)));
}

async function handle(req: Request): Promise<void> {
  switch (req.op) {
    case 'set':
      return set(req.key, req.listeners);
    case 'exec':
      return exec(req);
    case 'kill':
      return kill(req.key);
  }
}

/** One JSON line to the simulator; a closed pipe (the simulator is gone) is no error of ours. */
function write(line: unknown): void {
  if (process.stdout.writable) process.stdout.write(`${JSON.stringify(line)}\n`);
}
process.stdout.on('error', () => undefined);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const req = JSON.parse(line) as Request;
  handle(req).then(
    () => write({ seq: req.seq, ok: true }),
    (err: Error) => write({ seq: req.seq, error: err.message }),
  );
});
lines.on('close', () => void killAll().then(() => process.exit(0)));
// Stopped by a signal (e.g. its simulator's process group was killed): still take the pods' processes along.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(sig, () => void killAll().then(() => process.exit(0)));
}

/**
 * The sidecar's footprint: runs `sockeye sidecar` (from source, as a checkout runs it) against four
 * loopback listeners, and reports CPU time per minute at the chosen interval and resident memory
 * (all of it, and the anonymous part a container memory limit cannot reclaim). It re-runs itself in
 * a fresh network namespace (unshare, needs root) so that /proc/net/tcp holds only its own sockets,
 * as in a pod; loopback only: the "pod IP" is 127.0.0.2.
 *
 *   node bench/sidecar.ts [--interval 10s] [--seconds 60] [--ports 4]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { statCpuSeconds, statusKiB } from './proc.ts';

const { values } = parseArgs({
  options: {
    interval: { type: 'string', default: '10s' },
    seconds: { type: 'string', default: '60' },
    ports: { type: 'string', default: '4' },
    inner: { type: 'boolean', default: false },
  },
});
if (!values.inner) {
  const self = new URL(import.meta.url).pathname;
  const argv = [...process.argv.slice(2), '--inner'];
  const code = await new Promise<number | null>((resolve) =>
    spawn(
      'unshare',
      ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, self, ...argv],
      { stdio: 'inherit' },
    ).on('exit', resolve),
  );
  process.exit(code ?? 1);
}
const seconds = Number(values.seconds);
const listeners: Server[] = [];
const ports: number[] = [];
for (let i = 0; i < Number(values.ports); i++) {
  const server = createServer((s) => s.on('error', () => s.destroy()));
  // Half bound to every address, half to 127.0.0.1 only: both classes take their code paths.
  await new Promise<void>((r) => server.listen(0, i % 2 === 0 ? '0.0.0.0' : '127.0.0.1', r));
  listeners.push(server);
  ports.push((server.address() as { port: number }).port);
}

function sample(pid: number): { cpuS: number; rssKiB: number; anonKiB: number } {
  const cpuS = statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { cpuS, rssKiB: statusKiB(status, 'VmRSS'), anonKiB: statusKiB(status, 'RssAnon') };
}

const child = spawn(
  process.execPath,
  [
    new URL('../bin/sockeye.js', import.meta.url).pathname,
    'sidecar',
    `--interval=${values.interval}`,
    `--ports=${ports.join(',')}`,
    '--port=0',
  ],
  {
    env: { PATH: process.env.PATH, POD_NAME: 'bench', POD_IP: '127.0.0.2' },
    stdio: ['ignore', 'ignore', 'ignore'],
  },
);
const pid = child.pid!;
try {
  // Start-up (type stripping, first round) is not the steady state: measure from 5 s on.
  await sleep(5000);
  const start = sample(pid);
  await sleep(seconds * 1000);
  const end = sample(pid);
  const cpuPerMinute = ((end.cpuS - start.cpuS) / seconds) * 60;
  console.log(
    `sidecar, ${ports.length} declared ports, interval ${values.interval}, ${seconds} s: ` +
      `CPU ${(cpuPerMinute * 1000).toFixed(0)} ms per minute (${((cpuPerMinute / 60) * 100).toFixed(3)}% of a core, ` +
      `${((cpuPerMinute / 60) * 1000).toFixed(2)} millicores); ` +
      `RSS ${(end.rssKiB / 1024).toFixed(1)} MiB, anonymous ${(end.anonKiB / 1024).toFixed(1)} MiB`,
  );
} finally {
  child.kill('SIGTERM');
  for (const s of listeners) s.close();
}

// npm run bench:probe — sockeye's probe engine against `nmap -sT` on the same targets, alternating.
//
//   (a) 20,000 loopback targets (many 127.77.x.1 addresses x 100 ports), 60% open / 40% refused
//   (b) 20,000 targets, 10% of them timeouts (SYNs dropped by nft in a namespace this bench creates,
//       198.18.0.0/15), at a 1 s deadline for both tools
//
// nmap runs twice per round: with its own -T5 parallelism, and tuned to sockeye's (--min-parallelism
// and --max-parallelism at sockeye's --concurrency); ratios are given against both.
//
// Listening sockets are real (a python3 child binds them and never accepts: the kernel completes the
// handshakes). Prints probes/s, ratio, misclassifications against the known truth, peak RSS and new
// TIME_WAIT sockets per tool and set; the last line is one JSON object.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { withCleanup } from '../cluster/with-cleanup.ts';
import { writeBundles } from '../scripts/bundle.ts';
import type { Outcome } from '../src/probe/outcome.ts';
import { createDropNamespace, type DropNamespace } from '../test/net/netns.ts';
import { letter } from './probe-worker.ts';
import { median, roundTo } from './stats.ts';

const exec = promisify(execFile);
// ---- target sets ----

interface TargetSet {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly ports: readonly number[];
  /** Truth per `ip port`, in host-major order (the order nmap reports and sockeye is given). */
  readonly truth: ReadonlyMap<string, Outcome>;
}

function isOpen(host: string, port: number): boolean {
  // 60% open, spread by a hash so neither tool can profit from runs of one state.
  return createHash('sha256').update(`${host}:${port}`).digest()[0]! < 0.6 * 256;
}

function targetSet(
  name: string,
  loopback: readonly string[],
  dropped: readonly string[],
  ports: readonly number[],
): TargetSet {
  const truth = new Map<string, Outcome>();
  for (const host of loopback)
    for (const port of ports) truth.set(`${host} ${port}`, isOpen(host, port) ? 'open' : 'refused');
  for (const host of dropped) for (const port of ports) truth.set(`${host} ${port}`, 'timeout');
  return { name, hosts: [...loopback, ...dropped], ports, truth };
}

// ---- nmap ----

function nmapOutcome(state: string, reason: string): Outcome {
  if (state === 'open') return 'open';
  if (state === 'closed') return 'refused';
  if (reason.includes('unreach')) return 'unreachable';
  return state === 'filtered' ? 'timeout' : 'error';
}

function expandPorts(list: string): number[] {
  return list.split(',').flatMap((range) => {
    const [from = 0, to = from] = range.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** Reads nmap's XML: listed ports, and collapsed ones from <extrareasons ports="…">. */
function parseNmapXml(xml: string): Map<string, Outcome> {
  const seen = new Map<string, Outcome>();
  for (const host of xml.split('<host ').slice(1)) {
    const ip = /<address addr="([^"]+)"/.exec(host)?.[1];
    if (!ip) continue;
    for (const m of host.matchAll(
      /<port protocol="tcp" portid="(\d+)"><state state="(\w+)" reason="([\w-]+)"/g,
    )) {
      seen.set(`${ip} ${m[1]}`, nmapOutcome(m[2]!, m[3]!));
    }
    for (const extra of host.matchAll(/<extraports state="([\w|]+)"[^>]*>([\s\S]*?)<\/extraports>/g)) {
      for (const r of extra[2]!.matchAll(/<extrareasons reason="([\w-]+)"[^>]*ports="([\d,-]+)"/g)) {
        for (const port of expandPorts(r[2]!)) seen.set(`${ip} ${port}`, nmapOutcome(extra[1]!, r[1]!));
      }
    }
  }
  return seen;
}

// ---- measuring one run ----

type Tool = 'sockeye' | 'nmap' | 'nmap-tuned';

interface RunFigures {
  readonly tool: Tool;
  readonly seconds: number;
  readonly probesPerSecond: number;
  readonly misclassified: number;
  readonly peakRssMiB: number;
  /**
   * User + system CPU of the whole process: on a machine shared with other work, wall time mostly
   * measures the neighbours, CPU time much less so.
   */
  readonly cpuSeconds: number;
  readonly timeWaitLeft: number;
  /** sockeye only: probes/s inside the engine, without process start-up and module loading. */
  readonly engineProbesPerSecond?: number;
  /** sockeye only: the threads the engine ran on. */
  readonly threads?: number;
}

/**
 * The subnets this bench's targets are in: loopback, and the /24 of its drop namespace once made.
 * Only these count: other work on the machine (local clusters) uses 198.18.0.0/15 too.
 */
const targetSubnets = ['127.77.0.0/16'];

async function timeWaitCount(): Promise<number> {
  const { stdout } = await exec('ss', [
    '-Htan',
    'state',
    'time-wait',
    `( ${targetSubnets.map((s) => `dst ${s}`).join(' or ')} )`,
  ]);
  return stdout.split('\n').filter((l) => l.trim() !== '').length;
}

/** The most descriptors a child may have: as many as the hard limit allows (prlimit raises the soft one). */
let NOFILE = 65_536;

/**
 * Bundles probe-worker.ts and what it imports (the probe engine) as `npm run build` bundles the CLI
 * (scripts/bundle.ts: ES modules, with the worker threads' one-file bundle) into `dir`, and returns
 * the bundled worker: sockeye's side of the bench runs what an installed sockeye runs (dist/bundle/),
 * not TypeScript stripped at load.
 */
async function compileWorker(dir: string): Promise<string> {
  const out = join(dir, 'js');
  await writeBundles(out, { 'probe-worker': join(import.meta.dirname, 'probe-worker.ts') });
  return join(out, 'bundle', 'probe-worker.mjs');
}

/** Runs a command under GNU time; returns stdout, wall seconds, CPU seconds (user + system) and peak RSS. */
async function measured(
  command: string[],
): Promise<{ stdout: string; seconds: number; cpuSeconds: number; peakKiB: number }> {
  const started = performance.now();
  const { stdout, stderr } = await exec(
    '/usr/bin/time',
    ['-f', 'PEAK_KIB %M CPU %U %S', 'prlimit', `--nofile=${NOFILE}`, ...command],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const peakKiB = Number(/PEAK_KIB (\d+)/.exec(stderr)?.[1] ?? Number.NaN);
  const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(stderr);
  const cpuSeconds = Number(cpu?.[1] ?? Number.NaN) + Number(cpu?.[2] ?? Number.NaN);
  return { stdout, seconds, cpuSeconds, peakKiB };
}

function misclassified(set: TargetSet, seen: (key: string, i: number) => Outcome | undefined): number {
  let wrong = 0;
  let i = 0;
  for (const [key, truth] of set.truth) if (seen(key, i++) !== truth) wrong++;
  return wrong;
}

async function runSockeye(
  worker: string,
  set: TargetSet,
  dir: string,
  timeoutMs: number,
  concurrency: number,
  threads: number | undefined,
): Promise<RunFigures> {
  const file = join(dir, `${set.name}.targets`);
  await writeFile(file, `${[...set.truth.keys()].join('\n')}\n`);
  const before = await timeWaitCount();
  const run = await measured([
    process.execPath,
    worker,
    file,
    '--timeout',
    String(timeoutMs),
    '--concurrency',
    String(concurrency),
    ...(threads === undefined ? [] : ['--threads', String(threads)]),
  ]);
  const { outcomes, engineMs, ...used } = JSON.parse(run.stdout) as {
    outcomes: string;
    engineMs: number;
    threads: number;
  };
  const byLetter = new Map(Object.entries(letter).map(([o, l]) => [l, o as Outcome]));
  return {
    tool: 'sockeye',
    seconds: run.seconds,
    probesPerSecond: set.truth.size / run.seconds,
    misclassified: misclassified(set, (_, i) => byLetter.get(outcomes[i] ?? '?')),
    peakRssMiB: run.peakKiB / 1024,
    cpuSeconds: run.cpuSeconds,
    timeWaitLeft: Math.max(0, (await timeWaitCount()) - before),
    engineProbesPerSecond: (set.truth.size / engineMs) * 1000,
    threads: used.threads,
  };
}

/** `parallelism`: sockeye's concurrency, given to nmap as its minimum and maximum; else nmap's own. */
async function runNmap(
  set: TargetSet,
  dir: string,
  timeoutMs: number,
  parallelism: number | undefined,
): Promise<RunFigures> {
  const hosts = join(dir, `${set.name}.hosts`);
  const xml = join(dir, `${set.name}.xml`);
  await writeFile(hosts, `${set.hosts.join('\n')}\n`);
  const before = await timeWaitCount();
  // -T5 for nmap's most aggressive parallelism; one try per port and the same fixed deadline as
  // sockeye (nmap would otherwise shorten it to ~100 ms from loopback RTTs, or retransmit).
  const deadline = `${timeoutMs}ms`;
  const tuned =
    parallelism === undefined
      ? []
      : ['--min-parallelism', String(parallelism), '--max-parallelism', String(parallelism)];
  const run = await measured([
    'nmap',
    '-sT',
    '-Pn',
    '-n',
    '-T5',
    '--max-retries',
    '0',
    '--initial-rtt-timeout',
    deadline,
    '--min-rtt-timeout',
    deadline,
    '--max-rtt-timeout',
    deadline,
    ...tuned,
    '-p',
    `${set.ports[0]}-${set.ports.at(-1)}`,
    '-iL',
    hosts,
    '-oX',
    xml,
  ]);
  const seen = parseNmapXml(await readFile(xml, 'utf8'));
  return {
    tool: parallelism === undefined ? 'nmap' : 'nmap-tuned',
    seconds: run.seconds,
    probesPerSecond: set.truth.size / run.seconds,
    misclassified: misclassified(set, (key) => seen.get(key)),
    peakRssMiB: run.peakKiB / 1024,
    cpuSeconds: run.cpuSeconds,
    timeWaitLeft: Math.max(0, (await timeWaitCount()) - before),
  };
}

// ---- setup ----

async function ensureNmap(): Promise<string> {
  try {
    await exec('nmap', ['--version']);
  } catch {
    process.stderr.write('nmap missing: apt-get install -y nmap\n');
    await exec('apt-get', ['install', '-y', 'nmap'], { maxBuffer: 64 * 1024 * 1024 });
  }
  return (await exec('nmap', ['--version'])).stdout.split('\n')[0] ?? 'nmap';
}

const listenerScript = `
import socket, sys
socks = []
for line in open(sys.argv[1]):
    ip, port = line.split()
    s = socket.socket()
    s.bind((ip, int(port)))
    s.listen(256)  # never accepted: the kernel completes handshakes, the prober's RST clears them
    socks.append(s)
print("ready", flush=True)
sys.stdin.read()
`;

async function startListeners(set: TargetSet, dir: string): Promise<ChildProcess> {
  const file = join(dir, 'listeners');
  const open = [...set.truth].filter(([, o]) => o === 'open').map(([key]) => key);
  await writeFile(file, `${open.join('\n')}\n`);
  const child = spawn('prlimit', [`--nofile=${NOFILE}`, 'python3', '-c', listenerScript, file], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`listener process exited with ${code} (port in use?)`)));
    child.stdout?.once('data', () => resolve());
  });
  return child;
}

function summarize(runs: readonly RunFigures[]) {
  return {
    probesPerSecond: Math.round(median(runs.map((r) => r.probesPerSecond))),
    misclassified: Math.max(...runs.map((r) => r.misclassified)),
    peakRssMiB: roundTo(Math.max(...runs.map((r) => r.peakRssMiB)), 1),
    cpuSeconds: roundTo(median(runs.map((r) => r.cpuSeconds)), 2),
    timeWaitLeft: Math.max(...runs.map((r) => r.timeWaitLeft)),
    runs: runs.length,
    ...(runs[0]?.engineProbesPerSecond
      ? { engineProbesPerSecond: Math.round(median(runs.map((r) => r.engineProbesPerSecond ?? 0))) }
      : {}),
  };
}

/** The 1-minute load average, rounded: the machine is shared, so figures are noted beside it. */
const load = () => roundTo(loadavg()[0] ?? 0, 1);

async function bench(
  rounds: number,
  concurrency: number,
  only: string | undefined,
  threads: number | undefined,
): Promise<void> {
  const nmapVersion = await ensureNmap();
  NOFILE = Number((await exec('sh', ['-c', 'ulimit -Hn'])).stdout.trim()) || NOFILE;
  const dir = await mkdtemp(join(tmpdir(), 'sockeye-bench-'));
  let ns: DropNamespace | undefined;
  let listeners: ChildProcess | undefined;
  const cleanup = async () => {
    listeners?.kill();
    await ns?.remove();
    await rm(dir, { recursive: true, force: true });
  };
  await withCleanup(cleanup, async () => {
    const worker = await compileWorker(dir);
    ns = await createDropNamespace('sockeye-bench');
    targetSubnets.push(ns.subnet);
    const basePort = 20_000 + 100 * (process.pid % 50);
    const ports = Array.from({ length: 100 }, (_, i) => basePort + i);
    const loopback = Array.from({ length: 200 }, (_, i) => `127.77.${i}.1`);
    const dropped = Array.from({ length: 20 }, (_, i) => ns!.timeoutAddress(i));
    const sets = [
      { set: targetSet('a-loopback', loopback, [], ports), timeoutMs: 1000 },
      { set: targetSet('b-timeouts', loopback.slice(0, 180), dropped, ports), timeoutMs: 1000 },
    ];
    listeners = await startListeners(sets[0]!.set, dir);
    const report: Record<string, unknown> = {};
    for (const { set, timeoutMs } of sets.filter((s) => only === undefined || s.set.name.startsWith(only))) {
      const runs: RunFigures[] = [];
      const loads = [load()];
      const tools: Tool[] = ['sockeye', 'nmap', 'nmap-tuned'];
      for (let round = 0; round < rounds; round++) {
        // Rotate who goes first, so no tool always meets a warm (or a busy) machine.
        const order = tools.map((_, k) => tools[(k + round) % tools.length] as Tool);
        for (const tool of order) {
          const figures =
            tool === 'sockeye'
              ? await runSockeye(worker, set, dir, timeoutMs, concurrency, threads)
              : await runNmap(set, dir, timeoutMs, tool === 'nmap-tuned' ? concurrency : undefined);
          runs.push(figures);
          loads.push(load());
          process.stderr.write(
            `  ${set.name} round ${round + 1} ${tool.padEnd(10)} ${figures.seconds.toFixed(2)} s (CPU ${figures.cpuSeconds.toFixed(2)} s) ${Math.round(figures.probesPerSecond)} probes/s, ${figures.misclassified} wrong, ${figures.peakRssMiB.toFixed(1)} MiB, ${figures.timeWaitLeft} TIME_WAIT${figures.engineProbesPerSecond ? ` (engine alone ${Math.round(figures.engineProbesPerSecond)} probes/s, ${figures.threads} thread(s), load ${load()})` : ''}\n`,
          );
        }
      }
      const sockeye = summarize(runs.filter((r) => r.tool === 'sockeye'));
      const nmap = summarize(runs.filter((r) => r.tool === 'nmap'));
      const nmapTuned = summarize(runs.filter((r) => r.tool === 'nmap-tuned'));
      const ratio = roundTo(sockeye.probesPerSecond / nmap.probesPerSecond, 2);
      const ratioTuned = roundTo(sockeye.probesPerSecond / nmapTuned.probesPerSecond, 2);
      // nmap's CPU over sockeye's: above 1, sockeye needs less CPU for the same probes.
      const cpuRatio = roundTo(nmap.cpuSeconds / sockeye.cpuSeconds, 2);
      const engineThreads = runs.flatMap((r) => (r.threads === undefined ? [] : [r.threads]));
      const counts: Record<string, number> = {};
      for (const outcome of set.truth.values()) counts[outcome] = (counts[outcome] ?? 0) + 1;
      const loadRange = [Math.min(...loads), Math.max(...loads)];
      console.log(
        `set ${set.name}: ${set.truth.size} targets ${JSON.stringify(counts)}, deadline ${timeoutMs} ms, median of ${rounds}, load average ${loadRange.join('-')}`,
      );
      const line = (name: string, f: ReturnType<typeof summarize>) =>
        console.log(
          `  ${name.padEnd(10)} ${f.probesPerSecond} probes/s  CPU ${f.cpuSeconds} s  misclassified ${f.misclassified}  peak ${f.peakRssMiB} MiB  TIME_WAIT ${f.timeWaitLeft}`,
        );
      line(`sockeye`, sockeye);
      console.log(`             (threads per run: ${engineThreads.join(', ')})`);
      line('nmap', nmap);
      line('nmap-tuned', nmapTuned);
      console.log(
        `  ratio sockeye/nmap ${ratio}x (nmap -T5), ${ratioTuned}x (nmap at --min/--max-parallelism ${concurrency}); CPU nmap/sockeye ${cpuRatio}x`,
      );
      report[set.name] = {
        targets: set.truth.size,
        truth: counts,
        timeoutMs,
        threads: engineThreads,
        load: loadRange,
        sockeye,
        nmap,
        nmapTuned,
        ratio,
        ratioTuned,
        cpuRatio,
      };
    }
    console.log(
      JSON.stringify({ bench: 'probe', nmap: nmapVersion, node: process.version, concurrency, ...report }),
    );
  });
}

const { values } = parseArgs({
  options: {
    timeout: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '4096' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    /** sockeye's threads (default: the engine's choice; 1 measures the one-thread path). */
    threads: { type: 'string' },
  },
});
const threads = values.threads === undefined ? undefined : Number(values.threads);
await bench(Number(values.rounds), Number(values.concurrency), values.only, threads);

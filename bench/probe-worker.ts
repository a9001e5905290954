// sockeye's side of `npm run bench:probe` (probe.ts), compiled and run as its own process (with a raised
// RLIMIT_NOFILE): reads `IP PORT` lines from a file, probes them with the engine, and prints one JSON
// line with one outcome letter per target. It imports the engine and nothing of the bench's driver, so
// its start-up is what a process that probes pays, as nmap's is.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { probeTargets } from '../src/probe/engine.ts';
import type { Outcome, ProbeTarget } from '../src/probe/outcome.ts';
import { threadsFor } from '../src/probe/parallel.ts';

export const letter: Readonly<Record<Outcome, string>> = {
  open: 'o',
  refused: 'r',
  timeout: 't',
  unreachable: 'u',
  reset: 'x',
  error: 'e',
};

async function probeFile(
  file: string,
  timeoutMs: number,
  concurrency: number,
  threads: number | undefined,
): Promise<void> {
  const targets: ProbeTarget[] = (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => {
      const [ip = '', port = ''] = line.split(' ');
      return { ip, port: Number(port) };
    });
  const index = new Map(targets.map((t, i) => [t, i]));
  const outcomes = new Array<string>(targets.length).fill('?');
  const started = performance.now();
  // The engine's own choice (parallel.ts: cores, load, run length) unless pinned, made here so it is reported.
  const used = threadsFor(targets.length, concurrency, threads);
  const options = { timeoutMs, concurrency, threads: used };
  for await (const result of probeTargets(targets, options)) {
    outcomes[index.get(result.target) ?? 0] = letter[result.outcome];
  }
  const engineMs = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ engineMs, threads: used, outcomes: outcomes.join('') })}\n`);
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      timeout: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '4096' },
      threads: { type: 'string' },
    },
  });
  const [file] = positionals;
  if (file === undefined)
    throw new Error('usage: probe-worker.js FILE [--timeout MS] [--concurrency N] [--threads N]');
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  await probeFile(file, Number(values.timeout), Number(values.concurrency), threads);
}

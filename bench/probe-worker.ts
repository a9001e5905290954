// sockeye's side of `npm run bench:probe` (probe.ts), compiled and run as its own process (with a raised
// RLIMIT_NOFILE): reads `IP PORT` lines from a file, probes them with the engine, and prints one JSON
// line with one outcome letter per target. It imports the engine and nothing of the bench's driver, so
// its start-up is what a process that probes pays, as nmap's is.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { prestartProbeThreads, probeBatches } from '../src/probe/engine.ts';
import type { Outcome, ProbeTarget } from '../src/probe/outcome.ts';

export const letter: Readonly<Record<Outcome, string>> = {
  open: 'o',
  refused: 'r',
  timeout: 't',
  unreachable: 'u',
  reset: 'x',
  error: 'e',
};

interface IndexedTarget extends ProbeTarget {
  /** The target's line: results come back in completion order. */
  readonly index: number;
}

/** `IP PORT` lines, scanned in place (no array per line). */
function parseTargets(text: string): IndexedTarget[] {
  const targets: IndexedTarget[] = [];
  for (let at = 0; at < text.length; ) {
    const newline = text.indexOf('\n', at);
    const end = newline < 0 ? text.length : newline;
    const space = text.indexOf(' ', at);
    if (space > at && space < end)
      targets.push({
        ip: text.slice(at, space),
        port: Number(text.slice(space + 1, end)),
        index: targets.length,
      });
    at = end + 1;
  }
  return targets;
}

/** Lines in `text`, counted before they are parsed. */
function lineCount(text: string): number {
  let lines = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lines++;
  return lines;
}

async function probeFile(
  file: string,
  timeoutMs: number,
  concurrency: number,
  threads: number | undefined,
): Promise<void> {
  const text = await readFile(file, 'utf8');
  // As `sockeye probe -f` does: the engine's workers start while the lines are parsed. The threads are
  // the engine's own choice (parallel.ts: cores, other work, run length) unless pinned, reported here.
  const used = prestartProbeThreads(lineCount(text), {
    concurrency,
    ...(threads === undefined ? {} : { threads }),
  });
  const targets = parseTargets(text);
  const outcomes = new Array<string>(targets.length).fill('?');
  const started = performance.now();
  const options = { timeoutMs, concurrency, threads: used };
  for await (const batch of probeBatches(targets, options))
    for (const result of batch) outcomes[result.target.index] = letter[result.outcome];
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

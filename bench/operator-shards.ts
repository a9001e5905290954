// Pure logic of `npm run bench:operator -- --shards 1,2,4`: each run's per-replica figures, and the
// report (table and JSON line) that sets them side by side, against the aim of 1/N of one shard's
// cost. No I/O here (see bench/operator-shards.test.ts).
import { mb, memoryOf } from './operator-report.ts';
import { total } from './prometheus.ts';
import { roundTo } from './stats.ts';

/** One replica (the leader of one shard) of one run, from its /metrics. */
export interface ReplicaFigures {
  readonly shard: number;
  /**
   * process_resident_memory_bytes and nodejs_heap_size_used_bytes: the lower of two samples, after
   * the first sweep and at the end of the steady window.
   */
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** process_cpu_seconds_total from start to the end of the first sweep. */
  readonly cpuSweepS: number;
  /** process_cpu_seconds_total over the steady window. */
  readonly cpuSteadyS: number;
  /** Services it judged (its sockeye_service_targets series). */
  readonly services: number;
}

/** One run: N shards of one replica each, started together. */
export interface ShardRun {
  readonly shards: number;
  /** Start -> every Service judged by some shard. */
  readonly judgedMs: number;
  readonly replicas: readonly ReplicaFigures[];
}

/** What a replica's /metrics say about its cost. */
export const costOf = (metrics: string) => {
  const { rssBytes, heapUsedBytes } = memoryOf(metrics);
  return { rssBytes, heapUsedBytes, cpuS: total(metrics, 'process_cpu_seconds_total') };
};

const max = (xs: readonly number[]) => (xs.length === 0 ? 0 : Math.max(...xs));
const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** The per-replica cost of a run (the largest replica: the one that sizes the pods' limits). */
export function perReplica(run: ShardRun) {
  const r = run.replicas;
  return {
    rssBytes: max(r.map((x) => x.rssBytes)),
    heapUsedBytes: max(r.map((x) => x.heapUsedBytes)),
    cpuSweepS: max(r.map((x) => x.cpuSweepS)),
    cpuSteadyS: max(r.map((x) => x.cpuSteadyS)),
    meanRssBytes: mean(r.map((x) => x.rssBytes)),
  };
}

/**
 * Each run's per-replica cost as a fraction of the one-shard run's (the first run when none has one
 * shard), beside the aim 1/N.
 */
export function ratios(runs: readonly ShardRun[]) {
  const base = runs.find((r) => r.shards === 1) ?? runs[0];
  const b = base ? perReplica(base) : undefined;
  const ratio = (x: number, y: number | undefined) => (y ? roundTo(x / y, 2) : null);
  return runs.map((run) => {
    const p = perReplica(run);
    return {
      shards: run.shards,
      aim: roundTo(1 / run.shards, 2),
      rss: ratio(p.rssBytes, b?.rssBytes),
      heap: ratio(p.heapUsedBytes, b?.heapUsedBytes),
      cpuSweep: ratio(p.cpuSweepS, b?.cpuSweepS),
      cpuSteady: ratio(p.cpuSteadyS, b?.cpuSteadyS),
    };
  });
}

/** The report's lines: a title, one row per run, one JSON object. */
export function shardReportLines(
  size: {
    readonly services: number;
    readonly pods: number;
    readonly intervalS: number;
    readonly steadyS: number;
  },
  runs: readonly ShardRun[],
  load: string,
): string[] {
  const rs = ratios(runs);
  const header = [
    'shards',
    'judged',
    'RSS/replica',
    'heap/replica',
    'CPU sweep',
    'CPU steady',
    'ratio to 1 shard (aim 1/N)',
  ];
  const rows = runs.map((run, i) => {
    const p = perReplica(run);
    const r = rs[i];
    return [
      String(run.shards),
      `${Math.round(run.judgedMs)} ms`,
      `${mb(p.rssBytes)} MiB (mean ${mb(p.meanRssBytes)})`,
      `${mb(p.heapUsedBytes)} MiB`,
      `${roundTo(p.cpuSweepS, 2)} s`,
      `${roundTo(p.cpuSteadyS, 2)} s`,
      `RSS ${r?.rss ?? 'n/a'}, heap ${r?.heap ?? 'n/a'}, CPU sweep ${r?.cpuSweep ?? 'n/a'}, steady ${r?.cpuSteady ?? 'n/a'} (aim ${r?.aim})`,
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((x, c) => x.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd();
  const json = {
    services: size.services,
    pods: size.pods,
    intervalMs: size.intervalS * 1000,
    steadyWindowMs: size.steadyS * 1000,
    load,
    runs: runs.map((run, i) => ({ ...run, perReplica: perReplica(run), ratios: rs[i] })),
  };
  return [
    '',
    `sockeye operator sharding benchmark: ${size.services} Services, ${size.pods} pods; one replica per shard; the largest replica's cost (load: ${load})`,
    line(header),
    ...rows.map(line),
    JSON.stringify(json),
  ];
}

import { describe, expect, it } from 'vitest';
import { shardCounts } from './operator-report.ts';
import { costOf, perReplica, ratios, type ShardRun, shardReportLines } from './operator-shards.ts';
import { MIB } from './stats.ts';

const replica = (shard: number, rssMiB: number, cpuSweepS: number, cpuSteadyS = cpuSweepS / 10) => ({
  shard,
  rssBytes: rssMiB * MIB,
  heapUsedBytes: (rssMiB / 2) * MIB,
  cpuSweepS,
  cpuSteadyS,
  services: 0,
});

const RUNS: ShardRun[] = [
  { shards: 1, judgedMs: 9000, replicas: [replica(0, 200, 20)] },
  { shards: 2, judgedMs: 6000, replicas: [replica(0, 120, 11), replica(1, 110, 9)] },
  { shards: 4, judgedMs: 4000, replicas: [0, 1, 2, 3].map((i) => replica(i, 70 + i, 6 - i)) },
];

describe('the sharding report', () => {
  it('reads RSS, heap and CPU from /metrics', () => {
    const text = [
      'process_resident_memory_bytes 104857600',
      'nodejs_heap_size_used_bytes 5242880',
      'process_cpu_seconds_total 12.5',
    ].join('\n');
    expect(costOf(text)).toEqual({ rssBytes: 100 * MIB, heapUsedBytes: 5 * MIB, cpuS: 12.5 });
  });

  it("sizes a run by its largest replica, and divides by the one-shard run's", () => {
    expect(perReplica(RUNS[2] as ShardRun).rssBytes).toBe(73 * MIB);
    expect(ratios(RUNS)).toEqual([
      { shards: 1, aim: 1, rss: 1, heap: 1, cpuSweep: 1, cpuSteady: 1 },
      { shards: 2, aim: 0.5, rss: 0.6, heap: 0.6, cpuSweep: 0.55, cpuSteady: 0.55 },
      { shards: 4, aim: 0.25, rss: 0.37, heap: 0.37, cpuSweep: 0.3, cpuSteady: 0.3 },
    ]);
  });

  it('prints a row per run and ends with one JSON line', () => {
    const lines = shardReportLines({ services: 2000, pods: 20000, intervalS: 10, steadyS: 30 }, RUNS, '1.5');
    expect(lines.filter((l) => /^[124] /.test(l))).toHaveLength(3);
    const json = JSON.parse(lines.at(-1) ?? '');
    expect(json.runs.map((r: { ratios: { rss: number } }) => r.ratios.rss)).toEqual([1, 0.6, 0.37]);
    expect(json.load).toBe('1.5');
  });
});

describe('--shards', () => {
  it('takes a comma list of counts, each once, and names itself when bad', () => {
    expect(shardCounts('1,2,4')).toEqual([1, 2, 4]);
    expect(() => shardCounts('1,0')).toThrow(/--shards/);
    expect(() => shardCounts('1,x')).toThrow(/--shards/);
    expect(() => shardCounts('2,2')).toThrow(/--shards names a count twice/);
  });
});

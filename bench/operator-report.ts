// Pure logic of `npm run bench:operator`: its settings from the command line, what it reads from the
// operator's metrics, and the report (table and JSON line) from the figures the phases measured. No I/O
// here (see bench/operator-report.test.ts).
import { parseArgs } from 'node:util';
import { clusterIPsFit, nodeAddresses, parseCidr, splitCidr } from '../cluster/addresses.ts';
import { TEST_RANGES, WIDE_TEST_RANGES } from '../cluster/local.ts';
import { labelValue, samples, sumValues, total } from './prometheus.ts';
import { MIB, percentile, roundTo } from './stats.ts';

export interface Settings {
  readonly services: number;
  readonly podsPerService: number;
  /** At most one per Service. */
  readonly namespaces: number;
  readonly nodes: number;
  readonly intervalS: number;
  readonly timeoutS: number;
  /** Backends stopped for the detection figures: at most one per Service. */
  readonly samples: number;
  readonly steadySweeps: number;
  readonly createConcurrency: number;
  /** Keep the cluster here and use it again on the next run (undefined: a temporary one, removed). */
  readonly clusterDir: string | undefined;
  readonly pods: number;
  /** The steady window, and the no-operator baseline window: --steady-sweeps intervals. */
  readonly windowMs: number;
  /** The simulator's pod ranges: one test range for each cluster node's share, or a wider pair. */
  readonly podRanges: readonly string[];
  /** `--shards 1,2,4`: compare the per-replica cost of these shard counts instead (operator-shards.ts). */
  readonly shards: readonly number[] | undefined;
}

/** How many pods the simulator can address in `cidr` over `nodes` nodes. */
export const podsFit = (cidr: string, nodes: number): number =>
  splitCidr(parseCidr(cidr), nodes).reduce(
    (n, r) => n + nodeAddresses(r).lastPod - nodeAddresses(r).firstPod + 1,
    0,
  );

/** The bench's flags (`args`: the command line after the script); throws naming a bad one. */
export function settingsFrom(args: readonly string[]): Settings {
  const { values: flags } = parseArgs({
    args: [...args],
    options: {
      services: { type: 'string', default: '2000' },
      'pods-per-service': { type: 'string', default: '10' },
      namespaces: { type: 'string', default: '10' },
      nodes: { type: 'string', default: '4' },
      interval: { type: 'string', default: '10' },
      timeout: { type: 'string', default: '1' },
      samples: { type: 'string', default: '20' },
      'steady-sweeps': { type: 'string', default: '3' },
      'create-concurrency': { type: 'string', default: '16' },
      // Keep the cluster (and its pods) in this directory, and use it again on the next run: the
      // operator's part is measured in a minute instead of the setup's minutes (for profiling).
      'cluster-dir': { type: 'string' },
      // Shard counts to run one after the other on the same workload, e.g. 1,2,4.
      shards: { type: 'string' },
    },
  });
  const num = (name: Exclude<keyof typeof flags, 'cluster-dir' | 'shards'>) => {
    const n = Number(flags[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const services = num('services');
  const podsPerService = num('pods-per-service');
  const nodes = num('nodes');
  const intervalS = num('interval');
  const steadySweeps = num('steady-sweeps');
  const pods = services * podsPerService;
  // A /18 test range holds 16,368 pods on 4 nodes and 2,045 Services: a larger run takes a /17.
  const podRanges = [TEST_RANGES, WIDE_TEST_RANGES].find(
    (ranges) => podsFit(ranges[0], nodes) >= pods && clusterIPsFit(ranges[0]) >= services,
  );
  if (podRanges === undefined)
    throw new Error(
      `${pods} pods (--services x --pods-per-service) or ${services} Services do not fit a /17 on ${nodes} --nodes`,
    );
  return {
    services,
    podsPerService,
    namespaces: Math.min(num('namespaces'), services),
    nodes,
    intervalS,
    timeoutS: num('timeout'),
    samples: Math.min(num('samples'), services),
    steadySweeps,
    createConcurrency: num('create-concurrency'),
    clusterDir: flags['cluster-dir'],
    pods,
    windowMs: steadySweeps * intervalS * 1000,
    podRanges,
    shards: flags.shards === undefined ? undefined : shardCounts(flags.shards),
  };
}

/** `1,2,4`: shard counts from 1 to 64, each once; throws naming --shards. */
export function shardCounts(text: string): number[] {
  const counts = text.split(',').map((x) => Number(x.trim()));
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1 || n > 64))
    throw new Error(
      `--shards must be a comma list of shard counts from 1 to 64 (got ${JSON.stringify(text)})`,
    );
  if (new Set(counts).size !== counts.length) throw new Error(`--shards names a count twice (got ${text})`);
  return counts;
}

// ---- what the bench reads from the operator's /metrics ----

export interface Memory {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** V8's heap as committed (used, garbage not yet collected, free pages): what the heap adds to RSS. */
  readonly heapTotalBytes?: number;
  /** Memory outside the V8 heap that V8 accounts for (Buffers, ArrayBuffers). */
  readonly externalBytes?: number;
}

export const memoryOf = (metrics: string): Memory => ({
  rssBytes: total(metrics, 'process_resident_memory_bytes'),
  heapUsedBytes: total(metrics, 'nodejs_heap_size_used_bytes'),
  heapTotalBytes: total(metrics, 'nodejs_heap_size_total_bytes'),
  externalBytes: total(metrics, 'nodejs_external_memory_bytes'),
});

/** The aim for RSS: 200 MB, in bytes (the bench prints MiB: 200 MB is 190.7 MiB). */
export const RSS_AIM_BYTES = 200e6;

const memoryRow = (m: Memory) =>
  `${mb(m.rssBytes)} / ${mb(m.heapUsedBytes)}` +
  (m.heapTotalBytes === undefined
    ? ''
    : ` (heap committed ${mb(m.heapTotalBytes)}, external ${mb(m.externalBytes ?? 0)})`) +
  ' MiB';

/** The recovery Warnings' total, then each kind's count. */
const recoveryRow = (byKind: ReadonlyMap<string, number>) => {
  const kinds = [...byKind];
  const count = kinds.reduce((sum, [, n]) => sum + n, 0);
  return kinds.length === 0 ? `${count}` : `${count} (${kinds.map(([k, n]) => `${k}: ${n}`).join(', ')})`;
};

/**
 * The bench's Services (`namespace/name`) the operator has judged: probed and evaluated, so that its
 * sockeye_service_targets series exist.
 */
export const judgedServices = (metrics: string): Set<string> =>
  new Set(
    samples(metrics, 'sockeye_service_targets')
      .map((x) => /namespace="(bench-[^"]*)",service="([^"]*)"/.exec(x.labels))
      .flatMap((m) => (m ? [`${m[1]}/${m[2]}`] : [])),
  );

/** The first sweep's annotation patches. */
export interface SweepPatches {
  /** What the operator says it wrote: sockeye_api_writes_total{kind="patch",result="ok"}. */
  readonly written: number;
  /** The API server's PATCH requests on Services, and on Pods, over the same time. */
  readonly services: number;
  readonly pods: number;
}

/**
 * The first sweep's patches, from the metrics of an operator that started with the sweep and the
 * growth of apiserver_request_total by `VERB resource` (requestCounts) since it started. Nothing else
 * patches Services or Pods meanwhile: the bench waits, and the simulator writes `pods/status`.
 */
export const sweepPatches = (operatorMetrics: string, api: ReadonlyMap<string, number>): SweepPatches => ({
  written: samples(operatorMetrics, 'sockeye_api_writes_total')
    .filter((x) => labelValue(x.labels, 'kind') === 'patch' && labelValue(x.labels, 'result') === 'ok')
    .reduce((n, x) => n + x.value, 0),
  services: api.get('PATCH services') ?? 0,
  pods: api.get('PATCH pods') ?? 0,
});

// ---- the report ----

export interface Figures {
  /** The simulator's pace; undefined on a kept cluster (its pods were made by an earlier run). */
  readonly podsMade: { readonly perSecond: number; readonly ms: number } | undefined;
  /** Operator start -> /readyz answers (caches synced); undefined if it never did before the sweep. */
  readonly syncedMs: number | undefined;
  /** Operator start -> every Service judged. */
  readonly judgedMs: number;
  /** Operator start -> every Service annotated (a kept cluster's are cleared first). */
  readonly firstSweepMs: number;
  /** Operator start -> no annotation writes pending; undefined if they never drained. */
  readonly drainedMs: number | undefined;
  /** The patches written from operator start until then. */
  readonly patches: SweepPatches;
  /** Operator start -> every Service judged: its CPU and the machine's; undefined if /proc was unread. */
  readonly sweepCpu?: SweepCpu | undefined;
  /** Backend stopped -> sockeye's Warning Event, one per Service seen. */
  readonly latencies: readonly number[];
  readonly memAfterSync: Memory;
  readonly memEnd: Memory;
  /** The operator's peak RSS over its whole run (VmHWM: during the first sweep too); undefined if unread. */
  readonly peakRssBytes?: number | undefined;
  readonly steady: SteadyFigures;
  /**
   * Warning Events after the backends listened again, counted by `kind reason`, `(repeat)` marking a
   * series update of an earlier Event.
   */
  readonly recoveryWarnings: ReadonlyMap<string, number>;
}

/** CPU over the first sweep (operator start -> every Service judged). */
export interface SweepCpu {
  /** The operator process's CPU time, every thread of it. */
  readonly operatorSeconds: number;
  /** The share of all the machine's cores busy (0 to 1), anything's work; undefined if unread. */
  readonly machineBusy: number | undefined;
  readonly cores: number;
}

/** The sweep's CPU row: the operator's seconds and share of one core, and how busy the machine was. */
export function sweepCpuRow(cpu: SweepCpu | undefined, judgedMs: number): string {
  if (cpu === undefined) return 'n/a';
  const oneCore = Math.round((cpu.operatorSeconds / (judgedMs / 1000)) * 100);
  const machine =
    cpu.machineBusy === undefined ? 'n/a' : `${Math.round(cpu.machineBusy * 100)}% busy (${cpu.cores} cores)`;
  return `operator ${cpu.operatorSeconds.toFixed(1)} s (${oneCore}% of one core); machine ${machine}`;
}

/** The steady window: operator counters' growth, and API requests by `VERB resource`. */
export interface SteadyFigures {
  readonly probes: number;
  readonly writes: number;
  /** Every API request in the window, the operator running. */
  readonly withOperator: ReadonlyMap<string, number>;
  /** The same window's requests before the operator started. */
  readonly baseline: ReadonlyMap<string, number>;
  /** withOperator minus baseline. */
  readonly attributable: ReadonlyMap<string, number>;
  readonly leaseRequests: number;
}

const ms1 = (ms: number) => Math.round(ms);
/** Bytes as MiB to one decimal, as the bench reports print memory. */
export const mb = (bytes: number) => roundTo(bytes / MIB, 1);

/** The report's lines: a blank line, a title, the table, requests by verb and resource, one JSON object. */
export function reportLines(s: Settings, f: Figures): string[] {
  const seen = f.latencies.length;
  const p50 = percentile(f.latencies, 50);
  const p99 = percentile(f.latencies, 99);
  const detectAimMs = (s.intervalS + s.timeoutS + 1) * 1000;
  const perSweep = (n: number) => n / s.steadySweeps;
  const { steady } = f;
  const rows: [string, string, string][] = [
    [
      'size',
      `${s.services} Services, ${s.pods} pods/endpoints, ${s.namespaces} namespaces, ${s.nodes} nodes`,
      '',
    ],
    [
      'pods made by the simulator',
      f.podsMade === undefined
        ? 'n/a (kept cluster)'
        : `${f.podsMade.perSecond.toFixed(1)} pods/s (${ms1(f.podsMade.ms / 1000)} s)`,
      '',
    ],
    ['caches synced (/readyz)', f.syncedMs === undefined ? 'n/a' : `${ms1(f.syncedMs)} ms`, ''],
    [
      'first full sweep: every Service judged',
      `${ms1(f.judgedMs)} ms`,
      `aim < 10000 ms: ${f.judgedMs < 10_000 ? 'met' : 'missed'}`,
    ],
    [
      'first sweep: CPU',
      sweepCpuRow(f.sweepCpu, f.judgedMs),
      'start -> every Service judged (/proc): a machine near 100% busy bounds the sweep',
    ],
    [
      'first sweep: every Service annotated',
      `${ms1(f.firstSweepMs)} ms`,
      'sockeye.dev/status seen on every Service by a watch',
    ],
    [
      'first sweep: every annotation written',
      f.drainedMs === undefined ? 'n/a' : `${ms1(f.drainedMs)} ms`,
      'sockeye_annotation_writes_pending back to 0',
    ],
    [
      'first sweep: annotation patches',
      `${f.patches.written} (API server: ${f.patches.services} Services, ${f.patches.pods} pods)`,
      `aim <= 1 per Service, 0 per healthy pod: ${f.patches.services <= s.services && f.patches.pods === 0 ? 'met' : 'missed'}`,
    ],
    [
      'detection p50 / p99',
      `${ms1(p50)} / ${ms1(p99)} ms (${seen}/${s.samples} seen)`,
      `aim p99 < ${detectAimMs} ms: ${seen === s.samples && p99 < detectAimMs ? 'met' : 'missed'}`,
    ],
    ['RSS / heap after sync', memoryRow(f.memAfterSync), ''],
    ['RSS / heap at the end', memoryRow(f.memEnd), ''],
    [
      'peak RSS (VmHWM, whole run)',
      f.peakRssBytes === undefined
        ? 'n/a'
        : `${mb(f.peakRssBytes)} MiB (${roundTo(f.peakRssBytes / 1e6, 1)} MB)`,
      `aim < 200 MB RSS: ${Math.max(f.memAfterSync.rssBytes, f.memEnd.rssBytes, f.peakRssBytes ?? 0) < RSS_AIM_BYTES ? 'met' : 'missed'}`,
    ],
    ['steady: probes per sweep', `${Math.round(perSweep(steady.probes))}`, ''],
    [
      'steady: sockeye writes per sweep',
      perSweep(steady.writes).toFixed(1),
      `aim 0: ${steady.writes === 0 ? 'met' : 'missed'}`,
    ],
    [
      'steady: API requests per sweep',
      `${perSweep(sumValues(steady.attributable)).toFixed(1)} (all: ${perSweep(sumValues(steady.withOperator)).toFixed(1)}, baseline: ${perSweep(sumValues(steady.baseline)).toFixed(1)})`,
      'apiserver_request_total, minus the no-operator baseline',
    ],
    [
      'steady: Lease requests per sweep',
      `${perSweep(steady.leaseRequests).toFixed(1)}`,
      'leader election renewals (GET+PUT every 2 s)',
    ],
    [
      'recovery warnings seen',
      recoveryRow(f.recoveryWarnings),
      'Warning Events observed after the backends listened again (each occurrence once)',
    ],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  const width2 = Math.max(...rows.map((r) => r[1].length));
  const json = {
    services: s.services,
    pods: s.pods,
    namespaces: s.namespaces,
    nodes: s.nodes,
    intervalMs: s.intervalS * 1000,
    timeoutMs: s.timeoutS * 1000,
    podsPerSecond: f.podsMade === undefined ? null : roundTo(f.podsMade.perSecond, 1),
    syncedMs: f.syncedMs === undefined ? null : ms1(f.syncedMs),
    judgedMs: ms1(f.judgedMs),
    firstSweepCpu:
      f.sweepCpu === undefined
        ? null
        : {
            operatorSeconds: roundTo(f.sweepCpu.operatorSeconds, 2),
            machineBusy: f.sweepCpu.machineBusy === undefined ? null : roundTo(f.sweepCpu.machineBusy, 3),
            cores: f.sweepCpu.cores,
          },
    firstSweepMs: ms1(f.firstSweepMs),
    writesDrainedMs: f.drainedMs === undefined ? null : ms1(f.drainedMs),
    firstSweepPatches: f.patches,
    detection: { samples: s.samples, seen, p50Ms: ms1(p50), p99Ms: ms1(p99), aimMs: detectAimMs },
    memory: { afterSync: f.memAfterSync, end: f.memEnd, peakRssBytes: f.peakRssBytes ?? null },
    steady: {
      sweeps: s.steadySweeps,
      probesPerSweep: Math.round(perSweep(steady.probes)),
      writesPerSweep: perSweep(steady.writes),
      apiRequestsPerSweep: perSweep(sumValues(steady.attributable)),
      apiRequestsAllPerSweep: perSweep(sumValues(steady.withOperator)),
      baselinePerSweep: perSweep(sumValues(steady.baseline)),
      leaseRequestsPerSweep: perSweep(steady.leaseRequests),
      byVerbResource: Object.fromEntries(steady.attributable),
    },
  };
  return [
    '',
    `sockeye operator benchmark (interval ${s.intervalS}s, timeout ${s.timeoutS}s, confirmations 2)`,
    ...rows.map(([a, b, c]) => `${a.padEnd(width)}  ${b.padEnd(width2)}  ${c}`),
    `steady API requests by verb/resource (with operator, per window): ${[...steady.withOperator].map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}`,
    JSON.stringify(json),
  ];
}

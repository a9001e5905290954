import { describe, expect, it } from 'vitest';
import { TEST_RANGES } from '../cluster/local.ts';
import {
  type Figures,
  judgedServices,
  memoryOf,
  podsFit,
  reportLines,
  settingsFrom,
  sweepCpuRow,
  sweepPatches,
} from './operator-report.ts';
import { MIB } from './stats.ts';

describe('settingsFrom', () => {
  it('has the defaults the README measures at', () => {
    expect(settingsFrom([])).toEqual({
      services: 2000,
      podsPerService: 10,
      namespaces: 10,
      nodes: 4,
      intervalS: 10,
      timeoutS: 1,
      samples: 20,
      steadySweeps: 3,
      createConcurrency: 16,
      clusterDir: undefined,
      pods: 20_000,
      windowMs: 30_000,
      // 20,000 pods are more than a /18 holds on 4 nodes.
      podRanges: ['198.18.128.0/17', '198.19.0.0/17'],
    });
  });

  it('takes every flag, and keeps namespaces and samples within the Services', () => {
    const s = settingsFrom([
      '--services=3',
      '--pods-per-service',
      '2',
      '--namespaces=5',
      '--nodes=1',
      '--interval=2',
      '--timeout=3',
      '--samples=9',
      '--steady-sweeps=4',
      '--create-concurrency=8',
      '--cluster-dir=/tmp/kept',
    ]);
    expect(s).toMatchObject({
      services: 3,
      podsPerService: 2,
      namespaces: 3,
      nodes: 1,
      intervalS: 2,
      timeoutS: 3,
      samples: 3,
      steadySweeps: 4,
      createConcurrency: 8,
      clusterDir: '/tmp/kept',
      pods: 6,
      windowMs: 8000,
    });
  });

  it.each([
    ['--services=0', '--services must be a positive integer'],
    ['--nodes=-1', '--nodes must be a positive integer'],
    ['--interval=1.5', '--interval must be a positive integer'],
    ['--samples=many', '--samples must be a positive integer'],
    ['--bogus', "Unknown option '--bogus'"],
  ])('refuses %s', (flag, message) => {
    expect(() => settingsFrom([flag])).toThrow(message);
  });

  it('takes a /17 when a /18 cannot hold the pods or the Services, and refuses more than a /17 holds', () => {
    const fit18 = podsFit(TEST_RANGES[0], 4);
    expect(fit18).toBeGreaterThan(16_000);
    const wide = ['198.18.128.0/17', '198.19.0.0/17'];
    expect(settingsFrom(['--services=1', `--pods-per-service=${fit18}`]).podRanges).toEqual(TEST_RANGES);
    expect(settingsFrom(['--services=1', `--pods-per-service=${fit18 + 1}`]).podRanges).toEqual(wide);
    // A /18's Service range holds 2,045 ClusterIPs besides the API server's.
    expect(settingsFrom(['--services=2045', '--pods-per-service=1']).podRanges).toEqual(TEST_RANGES);
    expect(settingsFrom(['--services=2046', '--pods-per-service=1']).podRanges).toEqual(wide);
    expect(() => settingsFrom(['--services=100000'])).toThrow(
      '1000000 pods (--services x --pods-per-service) or 100000 Services do not fit a /17 on 4 --nodes',
    );
  });
});

describe('reading the operator metrics', () => {
  it('finds the judged bench Services, once each, and only in bench namespaces', () => {
    const text = [
      'sockeye_service_targets{namespace="bench-0",service="svc-0",state="open"} 10',
      'sockeye_service_targets{namespace="bench-0",service="svc-0",state="refused"} 0',
      'sockeye_service_targets{namespace="bench-1",service="svc-1",state="open"} 10',
      'sockeye_service_targets{namespace="kube-system",service="dns",state="open"} 2',
    ].join('\n');
    expect(judgedServices(text)).toEqual(new Set(['bench-0/svc-0', 'bench-1/svc-1']));
  });

  it("counts the first sweep's patches: the operator's written ones, and the API server's by resource", () => {
    const operator = [
      'sockeye_api_writes_total{kind="patch",result="ok"} 21',
      'sockeye_api_writes_total{kind="patch",result="error"} 3',
      'sockeye_api_writes_total{kind="event",result="created"} 7',
    ].join('\n');
    const api = new Map([
      ['PATCH services', 20],
      ['PATCH pods', 1],
      ['PATCH pods/status', 40],
      ['PATCH events', 5],
    ]);
    expect(sweepPatches(operator, api)).toEqual({ written: 21, services: 20, pods: 1 });
    expect(sweepPatches('', new Map())).toEqual({ written: 0, services: 0, pods: 0 });
  });

  it('reads resident memory, used and committed heap, and external memory', () => {
    const metrics = [
      'process_resident_memory_bytes 100',
      'nodejs_heap_size_used_bytes 40',
      'nodejs_heap_size_total_bytes 55',
      'nodejs_external_memory_bytes 7',
    ].join('\n');
    expect(memoryOf(metrics)).toEqual({
      rssBytes: 100,
      heapUsedBytes: 40,
      heapTotalBytes: 55,
      externalBytes: 7,
    });
  });
});

describe('reportLines', () => {
  const s = settingsFrom(['--services=20', '--pods-per-service=2', '--namespaces=2', '--samples=4']);
  const figures: Figures = {
    podsMade: { perSecond: 12.345, ms: 3240 },
    syncedMs: 812.4,
    judgedMs: 9500.6,
    firstSweepMs: 9900,
    drainedMs: undefined,
    patches: { written: 20, services: 20, pods: 0 },
    latencies: [4000, 2000, 3000],
    memAfterSync: { rssBytes: 150 * MIB, heapUsedBytes: 60 * MIB },
    memEnd: { rssBytes: 210 * MIB, heapUsedBytes: 70.25 * MIB },
    peakRssBytes: 190 * MIB,
    steady: {
      probes: 121,
      writes: 0,
      withOperator: new Map([
        ['GET leases', 15],
        ['PUT leases', 15],
        ['LIST pods', 3],
      ]),
      baseline: new Map([['LIST pods', 3]]),
      attributable: new Map([
        ['GET leases', 15],
        ['PUT leases', 15],
      ]),
      leaseRequests: 30,
    },
    recoveryWarnings: new Map([
      ['Pod ReadyButRefusing', 1],
      ['Service TargetsRefusing (repeat)', 1],
    ]),
  };

  it('prints a title, an aligned table with the aims, the requests, and one JSON object last', () => {
    const lines = reportLines(s, figures);
    expect(lines[0]).toBe('');
    expect(lines[1]).toBe('sockeye operator benchmark (interval 10s, timeout 1s, confirmations 2)');
    const table = lines.slice(2, -2);
    expect(table).toHaveLength(17);
    expect(new Set(table.map((l) => l.indexOf('  ') > 0 && l.search(/ {2}\S/)))).toHaveLength(1);
    const row = (label: string) => table.find((l) => l.startsWith(label))?.replace(/ {2,}/g, ' | ');
    expect(row('size')).toBe('size | 20 Services, 40 pods/endpoints, 2 namespaces, 4 nodes | ');
    expect(row('pods made')).toBe('pods made by the simulator | 12.3 pods/s (3 s) | ');
    expect(row('first full sweep')).toBe(
      'first full sweep: every Service judged | 9501 ms | aim < 10000 ms: met',
    );
    expect(row('first sweep: CPU')).toBe(
      'first sweep: CPU | n/a | start -> every Service judged (/proc): a machine near 100% busy bounds the sweep',
    );
    expect(row('first sweep: every annotation')).toBe(
      'first sweep: every annotation written | n/a | sockeye_annotation_writes_pending back to 0',
    );
    expect(row('first sweep: annotation patches')).toBe(
      'first sweep: annotation patches | 20 (API server: 20 Services, 0 pods) | aim <= 1 per Service, 0 per healthy pod: met',
    );
    expect(row('detection')).toBe(
      'detection p50 / p99 | 3000 / 4000 ms (3/4 seen) | aim p99 < 12000 ms: missed',
    );
    expect(row('RSS / heap at the end')).toBe('RSS / heap at the end | 210 / 70.3 MiB | ');
    // The aim takes the highest of the three readings: here the end's.
    expect(row('peak RSS')).toBe(
      'peak RSS (VmHWM, whole run) | 190 MiB (199.2 MB) | aim < 200 MB RSS: missed',
    );
    expect(row('recovery warnings')).toBe(
      'recovery warnings seen | 2 (Pod ReadyButRefusing: 1, Service TargetsRefusing (repeat): 1) | Warning Events observed after the backends listened again (each occurrence once)',
    );
    expect(row('steady: sockeye writes')).toBe('steady: sockeye writes per sweep | 0.0 | aim 0: met');
    expect(row('steady: API requests')).toBe(
      'steady: API requests per sweep | 10.0 (all: 11.0, baseline: 1.0) | apiserver_request_total, minus the no-operator baseline',
    );
    expect(lines.at(-2)).toBe(
      'steady API requests by verb/resource (with operator, per window): GET leases=15, PUT leases=15, LIST pods=3',
    );
    expect(JSON.parse(lines.at(-1) ?? '')).toEqual({
      services: 20,
      pods: 40,
      namespaces: 2,
      nodes: 4,
      intervalMs: 10_000,
      timeoutMs: 1000,
      podsPerSecond: 12.3,
      syncedMs: 812,
      judgedMs: 9501,
      firstSweepCpu: null,
      firstSweepMs: 9900,
      writesDrainedMs: null,
      firstSweepPatches: { written: 20, services: 20, pods: 0 },
      detection: { samples: 4, seen: 3, p50Ms: 3000, p99Ms: 4000, aimMs: 12_000 },
      memory: {
        afterSync: { rssBytes: 150 * MIB, heapUsedBytes: 60 * MIB },
        end: { rssBytes: 210 * MIB, heapUsedBytes: 70.25 * MIB },
        peakRssBytes: 190 * MIB,
      },
      steady: {
        sweeps: 3,
        probesPerSweep: 40,
        writesPerSweep: 0,
        apiRequestsPerSweep: 10,
        apiRequestsAllPerSweep: 11,
        baselinePerSweep: 1,
        leaseRequestsPerSweep: 10,
        byVerbResource: { 'GET leases': 15, 'PUT leases': 15 },
      },
    });
  });

  it('says what a kept cluster cannot measure, and meets the detection aim when every sample is seen', () => {
    const lines = reportLines(s, {
      ...figures,
      podsMade: undefined,
      latencies: [1000, 2000, 3000, 4000],
      steady: { ...figures.steady, withOperator: new Map() },
    });
    expect(lines.find((l) => l.startsWith('pods made'))).toContain('n/a (kept cluster)');
    expect(lines.find((l) => l.startsWith('first sweep: every Service annotated'))).toContain('9900 ms');
    expect(lines.find((l) => l.startsWith('detection'))).toContain('aim p99 < 12000 ms: met');
    expect(lines.at(-2)).toBe('steady API requests by verb/resource (with operator, per window): none');
    const json = JSON.parse(lines.at(-1) ?? '') as { podsPerSecond: unknown; firstSweepMs: unknown };
    expect([json.podsPerSecond, json.firstSweepMs]).toEqual([null, 9900]);
  });

  it("says the operator's CPU over the first sweep and how busy the machine was", () => {
    const cpu = { operatorSeconds: 9.25, machineBusy: 0.973, cores: 2 };
    const lines = reportLines(s, { ...figures, judgedMs: 12_500, sweepCpu: cpu });
    const row = lines.find((l) => l.startsWith('first sweep: CPU'))?.replace(/ {2,}/g, ' | ');
    expect(row).toBe(
      'first sweep: CPU | operator 9.3 s (74% of one core); machine 97% busy (2 cores) | start -> every Service judged (/proc): a machine near 100% busy bounds the sweep',
    );
    const json = JSON.parse(lines.at(-1) ?? '') as { firstSweepCpu: unknown };
    expect(json.firstSweepCpu).toEqual({ operatorSeconds: 9.25, machineBusy: 0.973, cores: 2 });
    expect(sweepCpuRow(undefined, 1000)).toBe('n/a');
    expect(sweepCpuRow({ ...cpu, machineBusy: undefined }, 1000)).toContain('machine n/a');
  });

  it('misses the patch aim when a pod is written in the first sweep', () => {
    // e.g. pods annotated by an older sockeye, which lose those annotations in the first sweep.
    const lines = reportLines(s, { ...figures, patches: { written: 60, services: 20, pods: 40 } });
    const row = lines.find((l) => l.startsWith('first sweep: annotation patches'))?.replace(/ {2,}/g, ' | ');
    expect(row).toBe(
      'first sweep: annotation patches | 60 (API server: 20 Services, 40 pods) | aim <= 1 per Service, 0 per healthy pod: missed',
    );
  });

  it.each([
    [190, 'met'],
    [191, 'missed'],
  ])('judges the RSS aim in MB, not MiB: %s MiB everywhere is %s', (mib, verdict) => {
    const m = { rssBytes: mib * MIB, heapUsedBytes: 60 * MIB };
    const lines = reportLines(s, { ...figures, memAfterSync: m, memEnd: m, peakRssBytes: mib * MIB });
    const row = lines.find((l) => l.startsWith('peak RSS'))?.replace(/ {2,}/g, ' | ');
    expect(row).toMatch(
      new RegExp(
        `^peak RSS \\(VmHWM, whole run\\) \\| ${mib} MiB \\(.*MB\\) \\| aim < 200 MB RSS: ${verdict}$`,
      ),
    );
  });
});

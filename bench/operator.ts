// npm run bench:operator — `sockeye operator` at scale on the local cluster.
//
// Makes --services Services (spread over --namespaces namespaces) with --pods-per-service pods each.
// Pods come from the local cluster's simulator: the bench creates plain Pod objects (bounded
// concurrency, one shared keep-alive connection); the simulator gives each a network namespace, an IP
// and a listener on 8080 (`sim.sockeye.dev/listen`), and kube-controller-manager's endpointslice
// controller makes the EndpointSlices. Then it starts one `sockeye operator` process (cluster-wide,
// leader election on, as the chart runs it) and measures:
//
//   first sweep   operator start -> every Service carries sockeye.dev/status (seen by a Service watch);
//                 the annotation patches it took (the operator's count, and the API server's PATCH
//                 requests on Services and on Pods: about one per Service, none on a healthy pod)
//   detection     a backend stops listening (its listen annotation removed) -> sockeye's Warning Event
//                 about its Service or pod seen by an Event watch; --samples samples, p50 / p99
//   memory        the operator's process_resident_memory_bytes and nodejs_heap_size_used_bytes after
//                 the first sweep, and again at the end
//   steady state  over --steady-sweeps intervals with nothing changing: the operator's own writes
//                 (sockeye_api_writes_total) and the API server's apiserver_request_total delta, minus
//                 the same window measured before the operator started (the simulator's and
//                 controller manager's own traffic)
//
// With --shards 1,2,4 it measures sharding instead: for each count N in turn, N operator processes
// (`--shards=N --shard=I`, one replica per shard, a Lease each, the hop checks off: this cluster has
// no data path) on the same workload, each run starting from Services without sockeye's annotations;
// per replica its RSS and heap (the lower of two samples: after the first sweep and at the end of the
// steady window), its CPU time for the first sweep and over the steady window; each count's largest
// replica against the one-shard run's, beside the aim 1/N (operator-shards.ts).
//
// Prints a table; the last line is one JSON object. Everything it starts it stops, also on failure.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { ensureBinaries } from '../cluster/binaries.ts';
import { freePort } from '../cluster/controlplane.ts';
import { killGroup, startDetached } from '../cluster/exec.ts';
import {
  downLocalCluster,
  type LocalClusterState,
  RangesInUseError,
  readState,
  upLocalCluster,
} from '../cluster/local.ts';
import { withCleanup } from '../cluster/with-cleanup.ts';
import { shareConnections } from '../src/kube/connections.ts';
import { getRaw } from '../src/kube/raw-requests.ts';
import { renderedChartProcess } from './chart-process.ts';
import { compiledSockeye } from './compiled-sockeye.ts';
import {
  type Figures,
  judgedServices,
  type Memory,
  memoryOf,
  reportLines,
  type Settings,
  type SteadyFigures,
  type SweepCpu,
  settingsFrom,
  sweepPatches,
} from './operator-report.ts';
import { costOf, type ReplicaFigures, type ShardRun, shardReportLines } from './operator-shards.ts';
import { mapBounded } from './pool.ts';
import { busyShare, type MachineCpu, machineCpu, statCpuSeconds, statusKiB } from './proc.ts';
import { difference, increase, requestCounts, sumValues, total } from './prometheus.ts';

const LISTEN = 'sim.sockeye.dev/listen';
const STATUS = 'sockeye.dev/status';
/** bin/sockeye.js of sockeye compiled as the image runs it (compiled-sockeye.ts), made once per run. */
let compiled: Promise<string> | undefined;

const note = (line: string) => process.stderr.write(`bench: ${line}\n`);
const ms1 = (ms: number) => Math.round(ms);

const namespaceOf = (s: Settings, i: number) => `bench-${i % s.namespaces}`;
const serviceName = (i: number) => `svc-${i}`;
const podName = (i: number, j: number) => `svc-${i}-${j}`;

/** Retries a call a few times (the API server may answer 429 or 5xx under this load). */
async function retrying<T>(what: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 409 || attempt >= 6) throw new Error(`${what}: ${String(err)}`, { cause: err });
      await sleep(200 * 2 ** attempt);
    }
  }
}

/** kube-apiserver's own /metrics (plain text through the raw GET the operator's lists use). */
const apiServerMetrics = (kc: KubeConfig) => getRaw(kc, '/metrics');

/** A long-running watch, re-established when the server ends it. */
function keepWatching(
  kc: KubeConfig,
  path: string,
  onObject: (phase: string, obj: unknown) => void,
): { stop: () => void } {
  let stopped = false;
  let current: AbortController | undefined;
  const start = async () => {
    while (!stopped) {
      const ended = new Promise<void>((resolve) => {
        void new Watch(kc)
          .watch(path, { allowWatchBookmarks: false }, onObject, () => resolve())
          .then(
            (c) => {
              current = c;
            },
            () => resolve(),
          );
      });
      await ended;
      if (!stopped) await sleep(500);
    }
  };
  void start();
  return {
    stop: () => {
      stopped = true;
      current?.abort();
    },
  };
}

interface Meta {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
}
interface EventObj {
  metadata?: { uid?: string };
  type?: string;
  reason?: string;
  eventTime?: string;
  series?: { count?: number; lastObservedTime?: string };
  reportingController?: string;
  regarding?: { kind?: string; name?: string; namespace?: string };
}

// ---- the phases, in the order main runs them ----

/** What teardown stops: filled in by the phases that start it. */
interface Started {
  readonly watches: { stop: () => void }[];
  operatorPid: number | undefined;
  /** The shard runs' processes. */
  readonly shardPids: number[];
}

/** Set-up: the working directory, and the state of a kept cluster from an earlier run. */
async function workDir(s: Settings): Promise<{ dir: string; existing: LocalClusterState | undefined }> {
  const kept = s.clusterDir;
  if (kept !== undefined) await mkdir(kept, { recursive: true });
  const dir = kept ?? (await mkdtemp(join(tmpdir(), 'sockeye-bench-op-')));
  return { dir, existing: kept === undefined ? undefined : await readState(kept) };
}

/** Teardown: the watches, the operator, and the cluster unless it is kept. Also on failure. */
async function teardown(started: Started, s: Settings, dir: string): Promise<void> {
  for (const w of started.watches) w.stop();
  if (started.operatorPid !== undefined) await killGroup(started.operatorPid, 20_000).catch(() => undefined);
  started.operatorPid = undefined;
  for (const pid of started.shardPids.splice(0)) await killGroup(pid, 20_000).catch(() => undefined);
  if (s.clusterDir !== undefined) {
    note(`cluster kept in ${s.clusterDir} (npm run cluster -- down --dir ${s.clusterDir})`);
    return;
  }
  await downLocalCluster(dir, note).catch((err: unknown) => note(`down failed: ${String(err)}`));
  await rm(dir, { recursive: true, force: true });
}

interface Cluster {
  readonly kubeconfig: string;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
}

/** The cluster: the kept one, or a new one. */
async function openCluster(
  s: Settings,
  dir: string,
  existing: LocalClusterState | undefined,
): Promise<Cluster> {
  // No kube-proxy or load balancer: their syncs of 20,000 endpoints would be timed with sockeye.
  const state = existing ?? (await upWhenRangeFree(s, dir));
  const kc = shareConnections(new KubeConfig());
  kc.loadFromFile(state.kubeconfig);
  return { kubeconfig: state.kubeconfig, kc, core: kc.makeApiClient(CoreV1Api) };
}

/**
 * A new cluster, once one of its pod ranges is free: the tests' clusters hold ranges while they run
 * (a /17 overlaps several of theirs), so the bench waits for them, up to 20 minutes, saying so.
 */
async function upWhenRangeFree(s: Settings, dir: string): Promise<LocalClusterState> {
  const deadline = performance.now() + 20 * 60_000;
  for (;;) {
    try {
      return await upLocalCluster({ dir, cidr: s.podRanges, nodes: s.nodes, dataPath: false, log: note });
    } catch (err) {
      if (!(err instanceof RangesInUseError) || performance.now() > deadline) throw err;
      note(`${err.message}; trying again in 15 s`);
      await sleep(15_000);
    }
  }
}

/**
 * The workload: namespaces, Services, and pods the simulator runs listening on 8080. Returns when
 * the pods were started on (after the Services), for the simulator's pace.
 */
async function createWorkload(core: CoreV1Api, s: Settings): Promise<number> {
  note(
    `creating ${s.namespaces} namespaces, ${s.services} Services, ${s.pods} pods (${s.createConcurrency} at a time)`,
  );
  for (let n = 0; n < s.namespaces; n++)
    await core.createNamespace({ body: { metadata: { name: `bench-${n}` } } });
  const serviceIndexes = Array.from({ length: s.services }, (_, i) => i);
  await mapBounded(serviceIndexes, s.createConcurrency, (i) =>
    retrying(`create Service ${serviceName(i)}`, () =>
      core.createNamespacedService({
        namespace: namespaceOf(s, i),
        body: {
          metadata: { name: serviceName(i) },
          spec: {
            selector: { app: serviceName(i) },
            ports: [{ name: 'http', port: 80, targetPort: 'http' }],
          },
        },
      }),
    ).then(() => undefined),
  );
  const podsStart = performance.now();
  const podKeys = serviceIndexes.flatMap((i) =>
    Array.from({ length: s.podsPerService }, (_, j) => [i, j] as const),
  );
  await mapBounded(podKeys, s.createConcurrency, ([i, j]) =>
    retrying(`create Pod ${podName(i, j)}`, () =>
      core.createNamespacedPod({
        namespace: namespaceOf(s, i),
        body: {
          metadata: {
            name: podName(i, j),
            labels: { app: serviceName(i) },
            annotations: { [LISTEN]: '8080' },
          },
          spec: {
            containers: [{ name: 'app', image: 'bench/web', ports: [{ name: 'http', containerPort: 8080 }] }],
          },
        },
      }),
    ).then(() => undefined),
  );
  const createdMs = performance.now() - podsStart;
  note(`created ${s.pods} pod objects in ${ms1(createdMs / 1000)} s; waiting for the simulator to run them`);
  return podsStart;
}

/** The bench's ready endpoints over every EndpointSlice. */
async function readyEndpoints(kc: KubeConfig): Promise<number> {
  type Slices = {
    items: {
      metadata: { namespace: string };
      endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
    }[];
  };
  const { items } = JSON.parse(await getRaw(kc, '/apis/discovery.k8s.io/v1/endpointslices')) as Slices;
  let ready = 0;
  for (const slice of items) {
    if (!slice.metadata.namespace.startsWith('bench-')) continue;
    ready += (slice.endpoints ?? []).filter(
      (e) => e.conditions?.ready !== false && e.addresses.length > 0,
    ).length;
  }
  return ready;
}

/** Waits for every pod to run and every endpoint to be ready; the time since `since`, and the pace. */
async function waitForEndpoints(
  kc: KubeConfig,
  s: Settings,
  since: number,
  dir: string,
): Promise<{ perSecond: number; ms: number }> {
  let lastReady = -1;
  let lastProgress = performance.now();
  for (;;) {
    const ready = await readyEndpoints(kc);
    if (ready >= s.pods) break;
    if (ready !== lastReady) {
      lastReady = ready;
      lastProgress = performance.now();
      note(`${ready}/${s.pods} endpoints ready (${ms1((performance.now() - since) / 1000)} s)`);
    } else if (performance.now() - lastProgress > 180_000) {
      throw new Error(
        `no progress for 3 minutes at ${ready}/${s.pods} ready endpoints; see ${dir}/simulator.log`,
      );
    }
    await sleep(5000);
  }
  const ms = performance.now() - since;
  const perSecond = s.pods / (ms / 1000);
  note(`all ${s.pods} endpoints ready after ${ms1(ms / 1000)} s (${perSecond.toFixed(1)} pods/s)`);
  return { perSecond, ms };
}

/** The cluster's own API traffic without sockeye over one steady window, by `VERB resource`. */
async function measureBaseline(kc: KubeConfig, s: Settings): Promise<Map<string, number>> {
  note(`baseline: API requests without the operator over ${s.windowMs / 1000} s`);
  const before = requestCounts(await apiServerMetrics(kc));
  await sleep(s.windowMs);
  return increase(requestCounts(await apiServerMetrics(kc)), before);
}

/** What the watches have seen so far: their callbacks update it while the later phases run. */
interface Sightings {
  /** Services (`namespace/name`) carrying sockeye.dev/status. */
  readonly annotated: Set<string>;
  /** When the last of the Services got its status. */
  firstSweepAt: number | undefined;
  /** Service key -> when its backend was told to stop listening (set by the detection phase). */
  readonly stoppedAt: Map<string, number>;
  /** Service key -> how long after that sockeye's Warning Event about it arrived. */
  readonly detected: Map<string, number>;
  /**
   * sockeye's Warning occurrences seen, about anything: an Event's uid and series count, so that a
   * watch that lists again after a reconnect (ADDED for every Event it already sent) counts none twice.
   */
  readonly warnings: Set<string>;
  /** Wall-clock ms when the recovery phase began; Warnings observed after it are counted by kind. */
  recoveryFrom: number | undefined;
  /** Warnings observed after `recoveryFrom`, by `kind reason` (and `(repeat)` for a series update). */
  readonly afterRecovery: Map<string, number>;
}

/** Watches Service annotations (the first sweep) and sockeye's Warning Events (detection). */
function watchSockeye(kc: KubeConfig, s: Settings): { seen: Sightings; watches: { stop: () => void }[] } {
  const seen: Sightings = {
    annotated: new Set(),
    firstSweepAt: undefined,
    stoppedAt: new Map(),
    detected: new Map(),
    warnings: new Set(),
    recoveryFrom: undefined,
    afterRecovery: new Map(),
  };
  const services = keepWatching(kc, '/api/v1/services', (_phase, obj) => {
    const m = (obj as Meta).metadata;
    if (!m?.namespace?.startsWith('bench-') || m.annotations?.[STATUS] === undefined) return;
    seen.annotated.add(`${m.namespace}/${m.name}`);
    if (seen.annotated.size >= s.services && seen.firstSweepAt === undefined)
      seen.firstSweepAt = performance.now();
  });
  const events = keepWatching(kc, '/apis/events.k8s.io/v1/events', (phase, obj) => {
    const e = obj as EventObj;
    if (phase === 'DELETED' || e.reportingController !== 'sockeye.dev/operator' || e.type !== 'Warning')
      return;
    const occurrence = `${e.metadata?.uid}|${e.series?.count ?? 1}`;
    if (seen.warnings.has(occurrence)) return;
    seen.warnings.add(occurrence);
    const r = e.regarding;
    const observed = Date.parse(e.series?.lastObservedTime ?? e.eventTime ?? '');
    if (seen.recoveryFrom !== undefined && observed >= seen.recoveryFrom) {
      const kind = `${r?.kind ?? '?'} ${e.reason ?? '?'}${e.series ? ' (repeat)' : ''}`;
      seen.afterRecovery.set(kind, (seen.afterRecovery.get(kind) ?? 0) + 1);
    }
    if (!r?.name || !r.namespace) return;
    // A pod's Event counts for its Service: svc-I-J belongs to svc-I.
    const service = r.kind === 'Pod' ? r.name.replace(/-\d+$/, '') : r.name;
    const key = `${r.namespace}/${service}`;
    const since = seen.stoppedAt.get(key);
    if (since !== undefined && !seen.detected.has(key)) seen.detected.set(key, performance.now() - since);
  });
  return { seen, watches: [services, events] };
}

interface Operator {
  readonly pid: number;
  readonly startedAt: number;
  /** The machine's CPU time then (/proc/stat), for its busy share during the first sweep. */
  readonly machineAtStart: MachineCpu;
  /** Its health port: /readyz, and /metrics in plain text. */
  readonly port: number;
}

const operatorMetrics = async (op: Operator) => (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();

/**
 * Operator start: one `sockeye operator` process, cluster-wide, leader election on, with the args and
 * environment the chart's defaults give it (chart-process.ts: `helm template`, NODE_OPTIONS and
 * MALLOC_ARENA_MAX included), the bench's interval and timeout set as chart values. Only where it
 * listens differs: loopback, a free port, /metrics in plain HTTP there (as read here; secure serving:
 * test/operator/secure-metrics.test.ts). The kubeconfig replaces the in-cluster ServiceAccount.
 */
async function startOperator(
  cluster: Cluster,
  s: Settings,
  dir: string,
  shard?: { readonly index: number; readonly count: number },
): Promise<Operator> {
  const port = await freePort();
  const suffix = shard === undefined ? '' : `-${shard.count}-${shard.index}`;
  const name = `operator${suffix}`;
  const chart = await renderedChartProcess(
    'default',
    [
      `operator.interval=${s.intervalS}s`,
      `operator.timeout=${s.timeoutS}s`,
      // The bench's cluster runs no kube-proxy (its sync of 20,000 endpoints would be timed with
      // sockeye): no ClusterIP forwards, and the check would call every Service ServiceIPNotForwarding.
      'operator.checkClusterIP=false',
    ],
    { 'metadata.name': `sockeye-bench${suffix}`, 'metadata.namespace': 'default' },
  );
  // The sharding runs compare what a shard holds and probes: the bench cluster has no data path (no
  // kube-proxy), where every hop probe could only wait out its timeout and bound the sweep.
  const sharding =
    shard === undefined
      ? []
      : [
          `--shards=${shard.count}`,
          `--shard=${shard.index}`,
          `--lease-name=sockeye-bench-${shard.count}`,
          '--no-check-node-ports',
          '--no-check-load-balancers',
        ];
  const { SOCKEYE_METRICS_PORT: _separatePort, ...chartEnv } = chart.env;
  note(
    `starting sockeye ${chart.args.join(' ')} (interval ${s.intervalS}s, timeout ${s.timeoutS}s; NODE_OPTIONS=${chartEnv.NODE_OPTIONS ?? ''} MALLOC_ARENA_MAX=${chartEnv.MALLOC_ARENA_MAX ?? ''}; log ${dir}/${name}.log)`,
  );
  compiled ??= compiledSockeye(join(dir, 'sockeye-js'));
  const sockeye = await compiled;
  const startedAt = performance.now();
  const machineAtStart = await machineNow();
  const pid = await startDetached(
    process.execPath,
    [
      // e.g. SOCKEYE_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the operator.
      ...(process.env.SOCKEYE_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      sockeye,
      ...chart.args,
      ...sharding,
    ],
    join(dir, `${name}.log`),
    {
      PATH: process.env.PATH ?? '',
      ...chartEnv,
      SOCKEYE_HTTP_HOST: '127.0.0.1',
      SOCKEYE_HTTP_PORT: String(port),
      SOCKEYE_METRICS_SECURE: 'false',
      KUBECONFIG: cluster.kubeconfig,
      SOCKEYE_LOG_LEVEL: 'warn',
      // e.g. SOCKEYE_BENCH_ENV="MALLOC_TRIM_THRESHOLD_=131072" to try an environment the chart does not set.
      ...Object.fromEntries(
        (process.env.SOCKEYE_BENCH_ENV?.split(' ').filter(Boolean) ?? []).map((kv) => {
          const at = kv.indexOf('=');
          if (at <= 0) throw new Error(`SOCKEYE_BENCH_ENV: "${kv}" is not NAME=VALUE`);
          return [kv.slice(0, at), kv.slice(at + 1)];
        }),
      ),
    },
  );
  return { pid, startedAt, port, machineAtStart };
}

type FirstSweep = Pick<
  Figures,
  'syncedMs' | 'judgedMs' | 'firstSweepMs' | 'drainedMs' | 'patches' | 'memAfterSync' | 'sweepCpu'
>;

/** The machine's CPU time now (/proc/stat; zeros where unreadable). */
const machineNow = async (): Promise<MachineCpu> =>
  machineCpu(await readFile('/proc/stat', 'utf8').catch(() => ''));

/**
 * From operator start until now: the operator's CPU time (/proc/PID/stat: every thread of it) and
 * the share of the machine's cores that was busy. On a machine that also runs the cluster, a sweep
 * that is slow with the machine saturated says little about the operator alone.
 */
async function sweepCpuOf(op: Operator): Promise<SweepCpu | undefined> {
  const [stat, machine] = await Promise.all([
    readFile(`/proc/${op.pid}/stat`, 'utf8').catch(() => ''),
    machineNow(),
  ]);
  if (stat === '') return undefined;
  return {
    operatorSeconds: statCpuSeconds(stat),
    machineBusy: busyShare(op.machineAtStart, machine),
    cores: availableParallelism(),
  };
}

/**
 * First sweep: caches synced, every Service judged and annotated, then every annotation written
 * (detection and the steady window are measured once they are done); the patches that took, counted
 * against the API server's requests at operator start (`apiAtStart`); the memory after it.
 */
async function firstSweep(
  kc: KubeConfig,
  op: Operator,
  seen: Sightings,
  s: Settings,
  apiAtStart: ReadonlyMap<string, number>,
): Promise<FirstSweep> {
  let syncedMs: number | undefined;
  /** Every Service judged: probed and evaluated (its sockeye_service_targets series exist). */
  let judgedAt: number | undefined;
  let sweepCpu: SweepCpu | undefined;
  let lastPoll = 0;
  const sweepDeadline = performance.now() + 600_000;
  while (judgedAt === undefined || seen.firstSweepAt === undefined) {
    if (performance.now() > sweepDeadline)
      throw new Error(
        `first sweep not done after 10 minutes (${seen.annotated.size}/${s.services} annotated)`,
      );
    if (syncedMs === undefined) {
      const ok = await fetch(`http://127.0.0.1:${op.port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) syncedMs = performance.now() - op.startedAt;
    }
    if (judgedAt === undefined && syncedMs !== undefined && performance.now() - lastPoll > 500) {
      lastPoll = performance.now();
      if (judgedServices(await operatorMetrics(op)).size >= s.services) {
        judgedAt = performance.now();
        sweepCpu = await sweepCpuOf(op);
      }
    }
    await sleep(100);
  }
  const judgedMs = judgedAt - op.startedAt;
  const firstSweepMs = seen.firstSweepAt - op.startedAt;
  note(
    `first sweep: every Service judged ${ms1(judgedMs)} ms after start, annotated ${ms1(firstSweepMs)} ms`,
  );
  const drainedAt = await writesDrained(op);
  const drainedMs = drainedAt === undefined ? undefined : drainedAt - op.startedAt;
  note(
    `first sweep: every annotation written ${drainedMs === undefined ? 'n/a' : `${ms1(drainedMs)} ms`} after start`,
  );
  const patches = sweepPatches(
    await operatorMetrics(op),
    increase(requestCounts(await apiServerMetrics(kc)), apiAtStart),
  );
  note(
    `first sweep: ${patches.written} annotation patches (API server: ${patches.services} on Services, ${patches.pods} on pods)`,
  );
  await sleep(2000);
  const memAfterSync = memoryOf(await operatorMetrics(op));
  return { syncedMs, judgedMs, firstSweepMs, drainedMs, patches, memAfterSync, sweepCpu };
}

/**
 * When the operator had no annotation writes pending: pod patches (only pods a Warning is about, or
 * the removal of what an older sockeye wrote) are written after the Services'. Undefined after 15
 * minutes.
 */
async function writesDrained(op: Operator): Promise<number | undefined> {
  const deadline = performance.now() + 900_000;
  for (;;) {
    const pendingWrites = total(await operatorMetrics(op), 'sockeye_annotation_writes_pending');
    if (pendingWrites === 0) return performance.now();
    if (performance.now() > deadline) {
      note(`annotation writes still pending after 15 minutes: ${pendingWrites}`);
      return undefined;
    }
    await sleep(1000);
  }
}

/** A process's peak RSS so far (VmHWM in /proc/PID/status), in bytes; undefined if unreadable. */
async function peakRssOf(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kib = statusKiB(status, 'VmHWM');
  return Number.isNaN(kib) ? undefined : kib * 1024;
}

/** Sets (a port) or removes (null) the listen annotation of Service `i`'s first pod. */
const patchListen = (core: CoreV1Api, s: Settings, i: number, value: string | null) =>
  retrying(`patch ${podName(i, 0)}`, () =>
    core.patchNamespacedPod(
      {
        name: podName(i, 0),
        namespace: namespaceOf(s, i),
        body: { metadata: { annotations: { [LISTEN]: value } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ),
  );

/**
 * Detection: --samples backends, spread over the Services, stop listening, staggered over one
 * interval; waits for sockeye's Events about them. Returns the Services chosen and the latencies seen.
 */
async function detection(
  core: CoreV1Api,
  s: Settings,
  seen: Sightings,
): Promise<{ chosen: number[]; latencies: number[] }> {
  note(`detection: ${s.samples} backends stop listening, staggered over one interval`);
  const step = Math.max(1, Math.floor(s.services / s.samples));
  const chosen = Array.from({ length: s.samples }, (_, k) => k * step);
  await Promise.all(
    chosen.map(async (i, k) => {
      await sleep((k * s.intervalS * 1000) / s.samples + Math.random() * 200);
      seen.stoppedAt.set(`${namespaceOf(s, i)}/${serviceName(i)}`, performance.now());
      await patchListen(core, s, i, null);
    }),
  );
  const deadline = performance.now() + 3 * (s.intervalS + s.timeoutS) * 1000 + 30_000;
  while (seen.detected.size < s.samples && performance.now() < deadline) await sleep(200);
  note(`detected ${seen.detected.size}/${s.samples}`);
  return { chosen, latencies: [...seen.detected.values()] };
}

/** How many of the bench's Services sockeye has marked Healthy. */
async function healthyServices(core: CoreV1Api, s: Settings): Promise<number> {
  let n = 0;
  for (let ns = 0; ns < s.namespaces; ns++) {
    let cont: string | undefined;
    do {
      const page = await core.listNamespacedService({
        namespace: `bench-${ns}`,
        limit: 500,
        ...(cont ? { _continue: cont } : {}),
      });
      n += page.items.filter((svc) => svc.metadata?.annotations?.[STATUS] === 'Healthy').length;
      cont = page.metadata?._continue || undefined;
    } while (cont);
  }
  return n;
}

/** Back to steady: the chosen backends listen again; waits for every Service Healthy, and one interval more. */
async function recovery(core: CoreV1Api, s: Settings, chosen: readonly number[]): Promise<void> {
  await Promise.all(chosen.map((i) => patchListen(core, s, i, '8080')));
  const deadline = performance.now() + 120_000;
  while ((await healthyServices(core, s)) < s.services) {
    if (performance.now() > deadline) throw new Error('Services not all Healthy again within 2 minutes');
    await sleep(2000);
  }
  // One more interval so that the recovered Services' follow-up reconciles are done.
  await sleep((s.intervalS + s.timeoutS) * 1000);
}

/** Steady window: --steady-sweeps intervals with nothing changing; the operator's and the API's counts. */
async function steadyWindow(
  kc: KubeConfig,
  op: Operator,
  s: Settings,
  baseline: ReadonlyMap<string, number>,
): Promise<{ steady: SteadyFigures; memEnd: Memory }> {
  note(`steady state: ${s.steadySweeps} sweeps (${s.windowMs / 1000} s) with nothing changing`);
  const [opBefore, apiBefore] = [await operatorMetrics(op), requestCounts(await apiServerMetrics(kc))];
  await sleep(s.windowMs);
  const [opAfter, apiAfter] = [await operatorMetrics(op), requestCounts(await apiServerMetrics(kc))];
  const growth = (name: string) => total(opAfter, name) - total(opBefore, name);
  const withOperator = increase(apiAfter, apiBefore);
  const leases = new Map([...withOperator].filter(([k]) => k.endsWith(' leases')));
  return {
    steady: {
      probes: growth('sockeye_probes_total'),
      writes: growth('sockeye_api_writes_total'),
      withOperator,
      baseline,
      attributable: difference(withOperator, baseline),
      leaseRequests: sumValues(leases),
    },
    memEnd: memoryOf(opAfter),
  };
}

/**
 * Removes sockeye's annotations from every bench Service, so that each sharding run starts from the
 * same state and writes the same patches (one per Service) as the one before it.
 */
async function clearServiceAnnotations(core: CoreV1Api, s: Settings): Promise<void> {
  const cleared = Object.fromEntries(['status', 'summary', 'since'].map((k) => [`sockeye.dev/${k}`, null]));
  await mapBounded(
    Array.from({ length: s.services }, (_, i) => i),
    s.createConcurrency,
    (i) =>
      retrying(`clear ${serviceName(i)}`, () =>
        core.patchNamespacedService(
          {
            name: serviceName(i),
            namespace: namespaceOf(s, i),
            body: { metadata: { annotations: cleared } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      ).then(() => undefined),
  );
}

/**
 * One sharding run: N shards of one replica each, started together; waits until every Service is
 * judged (by some shard) and every annotation written, then reads each replica's cost, and its CPU
 * over the steady window; stops them.
 */
async function shardRun(
  cluster: Cluster,
  s: Settings,
  dir: string,
  count: number,
  started: Started,
): Promise<ShardRun> {
  await clearServiceAnnotations(cluster.core, s);
  const ops = await Promise.all(
    Array.from({ length: count }, (_, index) => startOperator(cluster, s, dir, { index, count })),
  );
  started.shardPids.push(...ops.map((op) => op.pid));
  const startedAt = Math.min(...ops.map((op) => op.startedAt));
  const deadline = performance.now() + 900_000;
  let judgedAt: number | undefined;
  while (judgedAt === undefined) {
    if (performance.now() > deadline)
      throw new Error(`${count} shards: not every Service judged in 15 minutes`);
    const judged = new Set<string>();
    for (const op of ops)
      for (const key of judgedServices(await operatorMetrics(op).catch(() => ''))) judged.add(key);
    if (judged.size >= s.services) judgedAt = performance.now();
    else await sleep(500);
  }
  for (const op of ops) await writesDrained(op);
  await sleep(2000);
  const afterSweep = await Promise.all(ops.map(async (op) => operatorMetrics(op)));
  note(`${count} shards: steady window of ${s.windowMs / 1000} s`);
  await sleep(s.windowMs);
  const afterSteady = await Promise.all(ops.map(async (op) => operatorMetrics(op)));
  const replicas: ReplicaFigures[] = ops.map((_, shard) => {
    const sweep = costOf(afterSweep[shard] ?? '');
    const end = costOf(afterSteady[shard] ?? '');
    return {
      shard,
      // The lower of the two samples: right after the sweep the heap still holds its garbage.
      rssBytes: Math.min(sweep.rssBytes, end.rssBytes),
      heapUsedBytes: Math.min(sweep.heapUsedBytes, end.heapUsedBytes),
      cpuSweepS: sweep.cpuS,
      cpuSteadyS: end.cpuS - sweep.cpuS,
      services: judgedServices(afterSweep[shard] ?? '').size,
    };
  });
  for (const op of ops) await killGroup(op.pid, 20_000).catch(() => undefined);
  started.shardPids.length = 0;
  const judgedMs = judgedAt - startedAt;
  note(
    `${count} shards: every Service judged after ${Math.round(judgedMs)} ms; Services per shard ${replicas.map((r) => r.services).join(', ')}`,
  );
  return { shards: count, judgedMs, replicas };
}

async function main(): Promise<void> {
  const s = settingsFrom(process.argv.slice(2));
  // helm renders the operator's process (chart-process.ts) only after the workload is made: built
  // first, so that a cold cache cannot fail the bench after minutes of setup.
  await ensureBinaries(['helm'], note);
  const { dir, existing } = await workDir(s);
  const keptCluster = existing !== undefined;
  const started: Started = { watches: [], operatorPid: undefined, shardPids: [] };
  await withCleanup(
    () => teardown(started, s, dir),
    async () => {
      try {
        const cluster = await openCluster(s, dir, existing);
        // A kept cluster has the objects (it must have been made with the same sizes).
        const podsStart = keptCluster ? performance.now() : await createWorkload(cluster.core, s);
        const podsMade = await waitForEndpoints(cluster.kc, s, podsStart, dir);
        if (s.shards !== undefined) {
          const runs: ShardRun[] = [];
          for (const count of s.shards) runs.push(await shardRun(cluster, s, dir, count, started));
          const load = (await readFile('/proc/loadavg', 'utf8').catch(() => ''))
            .split(' ')
            .slice(0, 3)
            .join(' ');
          const size = {
            services: s.services,
            pods: s.pods,
            intervalS: s.intervalS,
            steadyS: s.windowMs / 1000,
          };
          process.stdout.write(`${shardReportLines(size, runs, load).join('\n')}\n`);
          return;
        }
        // A kept cluster's Services carry the last run's annotations: cleared, the operator's first
        // sweep writes what it writes on a fresh cluster, and the watch sees it annotate every one.
        if (keptCluster) await clearServiceAnnotations(cluster.core, s);
        const baseline = await measureBaseline(cluster.kc, s);
        const { seen, watches } = watchSockeye(cluster.kc, s);
        started.watches.push(...watches);
        await sleep(2000);
        const apiAtStart = requestCounts(await apiServerMetrics(cluster.kc));
        const op = await startOperator(cluster, s, dir);
        started.operatorPid = op.pid;
        const sweep = await firstSweep(cluster.kc, op, seen, s, apiAtStart);
        const { chosen, latencies } = await detection(cluster.core, s, seen);
        seen.recoveryFrom = Date.now();
        await recovery(cluster.core, s, chosen);
        const { steady, memEnd } = await steadyWindow(cluster.kc, op, s, baseline);
        const peakRssBytes = await peakRssOf(op.pid);
        const lines = reportLines(s, {
          ...sweep,
          podsMade: keptCluster ? undefined : podsMade,
          latencies,
          memEnd,
          peakRssBytes,
          steady,
          recoveryWarnings: seen.afterRecovery,
        });
        process.stdout.write(`${lines.join('\n')}\n`);
      } catch (err) {
        const log = await readFile(join(dir, 'operator.log'), 'utf8').catch(() => '');
        if (log !== '')
          note(`operator log (last lines):\n${log.trimEnd().split('\n').slice(-20).join('\n')}`);
        throw err;
      }
    },
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

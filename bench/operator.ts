// npm run bench:operator — `sockeye operator` at scale on the local cluster.
//
// Makes --services Services (spread over --namespaces namespaces) with --pods-per-service pods each.
// Pods come from the local cluster's simulator: the bench creates plain Pod objects (bounded
// concurrency, one shared keep-alive connection); the simulator gives each a network namespace, an IP
// and a listener on 8080 (`sim.sockeye.dev/listen`), and kube-controller-manager's endpointslice
// controller makes the EndpointSlices. Then it starts one `sockeye operator` process (cluster-wide,
// leader election on, as the chart runs it) and measures:
//
//   first sweep   operator start -> every Service carries sockeye.dev/status (seen by a Service watch)
//   detection     a backend stops listening (its listen annotation removed) -> sockeye's Warning Event
//                 about its Service or pod seen by an Event watch; --samples samples, p50 / p99
//   memory        the operator's process_resident_memory_bytes and nodejs_heap_size_used_bytes after
//                 the first sweep, and again at the end
//   steady state  over --steady-sweeps intervals with nothing changing: the operator's own writes
//                 (sockeye_api_writes_total) and the API server's apiserver_request_total delta, minus
//                 the same window measured before the operator started (the simulator's and
//                 controller manager's own traffic)
//
// Prints a table; the last line is one JSON object. Everything it starts it stops, also on failure.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { nodeAddresses, parseCidr, splitCidr } from '../cluster/addresses.ts';
import { freePort } from '../cluster/controlplane.ts';
import { killGroup, startDetached } from '../cluster/exec.ts';
import { downLocalCluster, readState, TEST_RANGES, upLocalCluster } from '../cluster/local.ts';
import { withCleanup } from '../cluster/with-cleanup.ts';
import { shareConnections } from '../src/kube/connections.ts';
import { getRaw } from '../src/kube/raw-list.ts';
import { mapBounded } from './pool.ts';
import { difference, increase, requestCounts, samples, sumValues, total } from './prometheus.ts';
import { MIB, percentile, roundTo } from './stats.ts';

const { values: flags } = parseArgs({
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
  },
});
const num = (name: keyof typeof flags) => {
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const SERVICES = num('services');
const PODS_PER_SERVICE = num('pods-per-service');
const NAMESPACES = Math.min(num('namespaces'), SERVICES);
const NODES = num('nodes');
const INTERVAL_S = num('interval');
const TIMEOUT_S = num('timeout');
const SAMPLES = Math.min(num('samples'), SERVICES);
const STEADY_SWEEPS = num('steady-sweeps');
const CREATE_CONCURRENCY = num('create-concurrency');
const PODS = SERVICES * PODS_PER_SERVICE;

/** How many pods the simulator can address in `cidr` over NODES nodes. */
const podsFit = (cidr: string) =>
  splitCidr(parseCidr(cidr), NODES).reduce(
    (n, r) => n + nodeAddresses(r).lastPod - nodeAddresses(r).firstPod + 1,
    0,
  );
// A /18 test range holds 16,368 pods on 4 nodes: a larger run takes a /17 made of two adjacent test
// ranges (a cluster holding either half makes it unavailable: its routes lie inside).
const WIDE_RANGES = ['198.18.128.0/17', '198.19.0.0/17'] as const;
const POD_RANGES: readonly string[] =
  [TEST_RANGES, WIDE_RANGES].find((ranges) => podsFit(ranges[0]) >= PODS) ??
  (() => {
    throw new Error(`${PODS} pods (--services x --pods-per-service) do not fit a /17 on ${NODES} --nodes`);
  })();
const LISTEN = 'sim.sockeye.dev/listen';
const sockeye = fileURLToPath(new URL('../bin/sockeye.js', import.meta.url));

const note = (line: string) => process.stderr.write(`bench: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => roundTo(bytes / MIB, 1);
const ms1 = (ms: number) => Math.round(ms);

const namespaceOf = (i: number) => `bench-${i % NAMESPACES}`;
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
  type?: string;
  reportingController?: string;
  regarding?: { kind?: string; name?: string; namespace?: string };
}

async function main(): Promise<void> {
  const kept = flags['cluster-dir'];
  if (kept !== undefined) await mkdir(kept, { recursive: true });
  const dir = kept ?? (await mkdtemp(join(tmpdir(), 'sockeye-bench-op-')));
  const existing = kept === undefined ? undefined : await readState(kept);
  let operatorPid: number | undefined;
  const watches: { stop: () => void }[] = [];
  const cleanup = async () => {
    for (const w of watches) w.stop();
    if (operatorPid !== undefined) await killGroup(operatorPid, 20_000).catch(() => undefined);
    operatorPid = undefined;
    if (kept !== undefined) {
      note(`cluster kept in ${kept} (npm run cluster -- down --dir ${kept})`);
      return;
    }
    await downLocalCluster(dir, note).catch((err: unknown) => note(`down failed: ${String(err)}`));
    await rm(dir, { recursive: true, force: true });
  };
  await withCleanup(cleanup, async () => {
    try {
      const state = existing ?? (await upLocalCluster({ dir, cidr: POD_RANGES, nodes: NODES, log: note }));
      const kc = shareConnections(new KubeConfig());
      kc.loadFromFile(state.kubeconfig);
      const core = kc.makeApiClient(CoreV1Api);

      // ---- the objects (a kept cluster has them; it must have been made with the same sizes) ----
      let createStart = performance.now();
      if (existing === undefined) {
        note(
          `creating ${NAMESPACES} namespaces, ${SERVICES} Services, ${PODS} pods (${CREATE_CONCURRENCY} at a time)`,
        );
        for (let n = 0; n < NAMESPACES; n++)
          await core.createNamespace({ body: { metadata: { name: `bench-${n}` } } });
        const serviceIndexes = Array.from({ length: SERVICES }, (_, i) => i);
        await mapBounded(serviceIndexes, CREATE_CONCURRENCY, (i) =>
          retrying(`create Service ${serviceName(i)}`, () =>
            core.createNamespacedService({
              namespace: namespaceOf(i),
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
        createStart = performance.now();
        const podKeys = serviceIndexes.flatMap((i) =>
          Array.from({ length: PODS_PER_SERVICE }, (_, j) => [i, j] as const),
        );
        await mapBounded(podKeys, CREATE_CONCURRENCY, ([i, j]) =>
          retrying(`create Pod ${podName(i, j)}`, () =>
            core.createNamespacedPod({
              namespace: namespaceOf(i),
              body: {
                metadata: {
                  name: podName(i, j),
                  labels: { app: serviceName(i) },
                  annotations: { [LISTEN]: '8080' },
                },
                spec: {
                  containers: [
                    { name: 'app', image: 'bench/web', ports: [{ name: 'http', containerPort: 8080 }] },
                  ],
                },
              },
            }),
          ).then(() => undefined),
        );
        const createdMs = performance.now() - createStart;
        note(
          `created ${PODS} pod objects in ${ms1(createdMs / 1000)} s; waiting for the simulator to run them`,
        );
      }

      // ---- wait for every pod to run and every endpoint to be ready ----
      const readyEndpoints = async () => {
        type Slices = {
          items: {
            metadata: { namespace: string };
            endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
          }[];
        };
        const { items } = JSON.parse(await getRaw(kc, '/apis/discovery.k8s.io/v1/endpointslices')) as Slices;
        let ready = 0;
        for (const s of items) {
          if (!s.metadata.namespace.startsWith('bench-')) continue;
          ready += (s.endpoints ?? []).filter(
            (e) => e.conditions?.ready !== false && e.addresses.length > 0,
          ).length;
        }
        return ready;
      };
      let lastReady = -1;
      let lastProgress = performance.now();
      for (;;) {
        const ready = await readyEndpoints();
        if (ready >= PODS) break;
        if (ready !== lastReady) {
          lastReady = ready;
          lastProgress = performance.now();
          note(`${ready}/${PODS} endpoints ready (${ms1((performance.now() - createStart) / 1000)} s)`);
        } else if (performance.now() - lastProgress > 180_000) {
          throw new Error(
            `no progress for 3 minutes at ${ready}/${PODS} ready endpoints; see ${dir}/simulator.log`,
          );
        }
        await sleep(5000);
      }
      const runningMs = performance.now() - createStart;
      const podsPerSecond = PODS / (runningMs / 1000);
      note(
        `all ${PODS} endpoints ready after ${ms1(runningMs / 1000)} s (${podsPerSecond.toFixed(1)} pods/s)`,
      );

      // ---- baseline: the cluster's own API traffic without sockeye, over the steady window ----
      const windowMs = STEADY_SWEEPS * INTERVAL_S * 1000;
      note(`baseline: API requests without the operator over ${windowMs / 1000} s`);
      const baseBefore = requestCounts(await apiServerMetrics(kc));
      await sleep(windowMs);
      const baseline = increase(requestCounts(await apiServerMetrics(kc)), baseBefore);

      // ---- watches: Service annotations (first sweep) and sockeye's Events (detection) ----
      const annotated = new Set<string>();
      let firstSweepAt: number | undefined;
      let operatorStart = 0;
      watches.push(
        keepWatching(kc, '/api/v1/services', (_phase, obj) => {
          const m = (obj as Meta).metadata;
          if (!m?.namespace?.startsWith('bench-') || m.annotations?.['sockeye.dev/status'] === undefined)
            return;
          annotated.add(`${m.namespace}/${m.name}`);
          if (annotated.size >= SERVICES && firstSweepAt === undefined) firstSweepAt = performance.now();
        }),
      );
      /** Service key -> when its backend was told to stop listening; and when sockeye's Event arrived. */
      const pending = new Map<string, number>();
      const detected = new Map<string, number>();
      const warnings = { total: 0 };
      watches.push(
        keepWatching(kc, '/apis/events.k8s.io/v1/events', (phase, obj) => {
          const e = obj as EventObj;
          if (phase === 'DELETED' || e.reportingController !== 'sockeye.dev/operator' || e.type !== 'Warning')
            return;
          warnings.total++;
          const r = e.regarding;
          if (!r?.name || !r.namespace) return;
          // A pod's Event counts for its Service: svc-I-J belongs to svc-I.
          const service = r.kind === 'Pod' ? r.name.replace(/-\d+$/, '') : r.name;
          const key = `${r.namespace}/${service}`;
          const since = pending.get(key);
          if (since !== undefined && !detected.has(key)) detected.set(key, performance.now() - since);
        }),
      );
      await sleep(2000);

      // ---- the operator ----
      const port = await freePort();
      note(
        `starting sockeye operator (interval ${INTERVAL_S}s, timeout ${TIMEOUT_S}s; log ${dir}/operator.log)`,
      );
      operatorStart = performance.now();
      operatorPid = await startDetached(
        process.execPath,
        [
          // e.g. SOCKEYE_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the operator.
          ...(process.env.SOCKEYE_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
          sockeye,
          'operator',
          `--interval=${INTERVAL_S}s`,
          `--timeout=${TIMEOUT_S}s`,
          '--leader-elect',
          '--lease-namespace=default',
          '--http-host=127.0.0.1',
          // Plain HTTP, metrics on the health port, as read below (secure serving: test/operator/secure-metrics.test.ts).
          '--no-metrics-secure',
          `--http-port=${port}`,
          '--pod-name=sockeye-bench',
          '--pod-namespace=default',
        ],
        join(dir, 'operator.log'),
        { ...process.env, KUBECONFIG: state.kubeconfig, SOCKEYE_LOG_LEVEL: 'warn' },
      );
      const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      let syncedMs: number | undefined;
      /** Every Service judged: probed and evaluated (its sockeye_service_targets series exist). */
      let judgedAt: number | undefined;
      let lastPoll = 0;
      const sweepDeadline = performance.now() + 600_000;
      // A kept cluster still carries the annotations of the previous run: only "judged" means anything.
      while (judgedAt === undefined || (firstSweepAt === undefined && existing === undefined)) {
        if (performance.now() > sweepDeadline)
          throw new Error(`first sweep not done after 10 minutes (${annotated.size}/${SERVICES} annotated)`);
        if (syncedMs === undefined) {
          const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
            (r) => r.ok,
            () => false,
          );
          if (ok) syncedMs = performance.now() - operatorStart;
        }
        if (judgedAt === undefined && syncedMs !== undefined && performance.now() - lastPoll > 500) {
          lastPoll = performance.now();
          const judged = new Set(
            samples(await metrics(), 'sockeye_service_targets')
              .map((x) => /namespace="(bench-[^"]*)",service="([^"]*)"/.exec(x.labels))
              .flatMap((m) => (m ? [`${m[1]}/${m[2]}`] : [])),
          );
          if (judged.size >= SERVICES) judgedAt = performance.now();
        }
        await sleep(100);
      }
      const judgedMs = judgedAt - operatorStart;
      // A kept cluster's Services carry the previous run's annotations: that watch says nothing.
      const firstSweepMs =
        firstSweepAt === undefined || existing !== undefined ? undefined : firstSweepAt - operatorStart;
      note(
        `first sweep: every Service judged ${ms1(judgedMs)} ms after start, annotated ${firstSweepMs === undefined ? 'n/a (kept cluster)' : `${ms1(firstSweepMs)} ms`}`,
      );
      // The first sweep's pod annotations (20,000 patches at this size) are written after the Services':
      // detection and the steady window are measured once they are done.
      const drainDeadline = performance.now() + 900_000;
      let drainedAt: number | undefined;
      for (;;) {
        const pendingWrites = total(await metrics(), 'sockeye_annotation_writes_pending');
        if (pendingWrites === 0) {
          drainedAt = performance.now();
          break;
        }
        if (performance.now() > drainDeadline) {
          note(`annotation writes still pending after 15 minutes: ${pendingWrites}`);
          break;
        }
        await sleep(1000);
      }
      const drainedMs = drainedAt === undefined ? undefined : drainedAt - operatorStart;
      note(
        `first sweep: every annotation written ${drainedMs === undefined ? 'n/a' : `${ms1(drainedMs)} ms`} after start`,
      );
      await sleep(2000);
      const afterSync = await metrics();
      const memAfterSync = {
        rssBytes: total(afterSync, 'process_resident_memory_bytes'),
        heapUsedBytes: total(afterSync, 'nodejs_heap_size_used_bytes'),
      };

      // ---- detection latency ----
      note(`detection: ${SAMPLES} backends stop listening, staggered over one interval`);
      const step = Math.max(1, Math.floor(SERVICES / SAMPLES));
      const chosen = Array.from({ length: SAMPLES }, (_, k) => k * step);
      const patchListen = (i: number, value: string | null) =>
        retrying(`patch ${podName(i, 0)}`, () =>
          core.patchNamespacedPod(
            {
              name: podName(i, 0),
              namespace: namespaceOf(i),
              body: { metadata: { annotations: { [LISTEN]: value } } },
            },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          ),
        );
      await Promise.all(
        chosen.map(async (i, k) => {
          await sleep((k * INTERVAL_S * 1000) / SAMPLES + Math.random() * 200);
          pending.set(`${namespaceOf(i)}/${serviceName(i)}`, performance.now());
          await patchListen(i, null);
        }),
      );
      const detectDeadline = performance.now() + 3 * (INTERVAL_S + TIMEOUT_S) * 1000 + 30_000;
      while (detected.size < SAMPLES && performance.now() < detectDeadline) await sleep(200);
      const latencies = [...detected.values()];
      note(`detected ${detected.size}/${SAMPLES}`);

      // ---- back to steady: the backends listen again; wait for every Service Healthy ----
      const recoveredBefore = warnings.total;
      await Promise.all(chosen.map((i) => patchListen(i, '8080')));
      const healthy = async () => {
        let n = 0;
        for (let ns = 0; ns < NAMESPACES; ns++) {
          let cont: string | undefined;
          do {
            const page = await core.listNamespacedService({
              namespace: `bench-${ns}`,
              limit: 500,
              ...(cont ? { _continue: cont } : {}),
            });
            n += page.items.filter(
              (s) => s.metadata?.annotations?.['sockeye.dev/status'] === 'Healthy',
            ).length;
            cont = page.metadata?._continue || undefined;
          } while (cont);
        }
        return n;
      };
      const healDeadline = performance.now() + 120_000;
      while ((await healthy()) < SERVICES) {
        if (performance.now() > healDeadline)
          throw new Error('Services not all Healthy again within 2 minutes');
        await sleep(2000);
      }
      // One more interval so that the recovered Services' follow-up reconciles are done.
      await sleep((INTERVAL_S + TIMEOUT_S) * 1000);

      // ---- steady state ----
      note(`steady state: ${STEADY_SWEEPS} sweeps (${windowMs / 1000} s) with nothing changing`);
      const [opBefore, apiBefore] = [await metrics(), requestCounts(await apiServerMetrics(kc))];
      await sleep(windowMs);
      const [opAfter, apiAfter] = [await metrics(), requestCounts(await apiServerMetrics(kc))];
      const writes = total(opAfter, 'sockeye_api_writes_total') - total(opBefore, 'sockeye_api_writes_total');
      const probes = total(opAfter, 'sockeye_probes_total') - total(opBefore, 'sockeye_probes_total');
      const withOperator = increase(apiAfter, apiBefore);
      const attributable = difference(withOperator, baseline);
      const memEnd = {
        rssBytes: total(opAfter, 'process_resident_memory_bytes'),
        heapUsedBytes: total(opAfter, 'nodejs_heap_size_used_bytes'),
      };
      const leaseRequests = [...withOperator]
        .filter(([k]) => k.endsWith(' leases'))
        .reduce((s, [, v]) => s + v, 0);

      // ---- report ----
      const p50 = percentile(latencies, 50);
      const p99 = percentile(latencies, 99);
      const detectAimMs = (INTERVAL_S + TIMEOUT_S + 1) * 1000;
      const rows: [string, string, string][] = [
        [
          'size',
          `${SERVICES} Services, ${PODS} pods/endpoints, ${NAMESPACES} namespaces, ${NODES} nodes`,
          '',
        ],
        [
          'pods made by the simulator',
          existing === undefined
            ? `${podsPerSecond.toFixed(1)} pods/s (${ms1(runningMs / 1000)} s)`
            : 'n/a (kept cluster)',
          '',
        ],
        ['caches synced (/readyz)', syncedMs === undefined ? 'n/a' : `${ms1(syncedMs)} ms`, ''],
        [
          'first full sweep: every Service judged',
          `${ms1(judgedMs)} ms`,
          `aim < 10000 ms: ${judgedMs < 10_000 ? 'met' : 'missed'}`,
        ],
        [
          'first sweep: every Service annotated',
          firstSweepMs === undefined ? 'n/a (kept cluster)' : `${ms1(firstSweepMs)} ms`,
          'sockeye.dev/status seen on every Service by a watch',
        ],
        [
          'first sweep: every pod annotated too',
          drainedMs === undefined ? 'n/a' : `${ms1(drainedMs)} ms`,
          'sockeye_annotation_writes_pending back to 0',
        ],
        [
          'detection p50 / p99',
          `${ms1(p50)} / ${ms1(p99)} ms (${detected.size}/${SAMPLES} seen)`,
          `aim p99 < ${detectAimMs} ms: ${detected.size === SAMPLES && p99 < detectAimMs ? 'met' : 'missed'}`,
        ],
        ['RSS / heap after sync', `${mb(memAfterSync.rssBytes)} / ${mb(memAfterSync.heapUsedBytes)} MB`, ''],
        [
          'RSS / heap at the end',
          `${mb(memEnd.rssBytes)} / ${mb(memEnd.heapUsedBytes)} MB`,
          `aim < 200 MB RSS: ${Math.max(memAfterSync.rssBytes, memEnd.rssBytes) < 200 * MIB ? 'met' : 'missed'}`,
        ],
        ['steady: probes per sweep', `${Math.round(probes / STEADY_SWEEPS)}`, ''],
        [
          'steady: sockeye writes per sweep',
          (writes / STEADY_SWEEPS).toFixed(1),
          `aim 0: ${writes === 0 ? 'met' : 'missed'}`,
        ],
        [
          'steady: API requests per sweep',
          `${(sumValues(attributable) / STEADY_SWEEPS).toFixed(1)} (all: ${(sumValues(withOperator) / STEADY_SWEEPS).toFixed(1)}, baseline: ${(sumValues(baseline) / STEADY_SWEEPS).toFixed(1)})`,
          'apiserver_request_total, minus the no-operator baseline',
        ],
        [
          'steady: Lease requests per sweep',
          `${(leaseRequests / STEADY_SWEEPS).toFixed(1)}`,
          'leader election renewals (GET+PUT every 2 s)',
        ],
        [
          'recovery warnings seen',
          `${warnings.total - recoveredBefore}`,
          'Warning Events after the backends listened again',
        ],
      ];
      const width = Math.max(...rows.map((r) => r[0].length));
      const width2 = Math.max(...rows.map((r) => r[1].length));
      process.stdout.write(
        `\nsockeye operator benchmark (interval ${INTERVAL_S}s, timeout ${TIMEOUT_S}s, confirmations 2)\n`,
      );
      for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(width)}  ${b.padEnd(width2)}  ${c}\n`);
      process.stdout.write(
        `steady API requests by verb/resource (with operator, per window): ${[...withOperator].map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}\n`,
      );
      process.stdout.write(
        `${JSON.stringify({
          services: SERVICES,
          pods: PODS,
          namespaces: NAMESPACES,
          nodes: NODES,
          intervalMs: INTERVAL_S * 1000,
          timeoutMs: TIMEOUT_S * 1000,
          podsPerSecond: existing === undefined ? roundTo(podsPerSecond, 1) : null,
          syncedMs: syncedMs === undefined ? null : ms1(syncedMs),
          judgedMs: ms1(judgedMs),
          firstSweepMs: firstSweepMs === undefined ? null : ms1(firstSweepMs),
          writesDrainedMs: drainedMs === undefined ? null : ms1(drainedMs),
          detection: {
            samples: SAMPLES,
            seen: detected.size,
            p50Ms: ms1(p50),
            p99Ms: ms1(p99),
            aimMs: detectAimMs,
          },
          memory: { afterSync: memAfterSync, end: memEnd },
          steady: {
            sweeps: STEADY_SWEEPS,
            probesPerSweep: Math.round(probes / STEADY_SWEEPS),
            writesPerSweep: writes / STEADY_SWEEPS,
            apiRequestsPerSweep: sumValues(attributable) / STEADY_SWEEPS,
            apiRequestsAllPerSweep: sumValues(withOperator) / STEADY_SWEEPS,
            baselinePerSweep: sumValues(baseline) / STEADY_SWEEPS,
            leaseRequestsPerSweep: leaseRequests / STEADY_SWEEPS,
            byVerbResource: Object.fromEntries(attributable),
          },
        })}\n`,
      );
    } catch (err) {
      const log = await readFile(join(dir, 'operator.log'), 'utf8').catch(() => '');
      if (log !== '') note(`operator log (last lines):\n${log.trimEnd().split('\n').slice(-20).join('\n')}`);
      throw err;
    }
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

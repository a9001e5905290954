// bash scripts/launch.sh run bench/audit-endpoints-cost.ts — what kube-controller-manager's v1 Endpoints
// controller costs the local cluster, to decide when it runs (cluster/local.ts `endpointsController`;
// `bench:audit` turns it on for its peers, which read v1 Endpoints).
//
// Two local clusters, one after the other, the same seed in each: without the controller, then with
// it. Each is seeded with --deployments Deployments x --replicas pods over --namespaces namespaces and
// --services-per-deployment Services selecting each Deployment, then waits until every pod runs and
// every Service's EndpointSlices (and, with the controller, its v1 Endpoints) list its pods; then the
// pods of half the namespaces are deleted at once (their ReplicaSets make new ones) and it waits again.
// Per phase and per cluster it reads the CPU seconds of kube-controller-manager, kube-apiserver and
// etcd (/proc/PID/stat) and the API server's request counts (apiserver_request_total): all requests,
// and writes to endpoints and endpointslices. The last line is one JSON object.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { binaryPath } from '../cluster/binaries.ts';
import { run } from '../cluster/exec.ts';
import { downLocalCluster, type LocalClusterState, TEST_RANGES, upLocalCluster } from '../cluster/local.ts';
import { withCleanup } from '../cluster/with-cleanup.ts';
import { shareConnections } from '../src/kube/connections.ts';
import { paginate } from '../src/kube/pager.ts';
import { readyInEndpoints, readyInSlices } from './endpoints-count.ts';
import { mapBounded } from './pool.ts';
import { statCpuSeconds } from './proc.ts';
import { labelValue, samples } from './prometheus.ts';
import { roundTo } from './stats.ts';

const note = (line: string) => process.stderr.write(`bench:endpoints-cost: ${line}\n`);
const { values: opts } = parseArgs({
  options: {
    namespaces: { type: 'string', default: '10' },
    deployments: { type: 'string', default: '300' },
    replicas: { type: 'string', default: '10' },
    'services-per-deployment': { type: 'string', default: '2' },
    idle: { type: 'string', default: '30' },
  },
});
const NAMESPACES = Number(opts.namespaces);
const DEPLOYMENTS = Number(opts.deployments);
const REPLICAS = Number(opts.replicas);
const PER_DEPLOYMENT = Number(opts['services-per-deployment']);
const IDLE_S = Number(opts.idle);
const CONCURRENCY = 16;

interface Snapshot {
  readonly cpu: { kcm: number; apiserver: number; etcd: number };
  readonly requests: number;
  readonly endpointsWrites: number;
  readonly sliceWrites: number;
}

/** utime + stime of one process, in seconds. */
async function cpuSeconds(pid: number): Promise<number> {
  return statCpuSeconds(await readFile(`/proc/${pid}/stat`, 'utf8'));
}

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'DELETECOLLECTION']);

async function snapshot(state: LocalClusterState): Promise<Snapshot> {
  const { stdout } = await run(binaryPath('kubectl'), [
    '--kubeconfig',
    state.kubeconfig,
    'get',
    '--raw',
    '/metrics',
  ]);
  let requests = 0;
  let endpointsWrites = 0;
  let sliceWrites = 0;
  for (const { labels, value } of samples(stdout, 'apiserver_request_total')) {
    requests += value;
    if (!WRITE_VERBS.has(labelValue(labels, 'verb'))) continue;
    const resource = labelValue(labels, 'resource');
    if (resource === 'endpoints') endpointsWrites += value;
    if (resource === 'endpointslices') sliceWrites += value;
  }
  return {
    cpu: {
      kcm: await cpuSeconds(state.pids.controllerManager),
      apiserver: await cpuSeconds(state.pids.apiserver),
      etcd: await cpuSeconds(state.pids.etcd),
    },
    requests,
    endpointsWrites,
    sliceWrites,
  };
}

function delta(a: Snapshot, b: Snapshot, seconds: number) {
  const r = (x: number) => roundTo(x, 1);
  return {
    seconds: Math.round(seconds),
    cpuSeconds: {
      kcm: r(b.cpu.kcm - a.cpu.kcm),
      apiserver: r(b.cpu.apiserver - a.cpu.apiserver),
      etcd: r(b.cpu.etcd - a.cpu.etcd),
    },
    requests: b.requests - a.requests,
    endpointsWrites: b.endpointsWrites - a.endpointsWrites,
    sliceWrites: b.sliceWrites - a.sliceWrites,
  };
}

function objects(): { namespaces: string[]; items: KubernetesObject[] } {
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `cost-${String(i).padStart(2, '0')}`);
  const items: KubernetesObject[] = [];
  for (let d = 0; d < DEPLOYMENTS; d++) {
    const namespace = namespaces[d % NAMESPACES] ?? 'cost-00';
    const app = `app-${String(d).padStart(4, '0')}`;
    items.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: app, namespace },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app }, annotations: { 'sim.sockeye.dev/listen': '8080' } },
          spec: {
            containers: [{ name: 'app', image: 'app', ports: [{ name: 'http', containerPort: 8080 }] }],
          },
        },
      },
    } as KubernetesObject);
    for (let s = 0; s < PER_DEPLOYMENT; s++)
      items.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `${app}-${s}`, namespace },
        spec: { selector: { app }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      } as KubernetesObject);
  }
  return { namespaces, items };
}

/** Counts ready addresses per `namespace/service` in v1 Endpoints or in EndpointSlices. */
async function readyPerService(
  kubeconfig: string,
  what: 'endpoints' | 'slices',
): Promise<Map<string, number>> {
  const path = what === 'endpoints' ? '/api/v1/endpoints' : '/apis/discovery.k8s.io/v1/endpointslices';
  const { stdout } = await run(binaryPath('kubectl'), ['--kubeconfig', kubeconfig, 'get', '--raw', path]);
  const { items } = JSON.parse(stdout) as { items: object[] };
  return what === 'endpoints' ? readyInEndpoints(items) : readyInSlices(items);
}

async function settle(
  kc: KubeConfig,
  kubeconfig: string,
  services: readonly string[],
  withEndpoints: boolean,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const pods = DEPLOYMENTS * REPLICAS;
  let lastNote = 0;
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const { items: listed } = await paginate((page) => core.listPodForAllNamespaces(page), { limit: 2000 });
    const running = listed.filter(
      (p) => p.metadata?.namespace?.startsWith('cost-') && p.status?.phase === 'Running' && p.status.podIP,
    ).length;
    let sliced = 0;
    let endpointed = 0;
    if (running >= pods) {
      const slices = await readyPerService(kubeconfig, 'slices');
      sliced = services.filter((s) => (slices.get(s) ?? 0) >= REPLICAS).length;
      if (withEndpoints) {
        const eps = await readyPerService(kubeconfig, 'endpoints');
        endpointed = services.filter((s) => (eps.get(s) ?? 0) >= REPLICAS).length;
      }
      if (sliced === services.length && (!withEndpoints || endpointed === services.length)) return;
    }
    if (Date.now() - lastNote > 15_000) {
      lastNote = Date.now();
      note(
        `waiting: ${running}/${pods} pods running, ${sliced}/${services.length} Services with slices` +
          (withEndpoints ? `, ${endpointed} with Endpoints` : ''),
      );
    }
    if (Date.now() > deadline) throw new Error(`did not settle: ${running}/${pods} pods running`);
    await sleep(2000);
  }
}

async function measure(endpointsController: boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'sockeye-bench-epcost-'));
  return withCleanup(
    async () => {
      await downLocalCluster(dir, note).catch((err: unknown) => note(`down failed: ${String(err)}`));
      await rm(dir, { recursive: true, force: true });
    },
    async () => {
      const state = await upLocalCluster({
        dir,
        cidr: TEST_RANGES,
        dataPath: false,
        endpointsController,
        log: note,
      });
      const kc = new KubeConfig();
      kc.loadFromFile(state.kubeconfig);
      shareConnections(kc);
      const api = KubernetesObjectApi.makeApiClient(kc);
      const { namespaces, items } = objects();
      const services = items
        .filter((o) => o.kind === 'Service')
        .map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`);
      const s0 = await snapshot(state);
      let t = performance.now();
      await mapBounded(namespaces, CONCURRENCY, (name) =>
        api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
      );
      await mapBounded(items, CONCURRENCY, (o) => api.create(o));
      await settle(kc, state.kubeconfig, services, endpointsController);
      const s1 = await snapshot(state);
      const seed = delta(s0, s1, (performance.now() - t) / 1000);
      note(`${endpointsController ? 'with' : 'without'}: seed ${JSON.stringify(seed)}`);

      t = performance.now();
      const core = kc.makeApiClient(CoreV1Api);
      for (const namespace of namespaces.slice(0, Math.ceil(namespaces.length / 2))) {
        // A deletion of hundreds of pods can outlast the client's patience on a loaded machine; the
        // API server goes on with it, and a retry deletes whatever is left.
        for (let attempt = 1; ; attempt++) {
          try {
            await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 });
            break;
          } catch (err) {
            if (attempt >= 5) throw err;
            note(`deleting the pods of ${namespace} failed (${String(err)}); again`);
            await sleep(2000 * attempt);
          }
        }
      }
      await sleep(5000);
      await settle(kc, state.kubeconfig, services, endpointsController);
      const s2 = await snapshot(state);
      const churn = delta(s1, s2, (performance.now() - t) / 1000);
      note(`${endpointsController ? 'with' : 'without'}: churn ${JSON.stringify(churn)}`);

      t = performance.now();
      await sleep(IDLE_S * 1000);
      const s3 = await snapshot(state);
      const idle = delta(s2, s3, (performance.now() - t) / 1000);
      note(`${endpointsController ? 'with' : 'without'}: idle ${JSON.stringify(idle)}`);
      return { endpointsController, seed, churn, idle };
    },
  );
}

async function main(): Promise<void> {
  const load = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  const loadBefore = await load();
  const without = await measure(false);
  const withIt = await measure(true);
  const result = {
    bench: 'endpoints-controller-cost',
    pods: DEPLOYMENTS * REPLICAS,
    services: DEPLOYMENTS * PER_DEPLOYMENT,
    loadBefore,
    loadAfter: await load(),
    without,
    with: withIt,
  };
  for (const phase of ['seed', 'churn', 'idle'] as const) {
    const a = without[phase];
    const b = withIt[phase];
    process.stdout.write(
      `${phase}: kcm CPU ${a.cpuSeconds.kcm} s -> ${b.cpuSeconds.kcm} s, apiserver ${a.cpuSeconds.apiserver} s -> ` +
        `${b.cpuSeconds.apiserver} s, etcd ${a.cpuSeconds.etcd} s -> ${b.cpuSeconds.etcd} s, requests ` +
        `${a.requests} -> ${b.requests}, Endpoints writes ${a.endpointsWrites} -> ${b.endpointsWrites}, ` +
        `slice writes ${a.sliceWrites} -> ${b.sliceWrites}, ${a.seconds} s -> ${b.seconds} s\n`,
    );
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    note(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCHMARK_RANGE, clusterAddressPlan, nodeAddresses, parseCidr, splitCidr } from './addresses.ts';
import { binaryPath, cacheDir, ensureBinaries } from './binaries.ts';
import {
  type ControlPlane,
  kubeconfigYaml,
  startControlPlane,
  stopControlPlane,
  waitReady,
} from './controlplane.ts';
import { isAlive, killGroup, run, startDetached } from './exec.ts';
import { DEFAULT_RUN_IMAGES } from './simulator/containers.ts';
import { leftovers, sweepNetwork } from './simulator/network.ts';
import { API_PROXY_PORT } from './simulator/simulator.ts';

/** Everything `down` needs to find what `up` started, also from another process. */
export interface LocalClusterState {
  readonly id: string;
  readonly dir: string;
  readonly cidr: string;
  readonly nodes: number;
  readonly apiServerUrl: string;
  readonly kubeconfig: string;
  readonly pids: { etcd: number; apiserver: number; controllerManager: number; simulator: number };
  /** How to start the API server again alone (`restartApiServer`); absent in states written before it. */
  readonly apiServer?: ControlPlane['apiServer'];
}

export interface LocalClusterOptions {
  readonly dir: string;
  /**
   * Pod range inside 198.18.0.0/15; two clusters on one machine need different ones. A list means
   * "the first one free", taken atomically, so clusters started at the same moment never collide.
   */
  readonly cidr?: string | readonly string[];
  readonly nodes?: number;
  /**
   * kube-proxy on every node and the load-balancer stand-in (default true). Benchmarks of tens of
   * thousands of pods turn them off: their syncs on a small machine would be measured with sockeye.
   */
  readonly dataPath?: boolean;
  /**
   * Also run kube-controller-manager's v1 Endpoints controller (default false): for tools that read
   * the deprecated v1 Endpoints instead of EndpointSlices, as `bench:audit`'s peers popeye and
   * k8sgpt do. Without it no Service has v1 Endpoints (controlplane.ts `ENDPOINTS_CONTROLLER`).
   */
  readonly endpointsController?: boolean;
  readonly log?: (line: string) => void;
}

export const DEFAULT_CIDR = '198.18.0.0/17';
const simulatorMain = fileURLToPath(new URL('./simulator/main.ts', import.meta.url));
const sockeyeBin = fileURLToPath(new URL('../bin/sockeye.js', import.meta.url));
const FORWARDING = '/proc/sys/net/ipv4/ip_forward';

/**
 * Pod ranges for clusters started by tests, so that several test runs (and a cluster from
 * `npm run cluster -- up`, which defaults to 198.18.0.0/17) can share one machine.
 * 198.19.128.0-198.19.181.255 holds the Service ranges and load-balancer pools derived from pod
 * ranges (addresses.ts clusterAddressPlan); 198.19.184.0/21 (links) and 198.19.192.0/18 are left
 * to tests that make their own namespaces without a cluster.
 */
export const TEST_RANGES = ['198.18.128.0/18', '198.18.192.0/18', '198.19.0.0/18', '198.19.64.0/18'] as const;
/**
 * For benchmarks too large for a /18 (pods, or Services: a /18 holds 2,045 ClusterIPs): a /17 made
 * of two adjacent test ranges (a cluster holding either half makes it unavailable).
 */
export const WIDE_TEST_RANGES = ['198.18.128.0/17', '198.19.0.0/17'] as const;

export async function rangeInUse(cidr: string): Promise<boolean> {
  for (const type of ['unicast', 'unreachable']) {
    const { stdout } = await run('ip', ['route', 'show', 'root', cidr, 'type', type]);
    if (stdout.trim() !== '') return true;
  }
  return false;
}

/** The first of `candidates` that no cluster holds and nothing on this machine routes (not reserved). */
export async function freePodRange(candidates: readonly string[] = TEST_RANGES): Promise<string> {
  for (const cidr of candidates) {
    if ((await overlappingOwner(cidr, '')) === undefined && !(await rangeInUse(cidr))) return cidr;
  }
  throw new Error(
    `every test pod range is in use (${candidates.join(', ')}): too many clusters on this machine`,
  );
}

function reservationFile(cidr: string): string {
  return join(cacheDir(), 'ranges', cidr.replace('/', '_'));
}

/** The state dir of the live cluster holding `cidr`, if any; a dead holder's reservation is stale. */
async function rangeOwner(cidr: string): Promise<string | undefined> {
  const owner = await readFile(reservationFile(cidr), 'utf8').catch(() => undefined);
  if (owner === undefined) return undefined;
  const [dir = '', pid = '0'] = owner.split('\n');
  return isAlive(Number(pid)) || (await readState(dir).catch(() => undefined)) ? dir : undefined;
}

/**
 * The live cluster (other than `dir`) holding a range that overlaps `cidr`: a /17 and its /18 halves
 * are different reservations, and one cluster's `down` removes the routes inside its own range.
 */
async function overlappingOwner(cidr: string, dir: string): Promise<string | undefined> {
  const wanted = parseCidr(cidr);
  const files = await readdir(join(cacheDir(), 'ranges')).catch(() => [] as string[]);
  for (const file of files) {
    const held = file.replace('_', '/');
    let other: ReturnType<typeof parseCidr>;
    try {
      other = parseCidr(held);
    } catch {
      continue;
    }
    const overlaps = other.base < wanted.base + wanted.size && wanted.base < other.base + other.size;
    if (!overlaps || held === cidr) continue;
    const owner = await rangeOwner(held);
    if (owner !== undefined && owner !== dir) return owner;
  }
  return undefined;
}

/**
 * Takes `cidr` for the cluster in `dir`: an exclusive create of a reservation file (with the state
 * dir and the reserving pid), kept until `down`. Two `up`s racing for one range: one wins.
 */
async function reserveRange(cidr: string, dir: string): Promise<boolean> {
  const file = reservationFile(cidr);
  await mkdir(join(cacheDir(), 'ranges'), { recursive: true });
  const owner = await rangeOwner(cidr);
  if (owner !== undefined && owner !== dir) return false;
  if (owner === undefined) await rm(file, { force: true });
  try {
    await writeFile(file, `${dir}\n${process.pid}\n`, { flag: owner === dir ? 'w' : 'wx' });
  } catch {
    return false;
  }
  // Checked after our own file exists: of two racing `up`s with overlapping ranges, neither misses
  // the other (both may back off; the caller then tries its next candidate).
  if ((await overlappingOwner(cidr, dir)) !== undefined || (await rangeInUse(cidr))) {
    await rm(file, { force: true });
    return false;
  }
  return true;
}

export async function releaseRange(cidr: string, dir: string): Promise<void> {
  const owner = await readFile(reservationFile(cidr), 'utf8').catch(() => '');
  if (owner.split('\n')[0] === dir) await rm(reservationFile(cidr), { force: true });
}

/** takeRange's error when every range it may take is held by another cluster on this machine. */
export class RangesInUseError extends Error {}

export async function takeRange(wanted: string | readonly string[], dir: string): Promise<string> {
  const candidates = typeof wanted === 'string' ? [wanted] : wanted;
  for (const candidate of candidates) {
    const cidr = parseCidr(candidate);
    if (
      cidr.base < BENCHMARK_RANGE.base ||
      cidr.base + cidr.size > BENCHMARK_RANGE.base + BENCHMARK_RANGE.size
    ) {
      throw new Error(`pod range ${cidr.text} must lie inside 198.18.0.0/15, the benchmarking range`);
    }
    if (await reserveRange(cidr.text, dir)) return cidr.text;
  }
  throw new RangesInUseError(
    candidates.length === 1
      ? `pod range ${candidates[0]} is in use by another cluster on this machine; pick another range`
      : `every pod range is in use (${candidates.join(', ')}): too many clusters on this machine`,
  );
}

export async function readState(dir: string): Promise<LocalClusterState | undefined> {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as LocalClusterState;
}

export function runningParts(state: LocalClusterState): Record<keyof LocalClusterState['pids'], boolean> {
  const p = state.pids;
  return {
    etcd: isAlive(p.etcd),
    apiserver: isAlive(p.apiserver),
    controllerManager: isAlive(p.controllerManager),
    simulator: isAlive(p.simulator),
  };
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager and the pod simulator. On any failure it
 * tears down what it started, so a failed `up` leaves nothing behind either.
 */
export async function upLocalCluster(opts: LocalClusterOptions): Promise<LocalClusterState> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const existing = await readState(opts.dir);
  if (existing) await downLocalCluster(opts.dir, log);
  await mkdir(opts.dir, { recursive: true });
  const wanted = opts.cidr ?? DEFAULT_CIDR;
  // Fails before anything starts when a range cannot hold the Services and pool derived from it.
  for (const candidate of typeof wanted === 'string' ? [wanted] : wanted)
    clusterAddressPlan(parseCidr(candidate));
  const cidr = parseCidr(await takeRange(wanted, opts.dir));
  const plan = clusterAddressPlan(cidr);
  const id = randomBytes(3).toString('hex').slice(0, 5);
  const nodes = opts.nodes ?? 3;
  let pids: LocalClusterState['pids'] = { etcd: 0, apiserver: 0, controllerManager: 0, simulator: 0 };
  const save = async (state: LocalClusterState) =>
    writeFile(join(opts.dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  const partial = (): LocalClusterState => ({
    id,
    dir: opts.dir,
    cidr: cidr.text,
    nodes,
    apiServerUrl: '',
    kubeconfig: '',
    pids,
  });
  await save(partial());
  try {
    log(`cluster: starting etcd, kube-apiserver, kube-controller-manager (logs in ${opts.dir})`);
    // Pods reach the API server through the simulator's proxy on node 0's host end, so that address
    // advertises it and is in its certificate.
    const apiHost = nodeAddresses(splitCidr(cidr, nodes)[0]!).hostEnd;
    await enableForwarding();
    const cp = await startControlPlane(opts.dir, apiHost, [plan.services.text, plan.services6], {
      endpointsController: opts.endpointsController ?? false,
    });
    pids = { ...cp.pids, simulator: 0 };
    await save({
      ...partial(),
      apiServerUrl: cp.apiServerUrl,
      kubeconfig: cp.kubeconfig,
      apiServer: cp.apiServer,
    });
    const dataPath = opts.dataPath ?? true;
    if (dataPath) await ensureBinaries(['kube-proxy'], log);
    log(`cluster: starting the pod simulator (${nodes} nodes in ${cidr.text})`);
    log(
      `cluster: Services in ${plan.services.text}${dataPath ? `, kube-proxy on every node, load balancers from ${plan.lb.pool.text}` : ''}`,
    );
    // Node namespaces reach the API server through the simulator's proxy, as pods do.
    const nodeKubeconfig = join(opts.dir, 'node.kubeconfig');
    await writeFile(nodeKubeconfig, kubeconfigYaml(`https://${apiHost}:${API_PROXY_PORT}`, cp.pki));
    await writeFile(
      join(opts.dir, 'sim.json'),
      JSON.stringify({
        id,
        cidr: cidr.text,
        nodes,
        kubeconfig: cp.kubeconfig,
        apiServerPort: Number(new URL(cp.apiServerUrl).port),
        caFile: cp.pki.caCert,
        run: { images: [...DEFAULT_RUN_IMAGES], sockeye: [process.execPath, sockeyeBin] },
        kubeProxy: dataPath ? { binary: binaryPath('kube-proxy'), kubeconfig: nodeKubeconfig } : null,
      }),
    );
    await rm(join(opts.dir, 'sim.ready'), { force: true });
    const simulator = await startDetached(
      process.execPath,
      // SOCKEYE_SIM_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", is for profiling the simulator.
      [...(process.env.SOCKEYE_SIM_NODE_ARGS?.split(' ').filter(Boolean) ?? []), simulatorMain, opts.dir],
      join(opts.dir, 'simulator.log'),
    );
    pids = { ...pids, simulator };
    const state: LocalClusterState = {
      ...partial(),
      apiServerUrl: cp.apiServerUrl,
      kubeconfig: cp.kubeconfig,
      apiServer: cp.apiServer,
    };
    await save(state);
    await waitFor(
      () => existsSync(join(opts.dir, 'sim.ready')),
      60_000,
      () => {
        if (!isAlive(simulator))
          throw new Error(`the pod simulator exited; see ${join(opts.dir, 'simulator.log')}`);
      },
    );
    return state;
  } catch (err) {
    // A failed start removes what it started; the caller is told once, with what could not be removed.
    const reason = err instanceof Error ? err.message : String(err);
    await downLocalCluster(opts.dir, log).catch((downErr: unknown) => {
      throw new Error(
        `${reason}; tearing down also failed: ${downErr instanceof Error ? downErr.message : String(downErr)}`,
        { cause: err },
      );
    });
    throw err;
  }
}

/** Stops every process of the cluster and removes its network, even when parts already died. */
export async function downLocalCluster(
  dir: string,
  log: (l: string) => void = () => undefined,
): Promise<void> {
  const state = await readState(dir);
  if (!state) return;
  log(`cluster: stopping ${state.id}`);
  // Every step runs even when an earlier one fails, so one failure never strands the rest.
  const failures: string[] = [];
  const step = async (what: string, action: () => Promise<unknown>) => {
    await action().catch((err: unknown) =>
      failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`),
    );
  };
  // The simulator first: it removes its own namespaces on SIGTERM; the sweep catches the rest.
  if (state.pids.simulator) await step('simulator', () => killGroup(state.pids.simulator, 10_000));
  await step('control plane', () => stopControlPlane(state.pids));
  // kube-proxy and the load balancer live in the simulator's process group and in the cluster's
  // namespaces: the sweep kills whatever is left in them, removes their tables with the namespaces,
  // and the routes of the Service range and load-balancer pool with the pod range's.
  await step('network', () => sweepNetwork(state.id, state.cidr));
  await step('ip forwarding', () => restoreForwarding());
  await step('pod range', () => releaseRange(state.cidr, dir));
  await step('leftovers', async () => {
    const left = await leftovers(state.id, state.cidr);
    if (left.length > 0) throw new Error(`could not remove ${left.join(', ')}`);
  });
  if (failures.length > 0) throw new Error(`cluster ${state.id}: ${failures.join('; ')}`);
  await rm(join(dir, 'state.json'), { force: true });
  await rm(join(dir, 'etcd'), { recursive: true, force: true });
}

/**
 * Restarts only the kube-apiserver of the cluster in `dir` (etcd, the controller manager and the
 * simulator keep running): stops its process group, starts it again with the same command line and
 * log file, waits until it is ready, and records the new pid in `state.json`.
 */
export async function restartApiServer(dir: string): Promise<void> {
  const state = await readState(dir);
  if (!state?.apiServer) throw new Error(`no restartable local cluster in ${dir}`);
  const [file = '', ...args] = state.apiServer.argv;
  const logFile = join(dir, 'kube-apiserver.log');
  await killGroup(state.pids.apiserver);
  const apiserver = await startDetached(file, args, logFile);
  await writeFile(
    join(dir, 'state.json'),
    `${JSON.stringify({ ...state, pids: { ...state.pids, apiserver } }, null, 2)}\n`,
  );
  await waitReady(state.apiServerUrl, state.apiServer.pki, logFile);
}

/**
 * Pods in namespaces of their own talk to other pods through the host, which must forward. The
 * machine's setting is remembered once (in the cache, shared by every local cluster) and put back
 * by the `down` that leaves no local cluster running.
 */
async function enableForwarding(): Promise<void> {
  const before = (await readFile(FORWARDING, 'utf8')).trim();
  if (before === '1') return;
  await mkdir(cacheDir(), { recursive: true });
  await writeFile(forwardingRestoreFile(), before);
  await writeFile(FORWARDING, '1');
}

function forwardingRestoreFile(): string {
  return join(cacheDir(), 'ip_forward.restore');
}

async function restoreForwarding(): Promise<void> {
  const file = forwardingRestoreFile();
  if (!existsSync(file)) return;
  const { stdout } = await run('ip', ['netns', 'list']);
  const othersRunning = stdout.split('\n').some((l) => /^sockeye-[0-9a-f]{5}-/.test(l));
  if (othersRunning) return;
  await writeFile(FORWARDING, (await readFile(file, 'utf8')).trim());
  await rm(file, { force: true });
}

async function waitFor(done: () => boolean, timeoutMs: number, check: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    check();
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

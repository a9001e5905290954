import type { ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import {
  CoreV1Api,
  type KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import {
  AddressPool,
  type Cidr,
  type ClusterAddressPlan,
  contains,
  ipv6TwinCidr,
  nodeAddresses,
  splitCidr,
} from '../addresses.ts';
import type { ContainerExit } from './agent-client.ts';
import { parseBehaviour } from './behaviour.ts';
import {
  containerArgv,
  containerEnv,
  mountsToken,
  type RunConfig,
  readinessProbes,
  runnableContainers,
  serviceLinkEnv,
} from './containers.ts';
import {
  httpStatus,
  type KubeProxyNode,
  kubeProxyKubeconfig,
  startKubeProxy,
  waitKubeProxyHealthy,
} from './kube-proxy.ts';
import { LoadBalancerController } from './load-balancer.ts';
import { SimNetwork } from './network.ts';
import { type Exit, runningStatus, statusDiffers } from './pod-status.ts';

export interface SimulatorOptions {
  readonly id: string;
  readonly cidr: Cidr;
  readonly nodes: number;
  readonly kubeconfig: KubeConfig;
  readonly log: (msg: string) => void;
  /** Workers reconciling pods at once; writes to the API are the bound at scale. */
  readonly concurrency?: number;
  /** Containers that run for real (sockeye's own image), their logs and tokens under stateDir. */
  readonly run: RunConfig;
  readonly stateDir: string;
  /** The API server as the host sees it (loopback), and its CA, for in-cluster clients in pods. */
  readonly apiServer: { readonly port: number; readonly caFile: string };
  /** Service range and load-balancer pool (addresses.ts clusterAddressPlan). */
  readonly plan: ClusterAddressPlan;
  /**
   * kube-proxy per node, and the load-balancer stand-in: its binary and a kubeconfig whose server
   * is the API proxy (node namespaces cannot reach the host's loopback). Absent: neither runs.
   */
  readonly kubeProxy?: { readonly binary: string; readonly kubeconfig: string };
}

/** Where the kubelet mounts a pod's ServiceAccount token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** In-cluster clients reach the API server through the simulator's proxy on node 0's host end. */
export const API_PROXY_PORT = 443;

const NODE_LABEL = 'sim.sockeye.dev/node';

/**
 * Stands in for the scheduler, the kubelets and the pod network of a cluster: binds unscheduled
 * pods to simulated Nodes, gives each pod an address in a network namespace, makes its sockets
 * behave as its `sim.sockeye.dev/*` annotations say, and reports it Running (and Ready unless told
 * otherwise). Level-based: every pod event re-reads the pod and converges network and status.
 */
export class PodSimulator {
  readonly #opts: SimulatorOptions;
  readonly #core: CoreV1Api;
  readonly #net: SimNetwork;
  readonly #pools = new Map<string, AddressPool>();
  readonly #nodeNames: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #running = new Set<string>();
  readonly #deleting = new Set<string>();
  readonly #started = new Set<string>();
  /** Per started pod (`namespace/name/uid`), how each of its containers that ran for real exited. */
  readonly #exits = new Map<string, Map<string, Exit>>();
  /** Per pod, `simulatedFields` of the version last queued. */
  readonly #seen = new Map<string, string>();
  #informer?: ReturnType<typeof makeInformer<V1Pod>>;
  #apiProxy?: Server;
  readonly #kubeProxies: ChildProcess[] = [];
  #loadBalancer?: LoadBalancerController;
  #apiHost = '';
  #active = 0;
  #nextNode = 0;
  #stopped = false;

  constructor(opts: SimulatorOptions) {
    this.#opts = opts;
    this.#core = opts.kubeconfig.makeApiClient(CoreV1Api);
    this.#net = new SimNetwork(opts.id, (exit) => this.#exited(exit));
  }

  /** A container's process exited: remember how, and report it in the pod's status. */
  #exited({ key, uid, container, code }: ContainerExit): void {
    const startedKey = `${key}/${uid}`;
    // A pod deleted or replaced meanwhile (its processes are killed on the way out) is not reported.
    if (!this.#started.has(startedKey)) return;
    const exits = this.#exits.get(startedKey) ?? new Map<string, Exit>();
    exits.set(container, { code, at: new Date() });
    this.#exits.set(startedKey, exits);
    this.#opts.log(`pod ${key}: container ${container} exited ${code}`);
    this.#enqueue(key);
  }

  async start(): Promise<void> {
    const ranges = splitCidr(this.#opts.cidr, this.#opts.nodes);
    for (const [i, range] of ranges.entries()) {
      const name = `sim-node-${i}`;
      await this.#net.addNode(i, name, range, this.#opts.plan);
      this.#pools.set(name, new AddressPool(range));
      this.#nodeNames.push(name);
      await this.#ensureNode(name, range);
    }
    this.#apiHost = nodeAddresses(ranges[0]!).hostEnd;
    this.#apiProxy = await startApiProxy(this.#apiHost, this.#opts.apiServer.port);
    await this.#net.routeServices(this.#nodeNames[0]!, this.#opts.plan);
    if (this.#opts.kubeProxy) await this.#startDataPath(this.#opts.kubeProxy);
    await mkdir(SERVICE_ACCOUNT_DIR, { recursive: true });
    const informer = makeInformer<V1Pod>(this.#opts.kubeconfig, '/api/v1/pods', () =>
      this.#core.listPodForAllNamespaces(),
    );
    const key = (pod: V1Pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    /** Queues the pod unless nothing the simulator reads changed since it was last queued. */
    const enqueue = (pod: V1Pod) => {
      const fields = simulatedFields(pod);
      if (this.#seen.get(key(pod)) === fields) return;
      this.#seen.set(key(pod), fields);
      this.#enqueue(key(pod));
    };
    informer.on('add', enqueue);
    // An update that changes nothing the simulator reads (another controller's annotations, e.g.
    // sockeye's status on 20,000 pods) needs no work: a kubelet ignores those too.
    informer.on('update', enqueue);
    informer.on('delete', (pod) => {
      this.#seen.delete(key(pod));
      this.#enqueue(key(pod));
    });
    informer.on('error', (err: unknown) => {
      if (this.#stopped) return;
      this.#opts.log(`pod watch failed (${String(err)}); restarting in 1 s`);
      setTimeout(() => void informer.start().catch(() => undefined), 1000);
    });
    this.#informer = informer;
    await informer.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#informer?.stop().catch(() => undefined);
    await this.#loadBalancer?.stop();
    await Promise.all(this.#kubeProxies.map(stopChild));
    this.#apiProxy?.close();
    await this.#net.teardown();
  }

  /** kube-proxy in every node's namespace (healthy before we return), then the load-balancer stand-in. */
  async #startDataPath(kubeProxy: NonNullable<SimulatorOptions['kubeProxy']>): Promise<void> {
    const dir = join(this.#opts.stateDir, 'kube-proxy');
    await mkdir(dir, { recursive: true });
    const nodes: KubeProxyNode[] = this.#nodeNames.map((name) => ({ name, ...this.#net.node(name)! }));
    const started = await Promise.all(
      nodes.map(async (node) => {
        const kubeconfig = kubeProxyKubeconfig(dir, node.netns);
        await copyFile(kubeProxy.kubeconfig, kubeconfig);
        const child = startKubeProxy(node, {
          binary: kubeProxy.binary,
          kubeconfig,
          clusterCidrs: [this.#opts.cidr.text, ipv6TwinCidr(this.#opts.cidr)],
          logDir: this.#opts.stateDir,
        });
        this.#kubeProxies.push(child);
        return [node, child] as const;
      }),
    );
    await Promise.all(started.map(([node, child]) => waitKubeProxyHealthy(node, child)));
    const { lb } = this.#opts.plan;
    this.#loadBalancer = new LoadBalancerController({
      kubeconfig: this.#opts.kubeconfig,
      core: this.#core,
      netns: await this.#net.addLoadBalancer(lb),
      pool: { cidr: lb.pool.text, first: lb.first, last: lb.last },
      nodes: () => nodes.map((n) => n.ip),
      log: this.#opts.log,
    });
    await this.#loadBalancer.start();
  }

  /** Keys are `namespace/name`; a key already queued or in flight is worked once more, not twice at once. */
  #enqueue(key: string): void {
    this.#dirty.add(key);
    this.#pump();
  }

  #pump(): void {
    const limit = this.#opts.concurrency ?? 48;
    for (const key of this.#dirty) {
      if (this.#active >= limit) return;
      if (this.#running.has(key)) continue;
      this.#dirty.delete(key);
      this.#running.add(key);
      this.#active++;
      this.#reconcile(key)
        .catch((err: Error) => {
          this.#opts.log(`pod ${key}: ${err.message}; retrying in 1 s`);
          setTimeout(() => this.#enqueue(key), 1000);
        })
        .finally(() => {
          this.#running.delete(key);
          this.#active--;
          this.#pump();
        });
    }
  }

  async #reconcile(key: string): Promise<void> {
    if (this.#stopped) return;
    const [namespace = '', name = ''] = key.split('/');
    const pod = this.#informer?.get(name, namespace);
    if (!pod) {
      await this.#release(key);
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) {
      await this.#bind(pod, namespace, name);
      return;
    }
    if (!this.#pools.has(nodeName) || pod.spec?.hostNetwork) return;
    if (pod.metadata?.deletionTimestamp) {
      await this.#terminate(pod, key, namespace, name);
      return;
    }
    const behaviour = parseBehaviour(pod.metadata?.annotations);
    for (const problem of behaviour.problems) this.#opts.log(`pod ${key}: ${problem}`);
    const runnable = runnableContainers(pod, this.#opts.run);
    const pool = this.#pools.get(nodeName)!;
    const range = this.#net.nodeRange(nodeName)!;
    let ip = this.#net.podIP(key);
    if (ip === undefined) {
      const previous = pod.status?.podIP;
      ip = pool.allocate(previous !== undefined && contains(range, previous) ? previous : undefined);
    }
    const hostIP = nodeAddresses(range).nodeEnd;
    // A pod that runs a process needs its own namespace: its loopback and ports are its own.
    await this.#net.attach(
      key,
      nodeName,
      ip,
      behaviour.privateNetns || runnable.length > 0,
      behaviour.dualStack,
    );
    await this.#net.setListeners(key, behaviour.listeners);
    await this.#net.setNetworkDown(key, behaviour.networkDown);
    let ready = behaviour.ready;
    if (runnable.length > 0) {
      await this.#startContainers(pod, key, runnable, this.#net.podIPs(key), hostIP);
      const probes = readinessProbes(runnable);
      if (probes.length > 0) {
        // Like a kubelet: keep probing, and report what the probes say.
        ready &&= (await Promise.all(probes.map((p) => httpOk(ip!, p.port, p.path)))).every(Boolean);
        setTimeout(() => this.#enqueue(key), 2000).unref();
      }
    }
    const exits = this.#exits.get(`${key}/${pod.metadata?.uid}`);
    const wanted = runningStatus(pod, this.#net.podIPs(key), hostIP, ready, new Date(), exits);
    if (statusDiffers(pod.status, wanted)) {
      await this.#core.patchNamespacedPodStatus(
        { name, namespace, body: { status: wanted } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
  }

  /** Starts the pod's runnable containers once per pod UID, with a token mounted where a kubelet puts it. */
  async #startContainers(
    pod: V1Pod,
    key: string,
    containers: ReturnType<typeof runnableContainers>,
    podIPs: readonly string[],
    hostIP: string,
  ): Promise<void> {
    const startedKey = `${key}/${pod.metadata?.uid}`;
    if (this.#started.has(startedKey)) return;
    const [namespace = '', name = ''] = key.split('/');
    const podDir = join(this.#opts.stateDir, 'pods', `${namespace}_${name}`);
    const tokenDir = join(podDir, 'serviceaccount');
    await mkdir(tokenDir, { recursive: true });
    let mount: string[] = [];
    if (mountsToken(pod)) {
      const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
      const token = await this.#core.createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace,
        // Not bound to the pod: with the ServiceAccount admission plugin off, spec.serviceAccountName
        // may be unset, and the API server refuses to bind a token across that difference.
        body: { spec: { audiences: [], expirationSeconds: 3600 } },
      });
      await writeFile(join(tokenDir, 'token'), token.status?.token ?? '');
      await writeFile(join(tokenDir, 'namespace'), namespace);
      await writeFile(join(tokenDir, 'ca.crt'), await readFile(this.#opts.apiServer.caFile));
      // A private mount namespace per container, so each sees its own pod's token at the standard path.
      mount = [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        `mount --bind "$0" ${SERVICE_ACCOUNT_DIR} && exec "$@"`,
        tokenDir,
      ];
    }
    const services =
      pod.spec?.enableServiceLinks === false
        ? []
        : (await this.#core.listNamespacedService({ namespace })).items;
    // Marked started before its processes run, so that one exiting at once is reported; a failed
    // start is retried whole.
    this.#started.add(startedKey);
    try {
      await this.#execContainers(pod, key, containers, { podIPs, hostIP, services, mount, podDir });
    } catch (err) {
      this.#started.delete(startedKey);
      throw err;
    }
  }

  async #execContainers(
    pod: V1Pod,
    key: string,
    containers: ReturnType<typeof runnableContainers>,
    on: {
      podIPs: readonly string[];
      hostIP: string;
      services: readonly V1Service[];
      mount: readonly string[];
      podDir: string;
    },
  ): Promise<void> {
    const { podIPs, hostIP, services, mount, podDir } = on;
    for (const container of containers) {
      const env = {
        ...serviceLinkEnv(services),
        ...containerEnv(container, pod, { podIPs, hostIP }),
        KUBERNETES_SERVICE_HOST: this.#apiHost,
        KUBERNETES_SERVICE_PORT: String(API_PROXY_PORT),
      };
      const argv = [...mount, ...containerArgv(container, this.#opts.run)];
      const uid = pod.metadata?.uid ?? '';
      await this.#net.exec(
        key,
        { uid, name: container.name },
        argv,
        env,
        join(podDir, `${container.name}.log`),
      );
      this.#opts.log(`pod ${key}: started container ${container.name}: ${argv.join(' ')}`);
    }
  }

  async #bind(pod: V1Pod, namespace: string, name: string): Promise<void> {
    const node = this.#nodeNames[this.#nextNode++ % this.#nodeNames.length]!;
    try {
      await this.#core.createNamespacedPodBinding({
        name,
        namespace,
        body: { metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: node } },
      });
    } catch (err) {
      // 409: bound meanwhile (the update event brings it back); 404: deleted meanwhile.
      const code = (err as { code?: number }).code;
      if (code !== 409 && code !== 404) throw err;
    }
    void pod;
  }

  /** Without a kubelet a deleted pod stays Terminating; we play the kubelet that stops it. */
  async #terminate(pod: V1Pod, key: string, namespace: string, name: string): Promise<void> {
    if (this.#deleting.has(key)) return;
    this.#deleting.add(key);
    const delay = parseBehaviour(pod.metadata?.annotations).terminateDelayMs;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    await this.#release(key);
    try {
      await this.#core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    } finally {
      this.#deleting.delete(key);
    }
  }

  async #release(key: string): Promise<void> {
    for (const started of [...this.#started]) {
      if (!started.startsWith(`${key}/`)) continue;
      this.#started.delete(started);
      this.#exits.delete(started);
    }
    const ip = this.#net.podIP(key);
    if (ip === undefined) return;
    await this.#net.detach(key);
    for (const pool of this.#pools.values()) pool.release(ip);
  }

  async #ensureNode(name: string, range: Cidr): Promise<void> {
    const { nodeEnd } = nodeAddresses(range);
    const node: V1Node = {
      metadata: { name, labels: { [NODE_LABEL]: 'true', 'kubernetes.io/hostname': name } },
      spec: { podCIDR: range.text, podCIDRs: [range.text] },
    };
    try {
      await this.#core.createNode({ body: node });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
    const now = new Date();
    await this.#core.patchNodeStatus(
      {
        name,
        body: {
          status: {
            addresses: [
              { type: 'InternalIP', address: nodeEnd },
              { type: 'Hostname', address: name },
            ],
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'SimulatedKubelet',
                message: 'simulated by sockeye',
                lastHeartbeatTime: now,
                lastTransitionTime: now,
              },
            ],
            capacity: { cpu: '64', memory: '256Gi', pods: '30000' },
            allocatable: { cpu: '64', memory: '256Gi', pods: '30000' },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

/** What the simulator reads of a pod: its identity, deletion, `sim.sockeye.dev/*` annotations, spec and status. */
function simulatedFields(pod: V1Pod): string {
  const annotations = Object.entries(pod.metadata?.annotations ?? {}).filter(([k]) =>
    k.startsWith('sim.sockeye.dev/'),
  );
  return JSON.stringify([
    pod.metadata?.uid,
    pod.metadata?.deletionTimestamp,
    annotations,
    pod.spec,
    pod.status,
  ]);
}

/** A plain TCP relay from a host address pods can reach to the loopback-only API server. */
function startApiProxy(host: string, apiPort: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((client) => {
      const upstream = tcpConnect({ host: '127.0.0.1', port: apiPort });
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
    });
    server.once('error', reject);
    server.listen(API_PROXY_PORT, host, () => resolve(server));
  });
}

/** SIGTERM to a child we started, resolved when it has exited. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill();
  return exited;
}

/** A kubelet-style httpGet probe: any 2xx/3xx within a second is success. */
async function httpOk(ip: string, port: number, path: string): Promise<boolean> {
  const status = await httpStatus(ip, port, path);
  return status >= 200 && status < 400;
}

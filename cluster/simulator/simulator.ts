import {
  CoreV1Api,
  type KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { AddressPool, type Cidr, contains, nodeAddresses, splitCidr } from '../addresses.ts';
import { parseBehaviour } from './behaviour.ts';
import { SimNetwork } from './network.ts';
import { runningStatus, statusDiffers } from './pod-status.ts';

export interface SimulatorOptions {
  readonly id: string;
  readonly cidr: Cidr;
  readonly nodes: number;
  readonly kubeconfig: KubeConfig;
  readonly log: (msg: string) => void;
  /** Workers reconciling pods at once; writes to the API are the bound at scale. */
  readonly concurrency?: number;
}

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
  #informer?: ReturnType<typeof makeInformer<V1Pod>>;
  #active = 0;
  #nextNode = 0;
  #stopped = false;

  constructor(opts: SimulatorOptions) {
    this.#opts = opts;
    this.#core = opts.kubeconfig.makeApiClient(CoreV1Api);
    this.#net = new SimNetwork(opts.id);
  }

  async start(): Promise<void> {
    const ranges = splitCidr(this.#opts.cidr, this.#opts.nodes);
    for (const [i, range] of ranges.entries()) {
      const name = `sim-node-${i}`;
      await this.#net.addNode(i, name, range);
      this.#pools.set(name, new AddressPool(range));
      this.#nodeNames.push(name);
      await this.#ensureNode(name, range);
    }
    const informer = makeInformer<V1Pod>(this.#opts.kubeconfig, '/api/v1/pods', () =>
      this.#core.listPodForAllNamespaces(),
    );
    const enqueue = (pod: V1Pod) => this.#enqueue(`${pod.metadata?.namespace}/${pod.metadata?.name}`);
    informer.on('add', enqueue);
    informer.on('update', enqueue);
    informer.on('delete', enqueue);
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
    await this.#net.teardown();
  }

  /** Keys are `namespace/name`; a key already queued or in flight is worked once more, not twice at once. */
  #enqueue(key: string): void {
    this.#dirty.add(key);
    this.#pump();
  }

  #pump(): void {
    const limit = this.#opts.concurrency ?? 16;
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
    const pool = this.#pools.get(nodeName)!;
    const range = this.#net.nodeRange(nodeName)!;
    let ip = this.#net.podIP(key);
    if (ip === undefined) {
      const previous = pod.status?.podIP;
      ip = pool.allocate(previous !== undefined && contains(range, previous) ? previous : undefined);
    }
    await this.#net.attach(key, nodeName, ip, behaviour.privateNetns);
    await this.#net.setListeners(key, behaviour.listeners);
    await this.#net.setNetworkDown(key, behaviour.networkDown);
    const wanted = runningStatus(pod, ip, nodeAddresses(range).nodeEnd, behaviour.ready, new Date());
    if (statusDiffers(pod.status, wanted)) {
      await this.#core.patchNamespacedPodStatus(
        { name, namespace, body: { status: wanted } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
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

/**
 * The local cluster's stand-in for a cloud load balancer (what cloud-provider-kind or MetalLB are for
 * kind): every `type: LoadBalancer` Service gets an ingress address from the cluster's pool, and the
 * `lb` namespace forwards that address's Service ports to the NodePorts of the nodes in rotation,
 * round robin. A node is in rotation while its health check answers 200, as a cloud load balancer
 * checks it: kube-proxy's `healthCheckNodePort` for `externalTrafficPolicy: Local` (200 only where
 * the Service has a local endpoint), kube-proxy's `/healthz` otherwise. The annotation
 * `sim.sockeye.dev/lb-health-checks: "ignore"` keeps every node in rotation, as load balancers
 * without health checks do. A Service port with no node in rotation drops its SYNs (clients time
 * out); any other port of the pool refuses.
 */
import {
  type CoreV1Api,
  type KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Service,
} from '@kubernetes/client-node';
import { intToIp, ipToInt } from '../addresses.ts';
import { httpStatus, KUBE_PROXY_HEALTH_PORT } from './kube-proxy.ts';
import { LB_TABLE, nft } from './network.ts';

export const LB_HEALTH_CHECKS_ANNOTATION = 'sim.sockeye.dev/lb-health-checks';

export interface HealthCheck {
  readonly port: number;
  readonly path: string;
}

/** What the stand-in reads of one LoadBalancer Service. */
export interface LbService {
  readonly key: string;
  readonly ports: readonly { readonly port: number; readonly nodePort: number }[];
  /** `undefined`: health checks ignored, every node in rotation. */
  readonly healthCheck: HealthCheck | undefined;
}

/** The Services this stand-in serves: `type: LoadBalancer` without a `loadBalancerClass` (another implementation's). */
export function lbServiceOf(svc: V1Service): LbService | undefined {
  const spec = svc.spec;
  if (spec?.type !== 'LoadBalancer' || spec.loadBalancerClass) return undefined;
  const ignore = svc.metadata?.annotations?.[LB_HEALTH_CHECKS_ANNOTATION] === 'ignore';
  const local = spec.externalTrafficPolicy === 'Local' && spec.healthCheckNodePort !== undefined;
  return {
    key: `${svc.metadata?.namespace}/${svc.metadata?.name}`,
    ports: (spec.ports ?? [])
      .filter((p) => (p.protocol ?? 'TCP') === 'TCP' && p.nodePort !== undefined)
      .map((p) => ({ port: p.port, nodePort: p.nodePort! })),
    healthCheck: ignore
      ? undefined
      : local
        ? { port: spec.healthCheckNodePort!, path: '/' }
        : { port: KUBE_PROXY_HEALTH_PORT, path: '/healthz' },
  };
}

export interface LbTarget {
  readonly ip: string;
  readonly ports: LbService['ports'];
  /** InternalIPs of the nodes in rotation. */
  readonly nodes: readonly string[];
}

/** The `lb` namespace's whole ruleset for `targets`, replaced in one nft transaction. */
export function lbRuleset(pool: string, targets: readonly LbTarget[]): string {
  const dnat: string[] = [];
  const silent: string[] = [];
  for (const t of targets) {
    for (const p of t.ports) {
      const match = `ip daddr ${t.ip} tcp dport ${p.port}`;
      if (t.nodes.length === 0) silent.push(`    ${match} drop`);
      else
        dnat.push(
          `    ${match} dnat ip to numgen inc mod ${t.nodes.length} map { ${t.nodes
            .map((n, i) => `${i} : ${n} . ${p.nodePort}`)
            .join(', ')} }`,
        );
    }
  }
  return [
    `table ip ${LB_TABLE}`,
    `delete table ip ${LB_TABLE}`,
    `table ip ${LB_TABLE} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...dnat,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    // Replies must come back through here to be translated back.
    '    ct status dnat masquerade',
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    // Forwarded connections both ways (the host end of the link is inside the pool too).
    '    ct status dnat accept',
    ...silent,
    `    ip daddr ${pool} ip protocol tcp reject with tcp reset`,
    `    ip daddr ${pool} drop`,
    '  }',
    '}',
  ].join('\n');
}

/** Hands out pool addresses, keeping the one a Service already has (a restarted controller changes nothing). */
export class IngressPool {
  readonly #first: number;
  readonly #last: number;
  readonly #byKey = new Map<string, string>();

  constructor(first: number, last: number) {
    this.#first = first;
    this.#last = last;
  }

  ipOf(key: string, current?: string): string {
    const held = this.#byKey.get(key);
    if (held !== undefined) return held;
    const taken = new Set(this.#byKey.values());
    const n = current === undefined ? Number.NaN : ipToInt(current);
    let ip = n >= this.#first && n <= this.#last && !taken.has(current!) ? current : undefined;
    for (let i = this.#first; ip === undefined && i <= this.#last; i++) {
      if (!taken.has(intToIp(i))) ip = intToIp(i);
    }
    if (ip === undefined) throw new Error('load-balancer pool exhausted');
    this.#byKey.set(key, ip);
    return ip;
  }

  /** Frees the addresses of every key not in `keys` (Services deleted, or no longer LoadBalancers). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of [...this.#byKey.keys()]) if (!keys.has(key)) this.#byKey.delete(key);
  }
}

export interface LoadBalancerOptions {
  readonly kubeconfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly netns: string;
  readonly pool: { readonly cidr: string; readonly first: number; readonly last: number };
  /** InternalIPs of the simulated nodes. */
  readonly nodes: () => readonly string[];
  readonly log: (msg: string) => void;
  readonly checkEveryMs?: number;
}

/** The stand-in's I/O: a Service informer, health checks of every node, status writes and the nft ruleset. */
export class LoadBalancerController {
  readonly #opts: LoadBalancerOptions;
  readonly #pool: IngressPool;
  /** `ip:port/path` → the last check's answer was 200. */
  readonly #health = new Map<string, boolean>();
  #informer?: ReturnType<typeof makeInformer<V1Service>>;
  #timer?: NodeJS.Timeout;
  #applied = '';
  #syncing = false;
  #again = false;
  #stopped = false;

  constructor(opts: LoadBalancerOptions) {
    this.#opts = opts;
    this.#pool = new IngressPool(opts.pool.first, opts.pool.last);
  }

  async start(): Promise<void> {
    const informer = makeInformer<V1Service>(this.#opts.kubeconfig, '/api/v1/services', () =>
      this.#opts.core.listServiceForAllNamespaces(),
    );
    for (const event of ['add', 'update'] as const) informer.on(event, () => this.#sync());
    informer.on('delete', () => this.#sync());
    informer.on('error', (err: unknown) => {
      if (this.#stopped) return;
      this.#opts.log(`load balancer: service watch failed (${String(err)}); restarting in 1 s`);
      setTimeout(() => void informer.start().catch(() => undefined), 1000);
    });
    this.#informer = informer;
    await informer.start();
    const tick = async () => {
      if (this.#stopped) return;
      if (await this.#checkHealth()) this.#sync();
      this.#timer = setTimeout(() => void tick(), this.#opts.checkEveryMs ?? 1000);
    };
    await tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#informer?.stop().catch(() => undefined);
  }

  #services(): LbService[] {
    return (this.#informer?.list() ?? []).flatMap((s) => lbServiceOf(s) ?? []);
  }

  /** Checks every node on every health check a Service needs; says whether any answer changed. */
  async #checkHealth(): Promise<boolean> {
    const checks = new Map<string, HealthCheck>();
    for (const svc of this.#services())
      if (svc.healthCheck) checks.set(checkId(svc.healthCheck), svc.healthCheck);
    const results = await Promise.all(
      this.#opts.nodes().flatMap((ip) =>
        [...checks.values()].map(async (c) => {
          const id = `${ip}:${checkId(c)}`;
          const ok = (await httpStatus(ip, c.port, c.path)) === 200;
          const changed = this.#health.get(id) !== ok;
          this.#health.set(id, ok);
          return changed;
        }),
      ),
    );
    return results.some(Boolean);
  }

  /** Level-based: one sync at a time re-reads every Service; events meanwhile run it once more. */
  #sync(): void {
    if (this.#syncing) {
      this.#again = true;
      return;
    }
    this.#syncing = true;
    void this.#syncOnce()
      .catch((err: Error) => {
        this.#opts.log(`load balancer: ${err.message}; retrying in 1 s`);
        setTimeout(() => this.#sync(), 1000).unref();
      })
      .finally(() => {
        this.#syncing = false;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.#sync();
        }
      });
  }

  async #syncOnce(): Promise<void> {
    if (this.#stopped) return;
    const targets: LbTarget[] = [];
    const services = (this.#informer?.list() ?? []).flatMap((svc) => {
      const lb = lbServiceOf(svc);
      return lb ? [{ svc, lb }] : [];
    });
    this.#pool.retain(new Set(services.map((s) => s.lb.key)));
    for (const { svc, lb } of services) {
      const current = svc.status?.loadBalancer?.ingress?.[0]?.ip;
      const ip = this.#pool.ipOf(lb.key, current);
      if (current !== ip || svc.status?.loadBalancer?.ingress?.length !== 1) {
        // ipMode Proxy: kube-proxy then leaves traffic to this address alone, so a pod's connection
        // goes through the load balancer (and its health checks) as from outside the cluster.
        await this.#opts.core.patchNamespacedServiceStatus(
          {
            name: svc.metadata?.name ?? '',
            namespace: svc.metadata?.namespace ?? '',
            body: { status: { loadBalancer: { ingress: [{ ip, ipMode: 'Proxy' }] } } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }
      const check = lb.healthCheck;
      const nodes = this.#opts
        .nodes()
        .filter((n) => check === undefined || this.#health.get(`${n}:${checkId(check)}`) === true);
      targets.push({ ip, ports: lb.ports, nodes });
    }
    targets.sort((a, b) => ipToInt(a.ip) - ipToInt(b.ip));
    const ruleset = lbRuleset(this.#opts.pool.cidr, targets);
    if (ruleset === this.#applied) return;
    await nft(this.#opts.netns, [ruleset]);
    this.#applied = ruleset;
  }
}

function checkId(c: HealthCheck): string {
  return `${c.port}${c.path}`;
}

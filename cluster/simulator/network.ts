import { readdir, readFile, writeFile } from 'node:fs/promises';
import {
  type Cidr,
  type ClusterAddressPlan,
  clusterAddressPlan,
  intToIp,
  ipv6Twin,
  ipv6TwinCidr,
  nodeAddresses,
  parseCidr,
} from '../addresses.ts';
import { run, tryRun } from '../exec.ts';
import { AgentClient, type ContainerExit } from './agent-client.ts';
import { bindAddresses, type Listener } from './behaviour.ts';
import { IpRunner } from './ip-runner.ts';

/**
 * The simulated pod network, in network namespaces on this machine:
 * - one namespace per simulated Node, joined to the host by a veth pair; its pods' addresses sit on
 *   the node end, and the host routes the node's range via that end (one neighbour entry per node,
 *   so 20,000 pods do not overflow the host's neighbour table);
 * - a private namespace for a pod whose loopback must differ from its pod IP (or that runs a
 *   command), joined to the host by its own veth and a /32 route;
 * - an nft table per namespace that drops SYNs to `drop` listeners (clients time out);
 * - an `unreachable` host route for a pod whose network is down (clients get EHOSTUNREACH);
 * - the Service ranges routed from the host into node 0's namespace, where its kube-proxy forwards;
 * - one `lb` namespace for the load-balancer stand-in, its pool routed into it from the host.
 * Every name carries the cluster id, so clean-up finds exactly what this cluster made.
 */
export interface NetworkNames {
  readonly netnsPrefix: string;
  readonly linkPrefix: string;
}

export function networkNames(id: string): NetworkNames {
  return { netnsPrefix: `sockeye-${id}-`, linkPrefix: `sk${id}` };
}

interface NodeNet {
  readonly name: string;
  readonly netns: string;
  readonly range: Cidr;
  readonly hostEnd: string;
  readonly agent: AgentClient;
}

interface PodNet {
  readonly key: string;
  readonly node: NodeNet;
  readonly ip: string;
  /** The pod's IPv6 twin when it is dual-stack. */
  readonly ip6?: string;
  readonly netns: string;
  /** Set for a pod in its own namespace: its agent and host link. */
  readonly own?: { agent: AgentClient; link: string };
  /** nft set elements (`IP . PORT`) that drop SYNs. */
  drops: Set<string>;
  down: boolean;
  listeners: readonly Listener[];
}

const NFT_TABLE = 'sockeye_sim';
/** The load-balancer stand-in's table, in its namespace (load-balancer.ts writes it). */
export const LB_TABLE = 'sockeye_lb';

export class SimNetwork {
  readonly #names: NetworkNames;
  readonly #nodes = new Map<string, NodeNet>();
  readonly #pods = new Map<string, PodNet>();
  #privateCount = 0;

  readonly #onExit: (exit: ContainerExit) => void;

  /** `onExit` hears of every process a pod's agent started that has exited. */
  constructor(id: string, onExit: (exit: ContainerExit) => void = () => undefined) {
    this.#names = networkNames(id);
    this.#onExit = onExit;
  }

  async addNode(index: number, name: string, range: Cidr, plan: ClusterAddressPlan): Promise<void> {
    const netns = `${this.#names.netnsPrefix}n${index}`;
    const link = `${this.#names.linkPrefix}n${index}`;
    const { hostEnd, nodeEnd } = nodeAddresses(range);
    await run('ip', ['netns', 'add', netns]);
    await run('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    const [hostEnd6, nodeEnd6] = [ipv6Twin(hostEnd), ipv6Twin(nodeEnd)];
    // IPv6 twins alongside (for dual-stack pods); nodad: duplicate address detection would hold
    // the addresses back for seconds, and nothing else can own them.
    await ipBatch(null, [
      `addr add ${hostEnd}/32 dev ${link}`,
      `addr add ${hostEnd6}/128 dev ${link} nodad`,
      `link set ${link} up`,
      `route add ${nodeEnd}/32 dev ${link} src ${hostEnd}`,
      `route add ${range.text} via ${nodeEnd} dev ${link} src ${hostEnd}`,
      `route add ${nodeEnd6}/128 dev ${link}`,
      `route add ${ipv6TwinCidr(range)} via ${nodeEnd6} dev ${link}`,
    ]);
    await forwardIPv6From(link);
    await ipBatch(netns, [
      'link set lo up',
      'link set eth0 up',
      `addr add ${nodeEnd}/32 dev eth0`,
      `addr add ${nodeEnd6}/128 dev eth0 nodad`,
      `route add ${hostEnd}/32 dev eth0`,
      `route add default via ${hostEnd} dev eth0`,
      `route add ${hostEnd6}/128 dev eth0`,
      `route add default via ${hostEnd6} dev eth0`,
    ]);
    // The node's own connections to a ClusterIP go to a gateway that never answers unless its
    // kube-proxy translates them first (its nat output hook reroutes them), as on a real node: a
    // node without Service rules times out instead of borrowing node 0's through the host.
    await ipBatch(netns, [
      `route add ${plan.services.text} via ${intToIp(range.base)} dev eth0 onlink`,
      `route add ${plan.services6} via ${ipv6Twin(intToIp(range.base))} dev eth0 onlink`,
    ]);
    // kube-proxy forwards to pods on other nodes (and the lb namespace to nodes): a node routes.
    await forward(netns);
    await nftSetup(netns);
    this.#nodes.set(name, { name, netns, range, hostEnd, agent: new AgentClient(netns) });
  }

  /** The node's namespace and InternalIP (the node end of its link). */
  node(name: string): { netns: string; ip: string } | undefined {
    const node = this.#nodes.get(name);
    return node && { netns: node.netns, ip: nodeAddresses(node.range).nodeEnd };
  }

  /**
   * Routes the Service ranges from the host into `via`'s namespace: a connection from the host (or a
   * pod in a namespace of its own, which routes through the host) to a ClusterIP is forwarded by
   * that node's kube-proxy, as a real node forwards its own traffic.
   */
  async routeServices(via: string, plan: ClusterAddressPlan): Promise<void> {
    const node = this.#nodes.get(via);
    if (!node) throw new Error(`node ${via} is not simulated here`);
    const { nodeEnd } = nodeAddresses(node.range);
    const link = this.#linkOf(node);
    await ipBatch(null, [
      `route add ${plan.services.text} via ${nodeEnd} dev ${link} src ${node.hostEnd}`,
      `route add ${plan.services6} via ${ipv6Twin(nodeEnd)} dev ${link}`,
    ]);
  }

  #linkOf(node: NodeNet): string {
    return `${this.#names.linkPrefix}${node.netns.slice(this.#names.netnsPrefix.length)}`;
  }

  /** The load-balancer stand-in's namespace: its pool is routed into it; it forwards to NodePorts. */
  async addLoadBalancer(lb: ClusterAddressPlan['lb']): Promise<string> {
    const netns = `${this.#names.netnsPrefix}lb`;
    const link = `${this.#names.linkPrefix}lb`;
    await run('ip', ['netns', 'add', netns]);
    await run('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await ipBatch(null, [
      `addr add ${lb.hostEnd}/32 dev ${link}`,
      `link set ${link} up`,
      `route add ${lb.lbEnd}/32 dev ${link} src ${lb.hostEnd}`,
      `route add ${lb.pool.text} via ${lb.lbEnd} dev ${link} src ${lb.hostEnd}`,
    ]);
    await ipBatch(netns, [
      'link set lo up',
      'link set eth0 up',
      `addr add ${lb.lbEnd}/32 dev eth0`,
      `route add ${lb.hostEnd}/32 dev eth0`,
      `route add default via ${lb.hostEnd} dev eth0`,
    ]);
    await forward(netns);
    return netns;
  }

  nodeNames(): string[] {
    return [...this.#nodes.keys()];
  }

  nodeRange(name: string): Cidr | undefined {
    return this.#nodes.get(name)?.range;
  }

  podIP(key: string): string | undefined {
    return this.#pods.get(key)?.ip;
  }

  podIPs(key: string): string[] {
    const pod = this.#pods.get(key);
    return pod ? [pod.ip, ...(pod.ip6 ? [pod.ip6] : [])] : [];
  }

  isPrivate(key: string): boolean | undefined {
    const pod = this.#pods.get(key);
    return pod === undefined ? undefined : pod.own !== undefined;
  }

  /** Gives a pod its address (and its IPv6 twin when dual-stack) on `node`, in the node's namespace or its own. */
  async attach(
    key: string,
    nodeName: string,
    ip: string,
    privateNetns: boolean,
    dualStack = false,
  ): Promise<void> {
    const node = this.#nodes.get(nodeName);
    if (!node) throw new Error(`node ${nodeName} is not simulated here`);
    const existing = this.#pods.get(key);
    const ip6 = dualStack ? ipv6Twin(ip) : undefined;
    if (
      existing &&
      existing.ip === ip &&
      existing.ip6 === ip6 &&
      (existing.own !== undefined) === privateNetns
    )
      return;
    if (existing) await this.detach(key);
    const base = {
      key,
      node,
      ip,
      ...(ip6 ? { ip6 } : {}),
      drops: new Set<string>(),
      down: false,
      listeners: [],
    };
    if (!privateNetns) {
      await ipBatch(node.netns, [
        `addr replace ${ip}/32 dev eth0`,
        ...(ip6 ? [`addr replace ${ip6}/128 dev eth0 nodad`] : []),
      ]);
      this.#pods.set(key, { ...base, netns: node.netns });
      return;
    }
    const n = ++this.#privateCount;
    const netns = `${this.#names.netnsPrefix}p${n}`;
    const link = `${this.#names.linkPrefix}p${n}`;
    const hostEnd6 = ipv6Twin(node.hostEnd);
    await run('ip', ['netns', 'add', netns]);
    await run('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await ipBatch(null, [
      `link set ${link} up`,
      `route replace ${ip}/32 dev ${link} src ${node.hostEnd}`,
      ...(ip6 ? [`route replace ${ip6}/128 dev ${link}`] : []),
    ]);
    if (ip6) await forwardIPv6From(link);
    await ipBatch(netns, [
      'link set lo up',
      'link set eth0 up',
      `addr add ${ip}/32 dev eth0`,
      `route add ${node.hostEnd}/32 dev eth0`,
      `route add default via ${node.hostEnd} dev eth0`,
      ...(ip6
        ? [
            `addr add ${ip6}/128 dev eth0 nodad`,
            `route add ${hostEnd6}/128 dev eth0`,
            `route add default via ${hostEnd6} dev eth0`,
          ]
        : []),
    ]);
    await nftSetup(netns);
    const own = { agent: new AgentClient(netns, this.#onExit), link };
    this.#pods.set(key, { ...base, netns, own });
  }

  async detach(key: string): Promise<void> {
    const pod = this.#pods.get(key);
    if (!pod) return;
    this.#pods.delete(key);
    if (pod.down) {
      for (const ip of this.podIPsOf(pod)) await tryRun('ip', ['route', 'del', 'unreachable', hostRoute(ip)]);
    }
    if (pod.own) {
      await pod.own.agent.close();
      await tryRun('ip', ['netns', 'del', pod.netns]);
      await tryRun('ip', ['link', 'del', pod.own.link]);
      return;
    }
    await pod.node.agent.request({ op: 'set', key, listeners: [] });
    if (pod.drops.size > 0)
      await nft(
        pod.netns,
        [...pod.drops].map((d) => dropCommand('delete', d)),
      );
    await ipBatch(
      pod.netns,
      this.podIPsOf(pod).map((ip) => `addr del ${hostRoute(ip)} dev eth0`),
    );
  }

  /** Makes the pod's sockets behave as `listeners` say; ports not listed refuse. */
  async setListeners(key: string, listeners: readonly Listener[]): Promise<void> {
    const pod = this.#pods.get(key);
    if (!pod) throw new Error(`pod ${key} has no network`);
    const agent = pod.own?.agent ?? pod.node.agent;
    const specs = listeners
      .filter((l) => l.mode !== 'drop')
      .flatMap((l) =>
        bindAddresses(l, this.podIPsOf(pod), pod.own !== undefined).map((host) => ({
          host,
          port: l.port,
          mode: l.mode,
        })),
      );
    await agent.request({ op: 'set', key, listeners: specs });
    const drops = new Set(
      listeners
        .filter((l) => l.mode === 'drop')
        .flatMap((l) => this.podIPsOf(pod).map((ip) => dropElement(ip, l.port))),
    );
    const commands = [
      ...[...pod.drops].filter((d) => !drops.has(d)).map((d) => dropCommand('delete', d)),
      ...[...drops].filter((d) => !pod.drops.has(d)).map((d) => dropCommand('add', d)),
    ];
    if (commands.length > 0) await nft(pod.netns, commands);
    pod.drops = drops;
    pod.listeners = listeners;
  }

  /** A pod whose network is down answers nothing: the host has an `unreachable` route to it. */
  async setNetworkDown(key: string, down: boolean): Promise<void> {
    const pod = this.#pods.get(key);
    if (!pod || pod.down === down) return;
    for (const ip of this.podIPsOf(pod)) {
      const src = ip.includes(':') ? [] : ['src', pod.node.hostEnd];
      if (down) await run('ip', ['route', 'replace', 'unreachable', hostRoute(ip)]);
      else if (pod.own) await run('ip', ['route', 'replace', hostRoute(ip), 'dev', pod.own.link, ...src]);
      else await run('ip', ['route', 'del', 'unreachable', hostRoute(ip)]);
    }
    pod.down = down;
  }

  podIPsOf(pod: PodNet): string[] {
    return [pod.ip, ...(pod.ip6 ? [pod.ip6] : [])];
  }

  /** Starts a command inside the pod's own namespace (the pod must have a private namespace). */
  async exec(
    key: string,
    container: { readonly uid: string; readonly name: string },
    command: readonly string[],
    env: Record<string, string>,
    log: string,
  ): Promise<void> {
    const pod = this.#pods.get(key);
    if (!pod?.own) throw new Error(`pod ${key} has no namespace of its own to run a command in`);
    await pod.own.agent.request({
      op: 'exec',
      key,
      uid: container.uid,
      container: container.name,
      command,
      env,
      log,
    });
  }

  async teardown(): Promise<void> {
    for (const pod of this.#pods.values()) await pod.own?.agent.close();
    for (const node of this.#nodes.values()) await node.agent.close();
    closeIpRunner();
    this.#pods.clear();
    this.#nodes.clear();
  }
}

/**
 * Removes everything a cluster with this id made in the network, whether or not its simulator is
 * still alive: processes in its namespaces, the namespaces, host links, and routes in its range.
 */
export async function sweepNetwork(id: string, cidr: string): Promise<void> {
  const { netnsPrefix, linkPrefix } = networkNames(id);
  const { stdout: nsList } = await run('ip', ['netns', 'list']);
  for (const netns of nsList
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(netnsPrefix))) {
    const { stdout: pids } = await run('ip', ['netns', 'pids', netns]).catch(() => ({ stdout: '' }));
    for (const pid of pids.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await tryRun('ip', ['netns', 'del', netns]);
  }
  const { stdout: links } = await run('ip', ['-o', 'link', 'show']);
  for (const m of links.matchAll(/^\d+: ([^:@]+)[:@]/gm)) {
    if (m[1]?.startsWith(linkPrefix)) await tryRun('ip', ['link', 'del', m[1]]);
  }
  for (const range of clusterRanges(cidr)) {
    await tryRun('ip', ['route', 'flush', 'root', range, 'type', 'unreachable']);
    await tryRun('ip', ['route', 'flush', 'root', range]);
  }
}

/** Every range a cluster routes: its pods (and their IPv6 twins), its Services and its load-balancer pool. */
export function clusterRanges(cidr: string): string[] {
  const pods = parseCidr(cidr);
  let plan: ClusterAddressPlan | undefined;
  try {
    plan = clusterAddressPlan(pods);
  } catch {
    // A range that derives no plan (tests reserving odd ranges) routes only its pods.
  }
  return [cidr, ipv6TwinCidr(pods), ...(plan ? [plan.services.text, plan.services6, plan.lb.pool.text] : [])];
}

/** What a sweep would find: used by `status` and by the test that `down` leaves nothing behind. */
export async function leftovers(id: string, cidr: string): Promise<string[]> {
  const { netnsPrefix, linkPrefix } = networkNames(id);
  const found: string[] = [];
  const { stdout: nsList } = await run('ip', ['netns', 'list']);
  for (const line of nsList.split('\n')) {
    if (line.startsWith(netnsPrefix)) found.push(`netns ${line.split(' ')[0]}`);
  }
  const { stdout: links } = await run('ip', ['-o', 'link', 'show']);
  for (const m of links.matchAll(/^\d+: ([^:@]+)[:@]/gm)) {
    if (m[1]?.startsWith(linkPrefix)) found.push(`link ${m[1]}`);
  }
  for (const range of clusterRanges(cidr)) {
    for (const type of ['unicast', 'unreachable']) {
      const { stdout: routes } = await run('ip', ['route', 'show', 'root', range, 'type', type]);
      for (const r of routes.split('\n').filter(Boolean)) found.push(`route ${r.trim()}`);
    }
  }
  // The drop, kube-proxy and load-balancer tables live inside the namespaces; none may ever appear
  // in the host's own ruleset.
  const { stdout: tables } = await run('nft', ['list', 'tables']);
  for (const table of [NFT_TABLE, LB_TABLE, 'kube-proxy']) {
    if (new RegExp(`^table \\w+ ${table}$`, 'm').test(tables))
      found.push(`nft table ${table} in the host namespace`);
  }
  // A process that outlived its namespace (kube-proxy's command line names it: kube-proxy.ts).
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(netnsPrefix)) found.push(`process ${pid} ${cmdline.replaceAll('\0', ' ').trim()}`);
  }
  return found;
}

/**
 * Runs `ip` commands for one namespace as a batch, through one long-lived runner (see ip-runner.ts).
 * Each `ip -batch` run costs tens of milliseconds whatever its length, so the lines of a namespace
 * wait in one batch while the runner is busy, and the runner takes the oldest batch when it is free.
 * (A fixed coalescing window made batches of a few lines that queued behind the runner: ~20 pods/s.)
 */
let ipRunner: IpRunner | undefined;
interface IpBatch {
  readonly lines: string[];
  readonly waiters: { resolve: () => void; reject: (err: Error) => void }[];
}
const ipQueue = new Map<string, IpBatch>();
let ipDraining = false;

function ipBatch(netns: string | null, lines: readonly string[]): Promise<void> {
  const key = netns ?? '';
  let batch = ipQueue.get(key);
  if (!batch) {
    batch = { lines: [], waiters: [] };
    ipQueue.set(key, batch);
  }
  batch.lines.push(...lines);
  const done = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
  if (!ipDraining) void drainIpQueue();
  return done;
}

/** Ends the runner process so the simulator can exit. */
export function closeIpRunner(): void {
  ipRunner?.close();
  ipRunner = undefined;
}

async function drainIpQueue(): Promise<void> {
  ipDraining = true;
  try {
    // Let the callers of this tick add their lines first.
    await new Promise((r) => setImmediate(r));
    for (;;) {
      const next = ipQueue.entries().next();
      if (next.done) return;
      const [key, batch] = next.value;
      ipQueue.delete(key);
      ipRunner ??= new IpRunner();
      try {
        await ipRunner.run(key === '' ? null : key, batch.lines);
        for (const w of batch.waiters) w.resolve();
      } catch (err) {
        for (const w of batch.waiters) w.reject(err as Error);
      }
    }
  } finally {
    ipDraining = false;
  }
}

function dropElement(ip: string, port: number): string {
  return `${ip} . ${port}`;
}

function dropCommand(verb: 'add' | 'delete', element: string): string {
  const set = element.includes(':') ? 'drop6' : 'drop4';
  return `${verb} element inet ${NFT_TABLE} ${set} { ${element} }`;
}

function hostRoute(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

async function nftSetup(netns: string): Promise<void> {
  await nft(netns, [
    `add table inet ${NFT_TABLE}`,
    `add set inet ${NFT_TABLE} drop4 { type ipv4_addr . inet_service; }`,
    `add set inet ${NFT_TABLE} drop6 { type ipv6_addr . inet_service; }`,
    `add chain inet ${NFT_TABLE} input { type filter hook input priority 0; policy accept; }`,
    `add rule inet ${NFT_TABLE} input ip daddr . tcp dport @drop4 drop`,
    `add rule inet ${NFT_TABLE} input ip6 daddr . tcp dport @drop6 drop`,
  ]);
}

/** Lets a namespace route between its links, as a node (or a load balancer) does. */
async function forward(netns: string): Promise<void> {
  await run('ip', [
    'netns',
    'exec',
    netns,
    'sysctl',
    '-qw',
    'net.ipv4.ip_forward=1',
    'net.ipv6.conf.all.forwarding=1',
  ]);
}

/**
 * The host forwards IPv6 arriving on this link of ours (pod to pod across nodes, a ClusterIP's
 * translated traffic), without turning on IPv6 forwarding for the whole machine, which would stop it
 * accepting router advertisements. `force_forwarding` exists from Linux 6.17; on older kernels IPv6
 * reaches only the pods of the node that sends it.
 */
async function forwardIPv6From(link: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv6/conf/${link}/force_forwarding`, '1').catch(() => undefined);
}

export async function nft(netns: string, commands: readonly string[]): Promise<void> {
  await run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], `${commands.join('\n')}\n`);
}

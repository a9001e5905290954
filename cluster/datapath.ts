/**
 * Real faults in a local cluster's Service data path, for tests: stop one node's kube-proxy and/or
 * remove its nftables rules, then put it back. Everything is found by the cluster id and node name
 * (the node's namespace is `sockeye-ID-nINDEX`), never by a process name across the machine.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { killGroup, run, startDetached, tryRun } from './exec.ts';
import { networkNames } from './simulator/network.ts';

export interface BreakOptions {
  /** Stop the node's kube-proxy (default true): nothing re-creates its rules. */
  readonly stopKubeProxy?: boolean;
  /** Delete its `ip` and `ip6 kube-proxy` tables (default true): the node stops forwarding Service traffic. */
  readonly flushRules?: boolean;
}

export interface BrokenNode {
  /** Starts the node's kube-proxy again with the command line it had; it re-creates its rules. */
  restore(): Promise<void>;
}

/** The namespace of simulated node `sim-node-N` of cluster `id`. */
export function nodeNetns(id: string, node: string): string {
  const index = /^sim-node-(\d+)$/.exec(node)?.[1];
  if (index === undefined) throw new Error(`"${node}" is not a simulated node (sim-node-N)`);
  return `${networkNames(id).netnsPrefix}n${index}`;
}

/** Pids of the kube-proxy processes inside the node's namespace. */
async function kubeProxyPids(netns: string): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', netns]);
  const pids: number[] = [];
  for (const pid of stdout.split('\n').filter(Boolean)) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'kube-proxy') pids.push(Number(pid));
  }
  return pids;
}

/**
 * Breaks the Service data path of `node` in the local cluster `cluster` (its id and state dir):
 * its NodePorts stop answering, its own connections to ClusterIPs time out, and its kube-proxy
 * health checks fail (when kube-proxy is stopped), while the other nodes keep working.
 */
export async function breakNodeDataPath(
  cluster: { readonly id: string; readonly dir: string },
  node: string,
  opts: BreakOptions = {},
): Promise<BrokenNode> {
  const netns = nodeNetns(cluster.id, node);
  const pids = await kubeProxyPids(netns);
  if (pids.length === 0 && (opts.stopKubeProxy ?? true))
    throw new Error(`no kube-proxy runs in ${netns} (${node})`);
  const argv = pids[0] === undefined ? [] : await commandLine(pids[0]);
  if (opts.stopKubeProxy ?? true) for (const pid of pids) await killGroup(pid, 5000);
  if (opts.flushRules ?? true) {
    for (const family of ['ip', 'ip6']) {
      await tryRun('ip', ['netns', 'exec', netns, 'nft', 'delete', 'table', family, 'kube-proxy']);
    }
  }
  return {
    async restore() {
      if ((await kubeProxyPids(netns)).length > 0) return;
      const [binary = '', ...args] = argv;
      if (!binary) throw new Error(`no kube-proxy command line known for ${node}`);
      // Its own process group; `down` kills it with everything else in the node's namespace.
      await startDetached(
        'ip',
        ['netns', 'exec', netns, binary, ...args],
        join(cluster.dir, `kube-proxy-${node}.log`),
      );
    },
  };
}

async function commandLine(pid: number): Promise<string[]> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
  return raw.split('\0').filter(Boolean);
}

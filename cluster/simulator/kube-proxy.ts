import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

/** kube-proxy's health port (`/healthz`), which load balancers check for `externalTrafficPolicy: Cluster`. */
export const KUBE_PROXY_HEALTH_PORT = 10256;
const METRICS_PORT = 10249;

export interface KubeProxyNode {
  readonly name: string;
  readonly netns: string;
  /** The node's InternalIP: the node end of its link, inside its pod range. */
  readonly ip: string;
}

export interface KubeProxySetup {
  readonly binary: string;
  /** A kubeconfig whose server the node namespaces reach (the simulator's API proxy). */
  readonly kubeconfig: string;
  /** The pod ranges (IPv4 and its IPv6 twin) for --cluster-cidr. */
  readonly clusterCidrs: readonly string[];
  readonly logDir: string;
}

/**
 * kube-proxy's command line for one simulated Node, as a node agent would run it: nftables mode,
 * NodePorts and health checks on the node's InternalIP only, and nothing changed outside the node's
 * network namespace. The netns name is in the kubeconfig path, so a process scan finds the
 * cluster's kube-proxies by its id (network.ts `leftovers`).
 */
export function kubeProxyArgs(node: KubeProxyNode, setup: KubeProxySetup): string[] {
  return [
    `--kubeconfig=${setup.kubeconfig}`,
    `--hostname-override=${node.name}`,
    '--proxy-mode=nftables',
    `--cluster-cidr=${setup.clusterCidrs.join(',')}`,
    `--bind-address=${node.ip}`,
    `--nodeport-addresses=${node.ip}/32`,
    `--healthz-bind-address=${node.ip}:${KUBE_PROXY_HEALTH_PORT}`,
    `--metrics-bind-address=${node.ip}:${METRICS_PORT}`,
    // The host's addresses (the host ends of the node links) lie in the pod range, so kube-proxy
    // would take host traffic for pod traffic and not masquerade it; the reply then bypasses the
    // node that translated it. Masquerading everything keeps every path symmetric.
    '--masquerade-all',
    // Leave the kernel's conntrack settings alone: they are shared with the machine.
    '--conntrack-max-per-core=0',
    '--conntrack-tcp-timeout-established=0',
    '--conntrack-tcp-timeout-close-wait=0',
    '--oom-score-adj=0',
    '--v=1',
  ];
}

/** The kubeconfig file of one node's kube-proxy; its name carries the netns name (and so the cluster id). */
export function kubeProxyKubeconfig(dir: string, netns: string): string {
  return join(dir, `${netns}.kubeconfig`);
}

/** Starts kube-proxy inside the node's namespace, in the simulator's process group (so `down` stops it). */
export function startKubeProxy(node: KubeProxyNode, setup: KubeProxySetup): ChildProcess {
  const fd = openSync(join(setup.logDir, `kube-proxy-${node.name}.log`), 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', node.netns, setup.binary, ...kubeProxyArgs(node, setup)], {
      stdio: ['ignore', fd, fd],
    });
    child.on('error', () => undefined);
    return child;
  } finally {
    closeSync(fd);
  }
}

/** GETs http://ip:port/path; resolves the status code, or 0 when nothing answers within `timeoutMs`. */
export function httpStatus(ip: string, port: number, path: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: ip, port, path, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Waits until the node's kube-proxy says it is healthy (its first sync done). */
export async function waitKubeProxyHealthy(node: KubeProxyNode, child: ChildProcess, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while ((await httpStatus(node.ip, KUBE_PROXY_HEALTH_PORT, '/healthz')) !== 200) {
    if (child.exitCode !== null) throw new Error(`kube-proxy of ${node.name} exited (${child.exitCode})`);
    if (Date.now() > deadline)
      throw new Error(`kube-proxy of ${node.name} not healthy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

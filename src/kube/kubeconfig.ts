import { isIP } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { shareConnections } from './connections.ts';

/** What `--kubeconfig` and `--context` asked for; neither given: client-node's default order. */
export interface ClusterChoice {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

export interface ClusterTarget {
  readonly kc: KubeConfig;
  readonly context: string;
  readonly server: string;
  /** The context's namespace, `default` when it names none. */
  readonly namespace: string;
}

/**
 * The kubeconfig every mode that talks to the API uses, as kubectl picks it: `--kubeconfig FILE`, else
 * `$KUBECONFIG`, else `~/.kube/config`, else the in-cluster ServiceAccount; then `--context NAME`, else
 * the file's current context. A problem comes back as one line naming the file or context (the caller
 * decides how to exit), never as an exception.
 */
export function loadKubeConfig(choice: ClusterChoice): ClusterTarget | string {
  const kc = new KubeConfig();
  try {
    if (choice.kubeconfig !== undefined) kc.loadFromFile(choice.kubeconfig);
    else kc.loadFromDefault();
    // Keep-alive connections to the API server: client-node would open a new TLS connection per call.
    shareConnections(kc);
  } catch (err) {
    const reason = firstLine(err instanceof Error ? err.message : String(err));
    return `cannot load kubeconfig${choice.kubeconfig === undefined ? '' : ` ${choice.kubeconfig}`}: ${reason}`;
  }
  if (choice.context !== undefined) {
    if (!kc.getContextObject(choice.context)) {
      const known = kc.getContexts().map((c) => c.name);
      return `no context "${choice.context}" in the kubeconfig (it has: ${known.join(', ') || 'none'})`;
    }
    kc.setCurrentContext(choice.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) return 'the kubeconfig has no current cluster; pass --context or --kubeconfig';
  const context = kc.getCurrentContext();
  return {
    kc,
    context,
    server: cluster.server,
    namespace: kc.getContextObject(context)?.namespace || 'default',
  };
}

/** A YAML parse error spans several lines (with a code frame); a usage error is one. */
function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

/**
 * The API server's address when the kubeconfig names it by IP (`https://198.18.0.1:6443`,
 * `https://[2001:db8::1]`), so the opt-in modes never dial it; empty for a host name.
 */
export function apiServerAddressesOf(kc: KubeConfig): string[] {
  const server = kc.getCurrentCluster()?.server;
  if (!server) return [];
  try {
    const host = new URL(server).hostname.replace(/^\[(.*)\]$/, '$1');
    return isIP(host) === 0 ? [] : [host];
  } catch {
    return [];
  }
}

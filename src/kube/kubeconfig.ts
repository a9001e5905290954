import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { ClusterChoice } from '../config/settings.ts';
import { shareConnections } from './connections.ts';

export interface ClusterTarget {
  readonly kc: KubeConfig;
  readonly context: string;
  readonly server: string;
  /** The context's namespace, `default` when it names none. */
  readonly namespace: string;
}

/** Where the kubeconfig may come from when `--kubeconfig` is not given (tests pass their own). */
export interface KubeconfigSources {
  /**
   * `KUBECONFIG`, `HOME`, `KUBERNETES_SERVICE_HOST`; default the process's (client-node reads the
   * in-cluster address and port from the process's own).
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Prefix of the ServiceAccount mount (client-node's `pathPrefix`), for tests; default none. */
  readonly root?: string;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The kubeconfig every mode that talks to the API uses, as kubectl picks it: `--kubeconfig FILE`, else
 * `$KUBECONFIG` (its files merged), else `~/.kube/config`, else the in-cluster ServiceAccount; then
 * `--context NAME`, else the file's current context. A problem comes back as one line naming the file
 * or context (the caller decides how to exit), never as an exception; with none of these there is no
 * cluster (client-node would quietly fall back to http://localhost:8080).
 */
export function loadKubeConfig(choice: ClusterChoice, from: KubeconfigSources = {}): ClusterTarget | string {
  const kc = new KubeConfig();
  const problem =
    choice.kubeconfig !== undefined ? loadFiles(kc, [choice.kubeconfig]) : loadDefault(kc, from);
  if (problem !== undefined) return problem;
  // Keep-alive connections to the API server: client-node would open a new TLS connection per call.
  shareConnections(kc);
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

/** client-node's `loadFromDefault` without its last resort, localhost:8080. */
function loadDefault(kc: KubeConfig, from: KubeconfigSources): string | undefined {
  const env = from.env ?? process.env;
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  if (files.length > 0) return loadFiles(kc, files);
  const home = join(env.HOME || homedir(), '.kube', 'config');
  if (existsSync(home)) return loadFiles(kc, [home]);
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host)
    return 'no kubeconfig ($KUBECONFIG, ~/.kube/config) and not running in a cluster (KUBERNETES_SERVICE_HOST unset)';
  const token = `${from.root ?? ''}${SERVICE_ACCOUNT_DIR}/token`;
  if (!existsSync(token))
    return `in a cluster (KUBERNETES_SERVICE_HOST=${host}) but no ServiceAccount token at ${token}; mount one or pass --kubeconfig`;
  kc.loadFromCluster(from.root);
  return undefined;
}

/** Loads the first file and merges the others in (as kubectl merges `$KUBECONFIG`: the first context wins). */
function loadFiles(kc: KubeConfig, [first, ...rest]: readonly string[]): string | undefined {
  for (const file of [first, ...rest]) {
    if (file === undefined) continue;
    try {
      const into = file === first ? kc : new KubeConfig();
      into.loadFromFile(file);
      if (into !== kc) kc.mergeConfig(into, true);
    } catch (err) {
      return `cannot load kubeconfig ${file}: ${firstLine(err instanceof Error ? err.message : String(err))}`;
    }
  }
  return undefined;
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

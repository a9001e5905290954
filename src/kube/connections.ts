import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';

type CreateDispatcher = (cluster: unknown, agentOptions: unknown) => unknown;

/**
 * client-node 2.x builds a new undici Agent for every API call, so every call pays a new TCP and
 * TLS handshake (and re-reads the certificate files). At thousands of calls that churn dominates,
 * for us and for the API server. This keeps one dispatcher per cluster and user, with keep-alive,
 * for the life of the KubeConfig. The method is private in client-node's types, hence the cast;
 * a test pins the behaviour so an upgrade that renames it fails loudly.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createDispatcher?: CreateDispatcher };
  const original = target.createDispatcher;
  if (typeof original !== 'function') {
    throw new Error(
      '@kubernetes/client-node no longer has KubeConfig.createDispatcher; update shareConnections',
    );
  }
  const cache = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const server = (cluster as { server?: string } | null)?.server ?? '';
    const key = `${server}|${kc.getCurrentUser()?.name ?? ''}`;
    if (!cache.has(key)) cache.set(key, original.call(kc, cluster, agentOptions));
    return cache.get(key);
  };
  return kc;
}

/**
 * Whole lists for the audit: pager.ts's paging, each page retried on the transient failures errors.ts
 * calls retryable. The listers at the bottom bind it to @kubernetes/client-node; `listAll` itself
 * knows nothing of the client, so its tests inject pages.
 */
import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  NetworkingV1Api,
  type V1EndpointSlice,
  type V1Namespace,
  type V1NetworkPolicy,
  type V1Node,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { backoffDelay, globalTimers, sleep, type Timers } from './backoff.ts';
import { shareConnections } from './connections.ts';
import { classifyKubeError } from './errors.ts';
import { type PageSource, paginate } from './pager.ts';

export interface ListOptions {
  /** Items per page (default 500, client-go's pager default). */
  readonly limit?: number | undefined;
  readonly labelSelector?: string | undefined;
  /** How often an expired continue token restarts the list from the start (default 3). */
  readonly maxRestarts?: number;
  /** Retries of one page on a retryable error (default 4), with jittered exponential backoff. */
  readonly maxRetries?: number;
  readonly signal?: AbortSignal | undefined;
  readonly timers?: Timers;
  /** Called with each page's item count, for progress. */
  readonly onPage?: (items: number) => void;
}

export const DEFAULT_PAGE_LIMIT = 500;

/**
 * Every item of a list (pager.ts: pages, restarts on an expired continue token), each page retried on
 * the transient failures errors.ts calls retryable. Terminal errors (403, 404, 401, …) are thrown as
 * they came, for the caller to classify.
 */
export async function listAll<T>(page: PageSource<T>, options: ListOptions = {}): Promise<T[]> {
  const listed = await paginate((request) => withRetries(() => page(request), options), {
    ...options,
    limit: options.limit ?? DEFAULT_PAGE_LIMIT,
  });
  return listed.items;
}

async function withRetries<R>(call: () => Promise<R>, options: ListOptions): Promise<R> {
  const maxRetries = options.maxRetries ?? 4;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const c = classifyKubeError(err);
      if (c.kind !== 'retryable' || attempt >= maxRetries || options.signal?.aborted) throw err;
      const delay = c.retryAfterMs ?? backoffDelay(attempt, { baseMs: 200, maxMs: 5000, jitter: 0.5 });
      await sleep(delay, options.timers ?? globalTimers, options.signal);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The lists the audit (and anything else that reads the whole cluster once) needs, over client-node.

/** A namespaced list: `namespace` undefined lists across all namespaces. */
export type NamespacedPageSource<T> = (namespace: string | undefined) => PageSource<T>;

export interface ClusterListers {
  readonly namespaces: PageSource<V1Namespace>;
  readonly readNamespace: (name: string) => Promise<V1Namespace>;
  readonly services: NamespacedPageSource<V1Service>;
  readonly endpointSlices: NamespacedPageSource<V1EndpointSlice>;
  readonly pods: NamespacedPageSource<V1Pod>;
  readonly networkPolicies: NamespacedPageSource<V1NetworkPolicy>;
  /** Cluster-scoped: the NodePort hops' addresses. */
  readonly nodes: PageSource<V1Node>;
}

/** Listers over one shared keep-alive connection (see connections.ts). */
export function clusterListers(kc: KubeConfig): ClusterListers {
  shareConnections(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const networking = kc.makeApiClient(NetworkingV1Api);
  return {
    namespaces: (r) => core.listNamespace(r),
    readNamespace: (name) => core.readNamespace({ name }),
    services: (ns) => (r) =>
      ns === undefined
        ? core.listServiceForAllNamespaces(r)
        : core.listNamespacedService({ ...r, namespace: ns }),
    endpointSlices: (ns) => (r) =>
      ns === undefined
        ? discovery.listEndpointSliceForAllNamespaces(r)
        : discovery.listNamespacedEndpointSlice({ ...r, namespace: ns }),
    pods: (ns) => (r) =>
      ns === undefined ? core.listPodForAllNamespaces(r) : core.listNamespacedPod({ ...r, namespace: ns }),
    networkPolicies: (ns) => (r) =>
      ns === undefined
        ? networking.listNetworkPolicyForAllNamespaces(r)
        : networking.listNamespacedNetworkPolicy({ ...r, namespace: ns }),
    nodes: (r) => core.listNode(r),
  };
}

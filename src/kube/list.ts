/**
 * Paged lists: `limit` / `continue` over any list call, restarting a list whose continue token expired
 * (410 Gone, reason Expired: etcd compacted the snapshot the token pointed into), and retrying the
 * transient failures errors.ts calls retryable. The listers at the bottom bind the pager to
 * @kubernetes/client-node; the pager itself knows nothing of the client, so its tests inject pages.
 */
import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  NetworkingV1Api,
  type V1EndpointSlice,
  type V1Namespace,
  type V1NetworkPolicy,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { backoffDelay, globalTimers, sleep, type Timers } from './backoff.ts';
import { shareConnections } from './connections.ts';
import { classifyKubeError, statusCodeOf } from './errors.ts';

/** One request of a paged list. */
export interface PageRequest {
  readonly limit: number;
  readonly _continue?: string;
  readonly labelSelector?: string;
}

/** What a list call returns, narrowed to what paging reads. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly metadata?: { readonly _continue?: string | undefined } | undefined;
}

export type PageFn<T> = (request: PageRequest) => Promise<Page<T>>;

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

/** True for the 410 Gone a list with a stale continue token gets. */
export function isExpired(err: unknown): boolean {
  return statusCodeOf(err) === 410;
}

/**
 * Every item of a list, page by page. A 410 on a continued page means the snapshot is gone: the items
 * read so far may be stale, so the list starts again (a consistent snapshot, as one unpaged list would
 * be); after `maxRestarts` a last attempt lists without a limit (client-go's pager does the same).
 * Terminal errors (403, 404, 401, …) are thrown as they came, for the caller to classify.
 */
export async function listAll<T>(page: PageFn<T>, options: ListOptions = {}): Promise<T[]> {
  const limit = options.limit ?? DEFAULT_PAGE_LIMIT;
  const maxRestarts = options.maxRestarts ?? 3;
  for (let restart = 0; ; restart++) {
    // 0 means "no limit" to the API server: the last resort when tokens keep expiring.
    const pageLimit = restart > maxRestarts ? 0 : limit;
    try {
      return await pages(page, pageLimit, options);
    } catch (err) {
      if (!(err instanceof ExpiredContinue) || restart > maxRestarts) throw unwrap(err);
    }
  }
}

/** Marks a 410 on a continued page, as opposed to one on the first page (which is not ours to fix). */
class ExpiredContinue extends Error {
  override readonly name = 'ExpiredContinue';
}

function unwrap(err: unknown): unknown {
  return err instanceof ExpiredContinue ? err.cause : err;
}

async function pages<T>(page: PageFn<T>, limit: number, options: ListOptions): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const request: PageRequest = {
      limit,
      ...(token ? { _continue: token } : {}),
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    };
    const continued = token !== undefined;
    const result = await withRetries(() => page(request), options).catch((err: unknown) => {
      throw continued && isExpired(err) ? new ExpiredContinue('continue token expired', { cause: err }) : err;
    });
    items.push(...result.items);
    options.onPage?.(result.items.length);
    token = result.metadata?._continue || undefined;
  } while (token !== undefined);
  return items;
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
export type NamespacedPageFn<T> = (namespace: string | undefined) => PageFn<T>;

export interface ClusterListers {
  readonly namespaces: PageFn<V1Namespace>;
  readonly readNamespace: (name: string) => Promise<V1Namespace>;
  readonly services: NamespacedPageFn<V1Service>;
  readonly endpointSlices: NamespacedPageFn<V1EndpointSlice>;
  readonly pods: NamespacedPageFn<V1Pod>;
  readonly networkPolicies: NamespacedPageFn<V1NetworkPolicy>;
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
  };
}

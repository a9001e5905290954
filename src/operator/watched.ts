/**
 * What the operator watches, as a table: for each kind its list/watch path, the conversion to
 * sockeye's domain type, and what a change does: it is applied to the cache, and the Services whose
 * judgement it can change (their `namespace/name` keys) are queued. The operator starts one informer
 * per entry from it (per namespace in the namespace-scoped mode; one for the cluster-scoped kind).
 *
 * | kind          | a change touches                                             |
 * | ------------- | ------------------------------------------------------------ |
 * | Service       | itself (a delete: nothing; the operator forgets it)          |
 * | EndpointSlice | its Service, and the one it belonged to before               |
 * | Pod           | the Services selecting it, by its labels before and after    |
 * | NetworkPolicy | every Service of its namespace                               |
 * | Namespace     | every Service in it                                          |
 * | Node          | every NodePort and LoadBalancer Service (their NodePort hops) |
 * | ServiceCIDR   | every Service (the opt-in modes' targets are judged against it) |
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  toEndpointSlice,
  toNamespace,
  toNetworkPolicy,
  toNode,
  toPod,
  toService,
  toServiceCIDR,
} from '../kube/convert.ts';
import type { NamespacedName } from '../model/types.ts';
import { type ClusterCache, type Domain, hasNodePorts, type WatchedKind } from './cache.ts';

/** One watched kind. Methods (not function properties), so entries of any type fit one table. */
export interface WatchedResource<T extends KubernetesObject, D> {
  readonly kind: WatchedKind;
  /** Listed and watched once for the whole cluster, never per namespace or filtered by one. */
  readonly clusterScoped: boolean;
  /** The list/watch path in one namespace, or in all of them (`undefined`). */
  path(namespace: string | undefined): string;
  /** To sockeye's domain type, before caching: the informers keep only that, not the API object. */
  convert(obj: T): D;
  /** Applies an add, update or delete to the cache; returns the Service keys it touches. */
  apply(cache: ClusterCache, obj: D, deleted: boolean): string[];
}

/** A row of the table: where the kind is served, and which Services a change of one object touches. */
interface Row<T extends KubernetesObject, K extends WatchedKind> {
  readonly kind: K;
  /** The list/watch path across all namespaces (`/api/v1/pods`, `/apis/GROUP/VERSION/RESOURCE`). */
  readonly path: string;
  readonly clusterScoped?: boolean;
  readonly convert: (obj: T) => Domain[K];
  /**
   * The Service keys a change touches, asked only when the cache says it changed what the rules read;
   * `old` is the object it replaced or removed.
   */
  readonly touches: (
    cache: ClusterCache,
    obj: Domain[K],
    old: Domain[K] | undefined,
    deleted: boolean,
  ) => string[];
}

function watched<T extends KubernetesObject, K extends WatchedKind>(
  row: Row<T, K>,
): WatchedResource<T, Domain[K]> {
  const { kind, path, clusterScoped = false, convert, touches } = row;
  const at = path.lastIndexOf('/');
  return {
    kind,
    clusterScoped,
    path: (namespace) =>
      namespace && !clusterScoped ? `${path.slice(0, at)}/namespaces/${namespace}${path.slice(at)}` : path,
    convert,
    apply(cache, obj, deleted) {
      const { changed, old } = cache.apply(kind, obj, deleted);
      return changed ? touches(cache, obj, old, deleted) : [];
    },
  };
}

const keyOf = (o: NamespacedName) => `${o.namespace}/${o.name}`;

/** Every Service of `namespace`, as keys. */
const servicesIn = (cache: ClusterCache, namespace: string) => cache.list('Service', namespace).map(keyOf);

export const SERVICES = watched({
  kind: 'Service',
  path: '/api/v1/services',
  convert: toService,
  touches: (_cache, s, _old, deleted) => (deleted ? [] : [keyOf(s)]),
});

export const ENDPOINT_SLICES = watched({
  kind: 'EndpointSlice',
  path: '/apis/discovery.k8s.io/v1/endpointslices',
  convert: toEndpointSlice,
  touches(_cache, s, old) {
    const names = new Set([s.serviceName, old?.serviceName ?? ''].filter((n) => n !== ''));
    return [...names].map((name) => `${s.namespace}/${name}`);
  },
});

export const PODS = watched({
  kind: 'Pod',
  path: '/api/v1/pods',
  convert: toPod,
  touches(cache, p, old) {
    const selecting = [p.labels, old?.labels ?? {}].flatMap((labels) =>
      cache.servicesSelecting(p.namespace, labels).map(keyOf),
    );
    return [...new Set(selecting)];
  },
});

export const NETWORK_POLICIES = watched({
  kind: 'NetworkPolicy',
  path: '/apis/networking.k8s.io/v1/networkpolicies',
  convert: toNetworkPolicy,
  touches: (cache, np) => servicesIn(cache, np.namespace),
});

export const NAMESPACES = watched({
  kind: 'Namespace',
  clusterScoped: true,
  path: '/api/v1/namespaces',
  convert: toNamespace,
  touches: (cache, ns) => servicesIn(cache, ns.name),
});

/** Every watched kind, in the order their informers start (NODES, below, on its own terms). */
export const WATCHED: readonly WatchedResource<KubernetesObject, unknown>[] = [
  SERVICES,
  ENDPOINT_SLICES,
  PODS,
  NETWORK_POLICIES,
  NAMESPACES,
];

/**
 * Nodes, for the NodePort hops: only their InternalIPs are kept, so a status heartbeat changes
 * nothing and queues nothing. Watched in either mode (a ClusterRole of its own grants it) and only
 * while the NodePort checks are on.
 */
export const NODES = watched({
  kind: 'Node',
  clusterScoped: true,
  path: '/api/v1/nodes',
  convert: toNode,
  touches: (cache) => cache.list('Service').filter(hasNodePorts).map(keyOf),
});

/**
 * The cluster's Service ranges (`networking.k8s.io/v1`, GA in Kubernetes 1.33): the opt-in modes never
 * dial inside them. Watched only while an opt-in mode is on; a cluster that does not serve them, or
 * RBAC that does not grant them, leaves the ranges of `--service-cidrs` (operator.ts).
 */
export const SERVICE_CIDRS = watched({
  kind: 'ServiceCIDR',
  clusterScoped: true,
  path: '/apis/networking.k8s.io/v1/servicecidrs',
  convert: toServiceCIDR,
  touches: (cache) => cache.serviceKeys(),
});

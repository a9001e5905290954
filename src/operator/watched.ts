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
 */
import type {
  KubernetesObject,
  V1EndpointSlice,
  V1Namespace,
  V1NetworkPolicy,
  V1Node,
  V1Pod,
  V1Service,
} from '@kubernetes/client-node';
import { toEndpointSlice, toNamespace, toNetworkPolicy, toNode, toPod, toService } from '../kube/convert.ts';
import type { EndpointSlice, Namespace, NetworkPolicy, Node, Pod, Service } from '../model/types.ts';
import { type ClusterCache, hasNodePorts, type WatchedKind } from './cache.ts';

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

const keyOf = (s: { readonly namespace: string; readonly name: string }) => `${s.namespace}/${s.name}`;

/** Every Service of `namespace`, as keys. */
const servicesIn = (cache: ClusterCache, namespace: string) => cache.list('Service', namespace).map(keyOf);

/** The path of a namespaced `resource` under `prefix` (`/api/v1`, `/apis/GROUP/VERSION`). */
const namespaced =
  (prefix: string, resource: string) =>
  (namespace: string | undefined): string =>
    namespace ? `${prefix}/namespaces/${namespace}/${resource}` : `${prefix}/${resource}`;

export const SERVICES: WatchedResource<V1Service, Service> = {
  kind: 'Service',
  clusterScoped: false,
  path: namespaced('/api/v1', 'services'),
  convert: toService,
  apply(cache, s, deleted) {
    const { changed } = cache.apply('Service', s, deleted);
    return changed && !deleted ? [keyOf(s)] : [];
  },
};

export const ENDPOINT_SLICES: WatchedResource<V1EndpointSlice, EndpointSlice> = {
  kind: 'EndpointSlice',
  clusterScoped: false,
  path: namespaced('/apis/discovery.k8s.io/v1', 'endpointslices'),
  convert: toEndpointSlice,
  apply(cache, s, deleted) {
    const { changed, old } = cache.apply('EndpointSlice', s, deleted);
    if (!changed) return [];
    const names = new Set([s.serviceName, old?.serviceName ?? ''].filter((n) => n !== ''));
    return [...names].map((name) => `${s.namespace}/${name}`);
  },
};

export const PODS: WatchedResource<V1Pod, Pod> = {
  kind: 'Pod',
  clusterScoped: false,
  path: namespaced('/api/v1', 'pods'),
  convert: toPod,
  apply(cache, p, deleted) {
    const { changed, old } = cache.apply('Pod', p, deleted);
    if (!changed) return [];
    const selecting = [p.labels, old?.labels ?? {}].flatMap((labels) =>
      cache.servicesSelecting(p.namespace, labels).map(keyOf),
    );
    return [...new Set(selecting)];
  },
};

export const NETWORK_POLICIES: WatchedResource<V1NetworkPolicy, NetworkPolicy> = {
  kind: 'NetworkPolicy',
  clusterScoped: false,
  path: namespaced('/apis/networking.k8s.io/v1', 'networkpolicies'),
  convert: toNetworkPolicy,
  apply(cache, np, deleted) {
    return cache.apply('NetworkPolicy', np, deleted).changed ? servicesIn(cache, np.namespace) : [];
  },
};

export const NAMESPACES: WatchedResource<V1Namespace, Namespace> = {
  kind: 'Namespace',
  clusterScoped: true,
  path: () => '/api/v1/namespaces',
  convert: toNamespace,
  apply(cache, ns, deleted) {
    return cache.apply('Namespace', ns, deleted).changed ? servicesIn(cache, ns.name) : [];
  },
};

/**
 * Nodes, for the NodePort hops: only their InternalIPs are kept, so a status heartbeat changes
 * nothing and queues nothing. Watched in either mode (a ClusterRole of its own grants it) and only
 * while the NodePort checks are on.
 */
export const NODES: WatchedResource<V1Node, Node> = {
  kind: 'Node',
  clusterScoped: true,
  path: () => '/api/v1/nodes',
  convert: toNode,
  apply(cache, n, deleted) {
    if (!cache.apply('Node', n, deleted).changed) return [];
    return cache.list('Service').filter(hasNodePorts).map(keyOf);
  },
};

/** Every watched kind, in the order their informers start (NODES on its own terms: see there). */
export const WATCHED: readonly WatchedResource<KubernetesObject, unknown>[] = [
  SERVICES,
  ENDPOINT_SLICES,
  PODS,
  NETWORK_POLICIES,
  NAMESPACES,
];

/**
 * What one shard keeps and reports (docs/design.md "Sharding"). Shard I of N owns the Services whose
 * `namespace/name` hashes to I (model/shard.ts), and caches:
 *
 * - every Service (small, and every shard needs every selector: to know which pods its own Services
 *   select, and which Service is a pod's home, rules/shard.ts); it reconciles only its own;
 * - the EndpointSlices of its own Services (by their `kubernetes.io/service-name` label);
 * - the pods some of its own Services select (all pods when selector-less Services are probed: a
 *   hand-made slice may name any pod); the rest are dropped as they arrive, before they are cached;
 * - NetworkPolicies, Namespaces and Nodes, whole (few, and every Service's judgement reads them).
 *
 * It writes about its own Services; about a pod only when the pod's home Service is its own, and about
 * a Namespace only when the namespace's least-named Service is its own: each object has exactly one
 * writer across the shards. With one shard (the default) everything is kept and reported.
 */
import { owns, type Shard, WHOLE } from '../model/shard.ts';
import type { EndpointSlice, ObjectKind, Pod } from '../model/types.ts';
import { namespaceHome, podHome } from '../rules/shard.ts';
import type { ClusterCache } from './cache.ts';

export class ShardFilter {
  readonly shard: Shard;
  readonly #cache: ClusterCache;
  readonly #allPods: boolean;

  /** `allPods`: keep every pod (selector-less Services are probed). */
  constructor(cache: ClusterCache, shard: Shard = WHOLE, allPods = false) {
    this.shard = shard;
    this.#cache = cache;
    this.#allPods = allPods;
  }

  get sharded(): boolean {
    return this.shard.count > 1;
  }

  /** Whether this shard reconciles the Service. */
  ownsService(namespace: string, name: string): boolean {
    return owns(this.shard, namespace, name);
  }

  /** Whether this shard reconciles the Service of a `namespace/name` key. */
  ownsKey(key: string): boolean {
    const slash = key.indexOf('/');
    return this.ownsService(key.slice(0, slash), key.slice(slash + 1));
  }

  keepsSlice(slice: EndpointSlice): boolean {
    return (
      !this.sharded || (slice.serviceName !== '' && this.ownsService(slice.namespace, slice.serviceName))
    );
  }

  /** Whether one of this shard's Services selects the pod (read against the Services cached now). */
  keepsPod(pod: Pod): boolean {
    if (!this.sharded || this.#allPods) return true;
    return this.#cache
      .servicesSelecting(pod.namespace, pod.labels)
      .some((s) => this.ownsService(s.namespace, s.name));
  }

  /** Whether this shard writes the Events and annotations about the object. */
  reports(kind: ObjectKind, namespace: string, name: string): boolean {
    if (!this.sharded) return true;
    switch (kind) {
      case 'Service':
        return this.ownsService(namespace, name);
      case 'Pod': {
        const pod = this.#cache.get('Pod', namespace, name)?.object;
        const home = pod && podHome(pod, this.#cache.servicesSelecting(namespace, pod.labels));
        return home === undefined || this.ownsService(home.namespace, home.name);
      }
      case 'Namespace': {
        const home = namespaceHome(this.#cache.list('Service', name));
        return home === undefined || this.ownsService(home.namespace, home.name);
      }
    }
  }
}

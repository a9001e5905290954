/**
 * The operator's read model: the informers' objects converted to sockeye's domain types (only the
 * fields the rules read), indexed by namespace, plus the `sockeye.dev/*` annotations sockeye wrote
 * (the writer compares against them). `gather()` is the gatherer: the one place that turns the caches
 * into the `ClusterState` a Service's reconcile evaluates.
 */
import { createHash } from 'node:crypto';
import { NO_LABELS } from '../kube/convert.ts';
import { OPERATOR_ANNOTATIONS } from '../model/annotation-keys.ts';
import type {
  EndpointSlice,
  Labels,
  Namespace,
  NetworkPolicy,
  Node,
  Pod,
  Service,
  ServiceCIDR,
} from '../model/types.ts';
import { selectsPod } from '../rules/selectors.ts';
import type { ClusterState } from '../rules/types.ts';

/** The kinds the operator watches and caches (not ObjectKind: the kinds findings are about). */
export type WatchedKind =
  | 'Service'
  | 'EndpointSlice'
  | 'Pod'
  | 'NetworkPolicy'
  | 'Namespace'
  | 'Node'
  | 'ServiceCIDR';

/** An object as cached: its domain view and the annotations sockeye itself writes. */
export interface Cached<T> {
  readonly object: T;
  /** `sockeye.dev/status|summary|since` as the API server last reported them. */
  readonly written: Labels;
  /**
   * `fingerprintOf(object)`, made when an update first needs it: at sync, 20,000 pods were hashed
   * for nothing (no earlier version to compare with), ~0.2 s of the list's CPU.
   */
  fingerprint: string | undefined;
  /** Arrival order (kept across updates), so gathered lists keep the informers' order. */
  readonly seq: number;
}

export type Domain = {
  Service: Service;
  EndpointSlice: EndpointSlice;
  Pod: Pod;
  NetworkPolicy: NetworkPolicy;
  Namespace: Namespace;
  Node: Node;
  ServiceCIDR: ServiceCIDR;
};

/** Splits sockeye's own annotations off an object's annotations. */
export function splitWritten(annotations: Labels): { readonly own: Labels; readonly written: Labels } {
  const own: Record<string, string> = {};
  const written: Record<string, string> = {};
  let any = false;
  for (const [k, v] of Object.entries(annotations)) {
    if ((OPERATOR_ANNOTATIONS as readonly string[]).includes(k)) {
      written[k] = v;
      any = true;
    } else own[k] = v;
  }
  // Most objects carry none: they share one empty map.
  return { own, written: any ? written : NO_LABELS };
}

/**
 * A digest of everything the rules read of an object, sockeye's own annotations left out: two
 * versions with the same fingerprint differ only in what sockeye wrote (or fields nobody reads), so
 * the update must not enqueue anything (prometheus-operator's advice: ignore your own writes).
 * A digest, not the text: the text of every cached pod was a tenth of the heap at 20,000 pods.
 */
export function fingerprintOf(object: object): string {
  const text = JSON.stringify(object, (key, value: unknown) => {
    if (key === 'annotations' && value && typeof value === 'object') {
      return splitWritten(value as Labels).own;
    }
    if (value instanceof Date) return value.toISOString();
    return value;
  });
  // 128 bits of the digest: as good as all of it for telling versions apart, half the string (a
  // string of its own: a slice of the whole digest would keep the whole one alive behind it).
  return createHash('sha256').update(text).digest().toString('base64', 0, 16);
}

function cached<T extends { readonly annotations?: Labels }>(object: T, seq: number): Cached<T> {
  const { written } = splitWritten(object.annotations ?? {});
  return { object, written, fingerprint: undefined, seq };
}

/** The entry's fingerprint, made once. */
function fingerprintOfEntry(entry: Cached<object>): string {
  entry.fingerprint ??= fingerprintOf(entry.object);
  return entry.fingerprint;
}

/** A label pair as an index key (NUL cannot occur in label keys or values). */
const pairKey = (key: string, value: string) => `${key}\u0000${value}`;

/** `index[key]` as a set, made on first use. */
function addTo(index: Map<string, Set<string>>, key: string, name: string): void {
  let names = index.get(key);
  if (!names) {
    names = new Set();
    index.set(key, names);
  }
  names.add(name);
}

function removeFrom(index: Map<string, Set<string>>, key: string, name: string): void {
  const names = index.get(key);
  names?.delete(name);
  if (names?.size === 0) index.delete(key);
}

/**
 * One namespace's secondary indexes. Reconciles read a Service's pods, slices and neighbouring
 * Services many times per sweep; scanning the namespace for each made a sweep quadratic in its size
 * (a namespace of 2,000 pods and 200 Services: ~10^4 selector checks per reconcile).
 */
class NamespaceIndex {
  /** Pod names by label pair. */
  readonly podsByLabel = new Map<string, Set<string>>();
  /** Service names by selector pair. */
  readonly servicesBySelector = new Map<string, Set<string>>();
  /** EndpointSlice names by `kubernetes.io/service-name`. */
  readonly slicesByService = new Map<string, Set<string>>();

  get empty(): boolean {
    return this.podsByLabel.size + this.servicesBySelector.size + this.slicesByService.size === 0;
  }

  update(kind: WatchedKind, name: string, next: unknown, old: unknown): void {
    if (kind === 'Pod') this.#pairs(this.podsByLabel, name, (old as Pod)?.labels, (next as Pod)?.labels);
    else if (kind === 'Service')
      this.#pairs(this.servicesBySelector, name, (old as Service)?.selector, (next as Service)?.selector);
    else if (kind === 'EndpointSlice') {
      const before = (old as EndpointSlice | undefined)?.serviceName;
      const after = (next as EndpointSlice | undefined)?.serviceName;
      if (before === after) return;
      if (before !== undefined) removeFrom(this.slicesByService, before, name);
      if (after !== undefined) addTo(this.slicesByService, after, name);
    }
  }

  #pairs(index: Map<string, Set<string>>, name: string, old?: Labels, next?: Labels): void {
    for (const [k, v] of Object.entries(old ?? {}))
      if (next?.[k] !== v) removeFrom(index, pairKey(k, v), name);
    for (const [k, v] of Object.entries(next ?? {})) addTo(index, pairKey(k, v), name);
  }
}

export class ClusterCache {
  readonly #maps: { [K in WatchedKind]: Map<string, Map<string, Cached<Domain[K]>>> } = {
    Service: new Map(),
    EndpointSlice: new Map(),
    Pod: new Map(),
    NetworkPolicy: new Map(),
    Namespace: new Map(),
    Node: new Map(),
    ServiceCIDR: new Map(),
  };
  readonly #indexes = new Map<string, NamespaceIndex>();
  /**
   * The last change the rules could see, per namespace ('' for cluster-scoped kinds), as a number
   * from one sequence that only grows: see `stamp()`. A namespace left with no object is forgotten
   * (back to 0, the stamp of an empty namespace): namespaces come and go (CI clusters make one per
   * test run), and a counter per name would outlive them all.
   */
  readonly #changes = new Map<string, number>();
  #changeSeq = 0;
  #seq = 0;

  #changed(namespace: string): void {
    this.#changes.set(namespace, ++this.#changeSeq);
  }

  /** Whether any kind still holds an object of `namespace`. */
  #holds(namespace: string): boolean {
    for (const byNamespace of Object.values(this.#maps)) if (byNamespace.has(namespace)) return true;
    return false;
  }

  /** Namespaces whose changes are remembered (for tests: forgotten once empty). */
  get rememberedNamespaces(): number {
    return this.#changes.size;
  }

  /**
   * A stamp of everything `gather(namespace, …, proberNamespace)` reads: equal stamps, equal states
   * (each part is the namespace's last change, 0 while it holds nothing).
   * A reconcile gathers before probing and must judge the state after it; when the stamp did not
   * move meanwhile (no change the rules read, sockeye's own writes aside), the state it planned
   * from is that state, and neither gathering nor planning needs doing twice.
   */
  stamp(namespace: string, proberNamespace: string): string {
    const count = (ns: string) => this.#changes.get(ns) ?? 0;
    return `${count(namespace)}/${count(proberNamespace)}/${count('')}`;
  }

  /** Stores an object; returns whether anything the rules read changed (false for sockeye's own writes). */
  upsert<K extends WatchedKind>(
    kind: K,
    object: Domain[K],
  ): { readonly changed: boolean; readonly old?: Domain[K] } {
    const ns = namespaceOf(object);
    let byName = this.#maps[kind].get(ns);
    if (!byName) {
      byName = new Map();
      this.#maps[kind].set(ns, byName);
    }
    const old = byName.get(object.name);
    const entry = cached(object as Domain[K] & { annotations?: Labels }, old?.seq ?? this.#seq++);
    byName.set(object.name, entry);
    this.#index(ns).update(kind, object.name, object, old?.object);
    const changed = !old || fingerprintOfEntry(old) !== fingerprintOfEntry(entry);
    if (changed) this.#changed(ns);
    return old ? { changed, old: old.object } : { changed };
  }

  /**
   * An informer's add or update (`upsert`) or delete: whether anything the rules read changed (a
   * delete: whether the object was cached), and the object replaced or removed.
   */
  apply<K extends WatchedKind>(
    kind: K,
    object: Domain[K],
    deleted: boolean,
  ): { readonly changed: boolean; readonly old?: Domain[K] } {
    if (!deleted) return this.upsert(kind, object);
    const old = this.delete(kind, namespaceOf(object), object.name);
    return old === undefined ? { changed: false } : { changed: true, old };
  }

  delete<K extends WatchedKind>(kind: K, namespace: string, name: string): Domain[K] | undefined {
    const byName = this.#maps[kind].get(namespace);
    const old = byName?.get(name);
    byName?.delete(name);
    if (byName?.size === 0) this.#maps[kind].delete(namespace);
    if (old) {
      this.#changed(namespace);
      const index = this.#index(namespace);
      index.update(kind, name, undefined, old.object);
      if (index.empty) this.#indexes.delete(namespace);
      if (!this.#holds(namespace)) this.#changes.delete(namespace);
    }
    return old?.object;
  }

  get<K extends WatchedKind>(kind: K, namespace: string, name: string): Cached<Domain[K]> | undefined {
    return this.#maps[kind].get(namespace)?.get(name);
  }

  list<K extends WatchedKind>(kind: K, namespace?: string): Domain[K][] {
    const maps = namespace === undefined ? [...this.#maps[kind].values()] : [this.#maps[kind].get(namespace)];
    return maps.flatMap((m) => (m ? [...m.values()].map((c) => c.object) : []));
  }

  count(kind: WatchedKind): number {
    let n = 0;
    for (const m of this.#maps[kind].values()) n += m.size;
    return n;
  }

  /** Every Service as `namespace/name`. */
  serviceKeys(): string[] {
    return this.list('Service').map((s) => `${s.namespace}/${s.name}`);
  }

  /** The Services of `namespace` whose selector picks a pod with `labels`. */
  servicesSelecting(namespace: string, labels: Labels): Service[] {
    const index = this.#indexes.get(namespace);
    if (!index) return [];
    const names = new Set<string>();
    for (const [k, v] of Object.entries(labels))
      for (const name of index.servicesBySelector.get(pairKey(k, v)) ?? []) names.add(name);
    return this.#objects('Service', namespace, names).filter((s) => selectsPod(s.selector, labels));
  }

  /** The pods of `namespace` a Service selector picks (none for an empty selector). */
  podsSelectedBy(namespace: string, selector: Labels | undefined): Pod[] {
    const index = this.#indexes.get(namespace);
    const pairs = Object.entries(selector ?? {});
    if (!index || pairs.length === 0) return [];
    // Candidates from the rarest pair; the full selector decides.
    let smallest: ReadonlySet<string> | undefined;
    for (const [k, v] of pairs) {
      const names = index.podsByLabel.get(pairKey(k, v));
      if (!names) return [];
      if (!smallest || names.size < smallest.size) smallest = names;
    }
    return this.#objects('Pod', namespace, smallest ?? []).filter((p) => selectsPod(selector, p.labels));
  }

  /**
   * The state one Service is judged on: the Service; the pods it selects or its slices name; every
   * other Service of the namespace that selects one of those pods (a pod's status depends on all the
   * Services it serves, so it must not depend on which of them is being reconciled); their slices;
   * the NetworkPolicies and Namespaces of the Service's and the prober's namespaces; the Nodes when
   * the Service has NodePorts (its data path runs through every node); the Service ranges of the
   * cluster's ServiceCIDRs, when they are watched (the opt-in modes never dial inside them).
   */
  gather(namespace: string, name: string, proberNamespace: string): ClusterState | undefined {
    const service = this.get('Service', namespace, name)?.object;
    if (!service) return undefined;
    const sliceNames = (service: string) => this.#indexes.get(namespace)?.slicesByService.get(service) ?? [];
    const named = new Set(
      this.#objects('EndpointSlice', namespace, sliceNames(name)).flatMap((s) =>
        s.endpoints.flatMap((e) => (e.targetRef?.kind === 'Pod' ? [e.targetRef.name] : [])),
      ),
    );
    for (const p of this.podsSelectedBy(namespace, service.selector)) named.add(p.name);
    const pods = this.#objects('Pod', namespace, named);
    const otherNames = new Set<string>();
    for (const p of pods)
      for (const s of this.servicesSelecting(namespace, p.labels))
        if (s.name !== name) otherNames.add(s.name);
    const services = [service, ...this.#objects('Service', namespace, otherNames)];
    const namespaces = [...new Set([namespace, proberNamespace])];
    return {
      services,
      slices: this.#objects(
        'EndpointSlice',
        namespace,
        services.flatMap((s) => [...sliceNames(s.name)]),
      ),
      pods,
      networkPolicies: namespaces.flatMap((ns) => this.list('NetworkPolicy', ns)),
      namespaces: namespaces.flatMap((ns) => {
        const n = this.get('Namespace', '', ns)?.object;
        return n ? [n] : [];
      }),
      nodes: hasNodePorts(service) ? this.list('Node', '') : [],
      serviceCIDRs: this.list('ServiceCIDR', '').flatMap((c) => c.cidrs),
    };
  }

  #index(namespace: string): NamespaceIndex {
    let index = this.#indexes.get(namespace);
    if (!index) {
      index = new NamespaceIndex();
      this.#indexes.set(namespace, index);
    }
    return index;
  }

  /** The cached objects of these names (missing ones skipped), in arrival order. */
  #objects<K extends WatchedKind>(kind: K, namespace: string, names: Iterable<string>): Domain[K][] {
    const byName = this.#maps[kind].get(namespace);
    if (!byName) return [];
    const found: Cached<Domain[K]>[] = [];
    for (const name of names) {
      const c = byName.get(name);
      if (c) found.push(c);
    }
    return found.sort((x, y) => x.seq - y.seq).map((c) => c.object);
  }
}

/** A NodePort or LoadBalancer Service: its data path runs through every node. */
export function hasNodePorts(service: Service): boolean {
  return service.type === 'NodePort' || service.type === 'LoadBalancer';
}

function namespaceOf(object: { readonly namespace?: string; readonly name: string }): string {
  return 'namespace' in object && typeof object.namespace === 'string' ? object.namespace : '';
}

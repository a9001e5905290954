/**
 * The operator's read model: the informers' objects converted to sockeye's domain types (only the
 * fields the rules read), indexed by namespace, plus the `sockeye.dev/*` annotations sockeye wrote
 * (the writer compares against them). `gather()` is the gatherer: the one place that turns the caches
 * into the `ClusterState` a Service's reconcile evaluates.
 */
import { WRITTEN_ANNOTATIONS } from '../config/annotations.ts';
import type { EndpointSlice, Labels, Namespace, NetworkPolicy, Pod, Service } from '../model/types.ts';
import { selectsPod } from '../rules/selectors.ts';
import type { ClusterState } from '../rules/types.ts';

export type Kind = 'Service' | 'EndpointSlice' | 'Pod' | 'NetworkPolicy' | 'Namespace';

/** An object as cached: its domain view and the annotations sockeye itself writes. */
export interface Cached<T> {
  readonly object: T;
  /** `sockeye.dev/status|summary|since` as the API server last reported them. */
  readonly written: Labels;
  /** The annotations without the written ones: what decides whether an update matters. */
  readonly fingerprint: string;
}

type Domain = {
  Service: Service;
  EndpointSlice: EndpointSlice;
  Pod: Pod;
  NetworkPolicy: NetworkPolicy;
  Namespace: Namespace;
};

/** Splits sockeye's own annotations off an object's annotations. */
export function splitWritten(annotations: Labels): { readonly own: Labels; readonly written: Labels } {
  const own: Record<string, string> = {};
  const written: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) {
    if (WRITTEN_ANNOTATIONS.includes(k)) written[k] = v;
    else own[k] = v;
  }
  return { own, written };
}

/**
 * A stable text of everything the rules read of an object, sockeye's own annotations left out: two
 * versions with the same fingerprint differ only in what sockeye wrote (or fields nobody reads), so
 * the update must not enqueue anything (prometheus-operator's advice: ignore your own writes).
 */
export function fingerprintOf(object: object): string {
  return JSON.stringify(object, (key, value: unknown) => {
    if (key === 'annotations' && value && typeof value === 'object') {
      return splitWritten(value as Labels).own;
    }
    if (value instanceof Date) return value.toISOString();
    return value;
  });
}

function cached<T extends { readonly annotations?: Labels }>(object: T): Cached<T> {
  const { written } = splitWritten(object.annotations ?? {});
  return { object, written, fingerprint: fingerprintOf(object) };
}

export class ClusterCache {
  readonly #maps: { [K in Kind]: Map<string, Map<string, Cached<Domain[K]>>> } = {
    Service: new Map(),
    EndpointSlice: new Map(),
    Pod: new Map(),
    NetworkPolicy: new Map(),
    Namespace: new Map(),
  };

  /** Stores an object; returns whether anything the rules read changed (false for sockeye's own writes). */
  upsert<K extends Kind>(
    kind: K,
    object: Domain[K],
  ): { readonly changed: boolean; readonly old?: Domain[K] } {
    const ns = namespaceOf(object);
    let byName = this.#maps[kind].get(ns);
    if (!byName) {
      byName = new Map();
      this.#maps[kind].set(ns, byName);
    }
    const entry = cached(object as Domain[K] & { annotations?: Labels });
    const old = byName.get(object.name);
    byName.set(object.name, entry);
    if (!old) return { changed: true };
    return { changed: old.fingerprint !== entry.fingerprint, old: old.object };
  }

  delete<K extends Kind>(kind: K, namespace: string, name: string): Domain[K] | undefined {
    const byName = this.#maps[kind].get(namespace);
    const old = byName?.get(name);
    byName?.delete(name);
    if (byName?.size === 0) this.#maps[kind].delete(namespace);
    return old?.object;
  }

  get<K extends Kind>(kind: K, namespace: string, name: string): Cached<Domain[K]> | undefined {
    return this.#maps[kind].get(namespace)?.get(name);
  }

  list<K extends Kind>(kind: K, namespace?: string): Domain[K][] {
    const maps = namespace === undefined ? [...this.#maps[kind].values()] : [this.#maps[kind].get(namespace)];
    return maps.flatMap((m) => (m ? [...m.values()].map((c) => c.object) : []));
  }

  count(kind: Kind): number {
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
    return this.list('Service', namespace).filter((s) => selectsPod(s.selector, labels));
  }

  /**
   * The state one Service is judged on: the Service; the pods it selects or its slices name; every
   * other Service of the namespace that selects one of those pods (a pod's status depends on all the
   * Services it serves, so it must not depend on which of them is being reconciled); their slices;
   * the NetworkPolicies and Namespaces of the Service's and the prober's namespaces.
   */
  gather(namespace: string, name: string, proberNamespace: string): ClusterState | undefined {
    const service = this.get('Service', namespace, name)?.object;
    if (!service) return undefined;
    const slices = this.list('EndpointSlice', namespace);
    const ownSlices = slices.filter((s) => s.serviceName === name);
    const named = new Set(
      ownSlices.flatMap((s) =>
        s.endpoints.flatMap((e) => (e.targetRef?.kind === 'Pod' ? [e.targetRef.name] : [])),
      ),
    );
    const pods = this.list('Pod', namespace).filter(
      (p) => named.has(p.name) || selectsPod(service.selector, p.labels),
    );
    const others = this.list('Service', namespace).filter(
      (s) => s.name !== name && pods.some((p) => selectsPod(s.selector, p.labels)),
    );
    const services = [service, ...others];
    const names = new Set(services.map((s) => s.name));
    const namespaces = [...new Set([namespace, proberNamespace])];
    return {
      services,
      slices: slices.filter((s) => names.has(s.serviceName)),
      pods,
      networkPolicies: namespaces.flatMap((ns) => this.list('NetworkPolicy', ns)),
      namespaces: namespaces.flatMap((ns) => {
        const n = this.get('Namespace', '', ns)?.object;
        return n ? [n] : [];
      }),
    };
  }
}

function namespaceOf(object: { readonly namespace?: string; readonly name: string }): string {
  return 'namespace' in object && typeof object.namespace === 'string' ? object.namespace : '';
}

/**
 * The audit's gatherer: the only part of the audit that reads the API. It lists (paged, see
 * ../kube/list.ts) the Namespaces, Services, EndpointSlices, Pods and NetworkPolicies in scope (and the
 * Nodes, for NodePort hops) and turns
 * them into the rules' plain ClusterState. A 403 never stops it: each unreadable resource is recorded
 * once, with the namespaces it covers and what the audit misses because of it, and the audit goes on
 * with what it could read.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { toEndpointSlice, toNamespace, toNetworkPolicy, toNode, toPod, toService } from '../kube/convert.ts';
import { classifyKubeError, isAbort, isNotFound, statusCodeOf } from '../kube/errors.ts';
import { type ClusterListers, listAll, type NamespacedPageSource } from '../kube/list.ts';
import { byText } from '../model/order.ts';
import type { Namespace, Node } from '../model/types.ts';
import type { ClusterState } from '../rules/types.ts';

export type Resource = 'namespaces' | 'services' | 'endpointslices' | 'pods' | 'networkpolicies' | 'nodes';

/** What the audit could not read, said once per resource. */
export interface AccessProblem {
  readonly resource: Resource;
  /** The namespaces it was denied in; empty when it was denied cluster-wide. */
  readonly namespaces: readonly string[];
  /** `Forbidden`, `NotFound`, … */
  readonly reason: string;
  /** What the report lacks because of it. */
  readonly consequence: string;
}

export interface GatherOptions {
  /** Namespaces to audit; empty audits every namespace. */
  readonly namespaces: readonly string[];
  /** Restricts the Services (and the pods audited on their own) to those matching it. */
  readonly labelSelector?: string | undefined;
  /** The kubeconfig context's namespace: what is audited when namespaces cannot be listed. */
  readonly contextNamespace: string;
  readonly pageLimit?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * List the Nodes (cluster-scoped) when a NodePort or LoadBalancer Service is in scope: the NodePort
   * and health-check hops go to their InternalIPs.
   */
  readonly nodes?: boolean | undefined;
  /** Called after each page with the resource and the items read so far. */
  readonly onProgress?: ((resource: Resource, items: number) => void) | undefined;
}

export interface Gathered {
  readonly state: ClusterState;
  /** The namespaces audited, sorted. */
  readonly namespaces: readonly string[];
  /** With `-l`: `namespace/name` of the pods the selector matches; undefined without it. */
  readonly labelledPods?: ReadonlySet<string> | undefined;
  readonly problems: readonly AccessProblem[];
}

/** The audit cannot run at all: no credentials, no API server, nothing readable. */
export class GatherError extends Error {
  override readonly name = 'GatherError';
}

const CONSEQUENCE: Readonly<Record<Resource, string>> = {
  namespaces:
    'Namespace annotations and labels are unknown: namespace-level sockeye.dev/* settings are not applied and NetworkPolicy namespaceSelectors see only the namespace name',
  services: 'Services there are not audited',
  endpointslices: 'Services there are not audited (their endpoints are unknown); pod ports still are',
  pods: 'nothing is probed there (sockeye connects only to pods it can see)',
  networkpolicies: 'timeouts there are not attributed to NetworkPolicies',
  nodes: 'the NodePort and health-check hops are not checked (they go to node InternalIPs)',
};

interface Denied {
  readonly reason: string;
  readonly code: number | undefined;
}

/** A 403 (or 404 for a namespace that is gone) is a gap in the report; anything else stops the audit. */
function denied(err: unknown): Denied | undefined {
  const code = statusCodeOf(err);
  if (code === 403 || code === 404) return { reason: classifyKubeError(err).reason, code };
  return undefined;
}

function fatal(what: string, err: unknown): never {
  if (isAbort(err)) throw err;
  const c = classifyKubeError(err);
  const hint =
    c.kind === 'terminal' && c.code === 401
      ? ' (the credentials were rejected: check --context / --kubeconfig)'
      : c.kind !== 'aborted' && c.code === undefined
        ? ' (is the API server reachable from here?)'
        : '';
  throw new GatherError(`cannot list ${what}: ${c.reason}: ${c.message}${hint}`, { cause: err });
}

export async function gather(listers: ClusterListers, options: GatherOptions): Promise<Gathered> {
  const problems = new Map<string, { resource: Resource; namespaces: Set<string>; reason: string }>();
  const deny = (resource: Resource, namespace: string | undefined, d: Denied, consequence?: string) => {
    const key = `${resource}|${d.reason}|${consequence ?? ''}`;
    const entry = problems.get(key) ?? { resource, namespaces: new Set<string>(), reason: d.reason };
    if (namespace !== undefined) entry.namespaces.add(namespace);
    problems.set(key, entry);
    if (consequence !== undefined) consequences.set(key, consequence);
  };
  const consequences = new Map<string, string>();
  const counts = new Map<Resource, number>();
  const list = <T>(
    resource: Resource,
    page: NamespacedPageSource<T>,
    ns: string | undefined,
    selector?: string,
  ) =>
    listAll(page(ns), {
      limit: options.pageLimit,
      labelSelector: selector,
      signal: options.signal,
      onPage: (n) => {
        counts.set(resource, (counts.get(resource) ?? 0) + n);
        options.onProgress?.(resource, counts.get(resource) ?? 0);
      },
    });

  // 1. Which namespaces, and their annotations and labels.
  let namespaces: Namespace[];
  let clusterWide = options.namespaces.length === 0;
  if (clusterWide) {
    try {
      namespaces = (await list('namespaces', () => listers.namespaces, undefined)).map(toNamespace);
    } catch (err) {
      const d = denied(err);
      if (!d) fatal('namespaces', err);
      clusterWide = false;
      deny(
        'namespaces',
        undefined,
        d,
        `cannot list namespaces, so only namespace "${options.contextNamespace}" (the kubeconfig context's) was audited; pass -n NAME for others`,
      );
      namespaces = [await readNamespace(listers, options.contextNamespace, deny)];
    }
  } else {
    namespaces = [];
    for (const name of [...new Set(options.namespaces)])
      namespaces.push(await readNamespace(listers, name, deny));
  }
  namespaces.sort((a, b) => byText(a.name, b.name));
  const names = namespaces.map((n) => n.name);

  // 2. Each resource: one cluster-wide list when allowed, else one list per namespace.
  async function read<T>(resource: Resource, page: NamespacedPageSource<T>, selector?: string): Promise<T[]> {
    if (clusterWide) {
      try {
        return await list(resource, page, undefined, selector);
      } catch (err) {
        if (!denied(err)) fatal(resource, err);
        // Denied cluster-wide; RBAC may still allow it namespace by namespace (RoleBindings).
      }
    }
    const out: T[] = [];
    for (const ns of names) {
      try {
        out.push(...(await list(resource, page, ns, selector)));
      } catch (err) {
        const d = denied(err);
        if (!d) fatal(`${resource} in namespace ${ns}`, err);
        deny(resource, ns, d);
      }
    }
    return out;
  }

  const selector = options.labelSelector;
  const services = (await read('services', listers.services, selector)).map(toService);
  const slices = (await read('endpointslices', listers.endpointSlices)).map(toEndpointSlice);
  const pods = (await read('pods', listers.pods)).map(toPod);
  const labelled =
    selector === undefined
      ? undefined
      : new Set((await read('pods', listers.pods, selector)).map((p: KubernetesObject) => key(p)));
  const networkPolicies = (await read('networkpolicies', listers.networkPolicies)).map(toNetworkPolicy);
  // Only when a Service has NodePorts: an audit of ClusterIP Services needs no cluster-scoped right.
  let nodes: Node[] | undefined;
  if (options.nodes && services.some((s) => s.type === 'NodePort' || s.type === 'LoadBalancer')) {
    try {
      nodes = (await list('nodes', () => listers.nodes, undefined)).map(toNode);
    } catch (err) {
      const d = denied(err);
      if (!d) fatal('nodes', err);
      deny('nodes', undefined, d);
    }
  }

  const result: AccessProblem[] = [...problems.entries()].map(([k, p]) => ({
    resource: p.resource,
    namespaces: [...p.namespaces].sort(),
    reason: p.reason,
    consequence: consequences.get(k) ?? CONSEQUENCE[p.resource],
  }));
  const servicesDenied = result.filter((p) => p.resource === 'services').flatMap((p) => p.namespaces);
  if (names.length > 0 && servicesDenied.length === names.length) {
    throw new GatherError(
      `cannot list Services in any namespace in scope (${names.join(', ')}): nothing to audit with these credentials`,
    );
  }
  // Without its EndpointSlices a Service would look endpoint-less: leave such Services out, not blame them.
  const blind = new Set(result.filter((p) => p.resource === 'endpointslices').flatMap((p) => p.namespaces));
  return {
    state: {
      services: services.filter((s) => !blind.has(s.namespace)),
      slices,
      pods,
      networkPolicies,
      namespaces,
      ...(nodes ? { nodes } : {}),
    },
    namespaces: names,
    labelledPods: labelled,
    problems: result,
  };
}

function key(o: KubernetesObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** A namespace named on the command line; unreadable ones are still audited, with defaults. */
async function readNamespace(
  listers: ClusterListers,
  name: string,
  deny: (resource: Resource, namespace: string | undefined, d: Denied, consequence?: string) => void,
): Promise<Namespace> {
  try {
    return toNamespace(await listers.readNamespace(name));
  } catch (err) {
    const d = denied(err);
    if (!d) fatal(`namespace ${name}`, err);
    if (isNotFound(err)) deny('namespaces', name, d, 'no such namespace');
    else deny('namespaces', name, d);
    return { name, uid: '', labels: {}, annotations: {} };
  }
}

/**
 * What `sockeye probe svc/NAME` reads of one Service: the Service, its EndpointSlices, the pods its
 * selector picks, its Namespace and (for NodePort and LoadBalancer Services) the Nodes, as the
 * rules' plain ClusterState. A Namespace or Nodes it may not read are said, not fatal: the hops
 * they feed are then not checked.
 */
import { CoreV1Api, DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Namespace, Node, Service } from '../model/types.ts';
import type { ClusterState } from '../rules/types.ts';
import { SERVICE_NAME_LABEL, toEndpointSlice, toNamespace, toNode, toPod, toService } from './convert.ts';
import { isNotFound, statusCodeOf } from './errors.ts';

export interface ServiceStateRead {
  readonly service: Service;
  readonly state: ClusterState;
  /** What could not be read, and what is not checked because of it. */
  readonly problems: readonly string[];
}

/** Reads `namespace/name`; throws (with `cause`) when the Service itself cannot be read. */
export async function readServiceState(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<ServiceStateRead> {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  let service: Service;
  try {
    service = toService(await core.readNamespacedService({ name, namespace }));
  } catch (err) {
    const why = isNotFound(err) ? 'not found' : `cannot be read (HTTP ${statusCodeOf(err) ?? 'error'})`;
    throw new Error(`Service ${namespace}/${name} ${why}`, { cause: err });
  }
  const problems: string[] = [];
  const labelSelector = Object.entries(service.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const [slices, pods] = await Promise.all([
    discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `${SERVICE_NAME_LABEL}=${name}` }),
    labelSelector === '' ? { items: [] } : core.listNamespacedPod({ namespace, labelSelector }),
  ]);
  const namespaces: Namespace[] = [];
  try {
    namespaces.push(toNamespace(await core.readNamespace({ name: namespace })));
  } catch {
    problems.push(`cannot read Namespace ${namespace}: its sockeye.dev/* settings are not applied`);
  }
  const nodes: Node[] = [];
  if (service.type === 'NodePort' || service.type === 'LoadBalancer') {
    try {
      nodes.push(...(await core.listNode()).items.map(toNode));
    } catch (err) {
      problems.push(
        `cannot list Nodes (HTTP ${statusCodeOf(err) ?? 'error'}): the NodePort hops are not checked`,
      );
    }
  }
  return {
    service,
    problems,
    state: {
      services: [service],
      slices: slices.items.map(toEndpointSlice),
      pods: pods.items.map(toPod),
      networkPolicies: [],
      namespaces,
      nodes,
    },
  };
}

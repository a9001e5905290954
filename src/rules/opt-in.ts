/**
 * The limits on what the opt-in modes reach (docs/design.md "Safety"). A selector-less Service's endpoints are
 * written by anyone who may write an EndpointSlice, and a hostNetwork pod's IP is its node's: without
 * these limits `--probe-selectorless-services` and `--probe-host-network-pods` would let a namespace
 * user point sockeye at the kubelet, the API server or a Service's virtual IP, a port scanner
 * with cluster-wide reach. The always-forbidden addresses (address.ts) apply on top.
 */
import { cidrMatcher } from './address.ts';
import type { ClusterState, RuleOptions } from './types.ts';

/** The kubelet's API (10250) and its read-only port (10255). */
export const KUBELET_PORTS: ReadonlySet<number> = new Set([10250, 10255]);

export interface OptInPolicy {
  /** Why an opted-in target must not be dialled, or undefined when it may be. */
  refusal(ip: string, port: number): string | undefined;
}

/**
 * From the state and the options: the API server's own endpoints (the `default/kubernetes` Service's
 * EndpointSlices, plus any `apiServerAddresses` the caller knows from its kubeconfig), every Service's
 * ClusterIPs, and every address inside the Service ranges (the cluster's ServiceCIDRs the gatherer
 * read, and the ranges the caller was given): a virtual IP no Service holds yet is one a Service may
 * hold next, and kube-proxy forwards it then.
 */
export function optInPolicy(
  state: ClusterState,
  options: Pick<RuleOptions, 'apiServerAddresses' | 'serviceCIDRs'> = {},
): OptInPolicy {
  const apiServer = new Set(options.apiServerAddresses ?? []);
  for (const slice of state.slices) {
    if (slice.namespace !== 'default' || slice.serviceName !== 'kubernetes') continue;
    for (const endpoint of slice.endpoints) for (const ip of endpoint.addresses) apiServer.add(ip);
  }
  const serviceIPs = new Set(state.services.flatMap((s) => s.clusterIPs ?? []));
  const ranges = [...new Set([...(state.serviceCIDRs ?? []), ...(options.serviceCIDRs ?? [])])].map(
    (cidr) => ({ cidr, contains: cidrMatcher(cidr) }),
  );
  return {
    refusal(ip, port) {
      if (KUBELET_PORTS.has(port)) return `kubelet port ${port}`;
      if (apiServer.has(ip)) return 'the API server';
      if (serviceIPs.has(ip)) return 'a Service IP';
      const range = ranges.find((r) => r.contains(ip));
      if (range !== undefined) return `the Service range ${range.cidr}`;
      return undefined;
    },
  };
}

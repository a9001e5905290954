/**
 * The Service data path hops a user connects through (docs/design.md "Safety"): the ClusterIP, the
 * NodePort on each node, the load balancer's address. Only addresses the API server assigned: every
 * `spec.clusterIPs` address on the Service port, each node's InternalIP on the Service's own nodePort
 * (and, with `externalTrafficPolicy: Local`, its healthCheckNodePort), each `status.loadBalancer.ingress`
 * IP on the Service port. Never `spec.externalIPs` (anyone who may write a Service sets them:
 * CVE-2020-8554), never another node port. Only Services with a selector: a selector-less Service's
 * ClusterIP (the API server's `kubernetes` Service among them) forwards to what someone else wrote.
 */
import type { Node, Service, ServicePort } from '../model/types.ts';
import { type Family, familyOf, forbiddenAddress } from './address.ts';
import { KUBELET_PORTS } from './opt-in.ts';
import type { HopChecks, HopKind } from './types.ts';

export type { HopKind };

export interface Hop {
  readonly kind: HopKind;
  readonly ip: string;
  /** The port connected to: the Service port, the nodePort or the healthCheckNodePort. */
  readonly port: number;
  readonly family: Family;
  /** The node of a `node-port` or `health-check` hop. */
  readonly node?: string | undefined;
}

/** The hops of one Service port (its ClusterIPs, NodePorts and load-balancer addresses). */
export function portHops(svc: Service, sp: ServicePort, nodes: readonly Node[], options: HopChecks): Hop[] {
  const hops: Hop[] = [];
  // With internalTrafficPolicy Local a ClusterIP forwards only to the client node's own endpoints:
  // from one node, a failure says nothing about the Service.
  if (options.checkClusterIP && svc.internalTrafficPolicy !== 'Local')
    for (const ip of svc.clusterIPs ?? []) push(hops, 'cluster-ip', ip, sp.port);
  if (options.checkNodePorts && hasNodePorts(svc) && sp.nodePort !== undefined)
    for (const node of nodes)
      for (const ip of node.internalIPs) push(hops, 'node-port', ip, sp.nodePort, node.name);
  if (options.checkLoadBalancers && svc.type === 'LoadBalancer')
    for (const ip of svc.loadBalancerIngress ?? []) push(hops, 'load-balancer', ip, sp.port);
  return hops;
}

/** The health-check hops of a Service with `externalTrafficPolicy: Local`: one per node InternalIP. */
export function healthCheckHops(svc: Service, nodes: readonly Node[], options: HopChecks): Hop[] {
  const port = svc.healthCheckNodePort;
  if (!options.checkNodePorts || !hasNodePorts(svc) || !isLocal(svc) || port === undefined) return [];
  const hops: Hop[] = [];
  for (const node of nodes)
    for (const ip of node.internalIPs) push(hops, 'health-check', ip, port, node.name);
  return hops;
}

export function isLocal(svc: Service): boolean {
  return svc.externalTrafficPolicy === 'Local';
}

function hasNodePorts(svc: Service): boolean {
  return svc.type === 'NodePort' || svc.type === 'LoadBalancer';
}

function push(hops: Hop[], kind: HopKind, ip: string, port: number, node?: string): void {
  const family = familyOf(ip);
  if (!family || forbiddenAddress(ip) !== undefined || KUBELET_PORTS.has(port) || port <= 0) return;
  hops.push({ kind, ip, port, family, node });
}

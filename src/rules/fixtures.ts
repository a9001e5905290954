/**
 * Test builders: small cluster states written in a line each, so rule tables read as sentences. The slice
 * builder does what the endpointslice controller does (serving = Ready, terminating = deleting, ready =
 * serving and not terminating, one slice per family, named ports resolved per pod).
 */

import { shardOf } from '../model/shard.ts';
import type {
  Container,
  ContainerPort,
  Endpoint,
  EndpointSlice,
  Labels,
  Namespace,
  NetworkPolicy,
  Node,
  Pod,
  ReadinessCheck,
  Service,
  ServicePort,
} from '../model/types.ts';
import type { Outcome } from '../probe/outcome.ts';
import { familyOf } from './address.ts';
import type { EvaluateInput, LoopbackResult, ProbeObservation } from './types.ts';
import { resolveTargetPort } from './view.ts';

export const NOW = new Date('2025-06-01T12:00:00Z');
/** Long enough ago that no pod counts as booting. */
export const STARTED = new Date('2025-06-01T11:00:00Z');

export interface PodSpec {
  readonly ns?: string;
  readonly ip?: string | readonly string[];
  readonly labels?: Labels;
  readonly ready?: boolean;
  readonly phase?: Pod['phase'];
  /** `[number]`, `[number, name]` or `[number, name, protocol]`. */
  readonly ports?: readonly (readonly [number, string?, ContainerPort['protocol']?])[];
  readonly readiness?: ReadinessCheck;
  readonly hostNetwork?: boolean;
  readonly terminating?: boolean;
  readonly annotations?: Labels;
  readonly startTime?: Date;
  readonly uid?: string;
  /** The controller, e.g. `Deployment/web`. */
  readonly owner?: `${string}/${string}` | undefined;
  /** `spec.nodeName`; default `node-1`. */
  readonly node?: string;
}

export function pod(name: string, spec: PodSpec = {}): Pod {
  const ips = spec.ip === undefined ? [] : typeof spec.ip === 'string' ? [spec.ip] : [...spec.ip];
  const container: Container = {
    name: 'app',
    ports: (spec.ports ?? []).map(([containerPort, portName, protocol]) => ({
      containerPort,
      name: portName,
      protocol: protocol ?? 'TCP',
    })),
    readiness: spec.readiness ?? { kind: 'none' },
  };
  return {
    namespace: spec.ns ?? 'shop',
    name,
    uid: spec.uid ?? `uid-${name}`,
    labels: spec.labels ?? { app: 'web' },
    annotations: spec.annotations ?? {},
    phase: spec.phase ?? 'Running',
    podIPs: ips,
    ready: spec.ready ?? true,
    containers: [container],
    hostNetwork: spec.hostNetwork ?? false,
    deletionTimestamp: spec.terminating ? new Date('2025-06-01T11:59:50Z') : undefined,
    startTime: spec.startTime ?? STARTED,
    nodeName: spec.node ?? 'node-1',
    owner: spec.owner && {
      kind: spec.owner.slice(0, spec.owner.indexOf('/')),
      name: spec.owner.slice(spec.owner.indexOf('/') + 1),
    },
  };
}

export interface ServiceSpec {
  readonly ns?: string;
  readonly selector?: Labels | undefined;
  /** `[port, targetPort, name]` or with a protocol. */
  readonly ports?: readonly (readonly [number, (number | string)?, string?, ServicePort['protocol']?])[];
  readonly type?: Service['type'];
  readonly publishNotReadyAddresses?: boolean;
  readonly annotations?: Labels;
  readonly clusterIPs?: readonly string[];
  /** The nodePort of each port, in order (NodePort and LoadBalancer Services). */
  readonly nodePorts?: readonly number[];
  readonly externalTrafficPolicy?: Service['externalTrafficPolicy'];
  readonly internalTrafficPolicy?: Service['internalTrafficPolicy'];
  readonly healthCheckNodePort?: number;
  readonly ingress?: readonly string[];
}

export function svc(name: string, spec: ServiceSpec = {}): Service {
  return {
    namespace: spec.ns ?? 'shop',
    name,
    uid: `uid-${name}`,
    type: spec.type ?? 'ClusterIP',
    selector: 'selector' in spec ? spec.selector : { app: 'web' },
    ports: (spec.ports ?? [[80, 8080, 'http']]).map(([port, targetPort, portName, protocol], i) => ({
      name: portName ?? '',
      port,
      protocol: protocol ?? 'TCP',
      targetPort: targetPort ?? port,
      nodePort: spec.nodePorts?.[i],
    })),
    publishNotReadyAddresses: spec.publishNotReadyAddresses ?? false,
    annotations: spec.annotations ?? {},
    clusterIPs: spec.clusterIPs,
    externalTrafficPolicy: spec.externalTrafficPolicy,
    internalTrafficPolicy: spec.internalTrafficPolicy,
    healthCheckNodePort: spec.healthCheckNodePort,
    loadBalancerIngress: spec.ingress,
  };
}

export function node(name: string, ...internalIPs: readonly string[]): Node {
  return { name, internalIPs };
}

/** The slices the endpointslice controller would write for `service` over `pods` (one per family). */
export function slicesFor(service: Service, pods: readonly Pod[]): EndpointSlice[] {
  const families = ['IPv4', 'IPv6'] as const;
  return families.flatMap((family) => {
    const endpoints: Endpoint[] = pods.flatMap((p) => {
      const addresses = p.podIPs.filter((ip) => familyOf(ip) === family);
      if (addresses.length === 0 || p.phase === 'Succeeded' || p.phase === 'Failed') return [];
      const terminating = p.deletionTimestamp !== undefined;
      return [
        {
          addresses,
          serving: p.ready,
          terminating,
          ready: service.publishNotReadyAddresses || (p.ready && !terminating),
          targetRef: { kind: 'Pod', namespace: p.namespace, name: p.name, uid: p.uid },
          nodeName: p.nodeName,
        },
      ];
    });
    if (endpoints.length === 0 && family === 'IPv6') return [];
    const first = pods[0];
    return [
      {
        namespace: service.namespace,
        name: `${service.name}-${family.toLowerCase()}`,
        serviceName: service.name,
        addressType: family,
        ports: service.ports.map((sp) => ({
          name: sp.name,
          port: first ? resolveTargetPort(sp, first) : undefined,
          protocol: sp.protocol,
        })),
        endpoints,
      },
    ];
  });
}

/** `[ip, port, outcome]` triples as the prober reports them. */
export function probes(...results: readonly (readonly [string, number, Outcome])[]): ProbeObservation[] {
  return results.map(([ip, port, outcome]) => ({ target: { ip, port }, outcome }));
}

export function loopback(pod: string, port: number, outcome: Outcome, ns = 'shop'): LoopbackResult {
  return { namespace: ns, pod, port, outcome };
}

export function namespace(name: string, labels: Labels = {}, annotations: Labels = {}): Namespace {
  return { name, uid: `uid-ns-${name}`, labels, annotations };
}

export function denyAll(name: string, ns = 'shop', podLabels: Labels = {}): NetworkPolicy {
  return {
    namespace: ns,
    name,
    podSelector: { matchLabels: podLabels, matchExpressions: [] },
    policyTypes: ['Ingress'],
    ingress: [],
    egress: [],
  };
}

export interface WorldSpec extends Partial<Omit<EvaluateInput, 'slices'>> {
  /** Default: what the endpointslice controller would write for each Service over the pods it selects. */
  readonly slices?: readonly EndpointSlice[];
}

/** A whole input: defaults are one namespace, no policies, the prober in `sockeye`, and `NOW`. */
export function world(spec: WorldSpec): EvaluateInput {
  const services = spec.services ?? [];
  const pods = spec.pods ?? [];
  const selects = (s: Service, p: Pod) =>
    p.namespace === s.namespace &&
    s.selector !== undefined &&
    Object.entries(s.selector).every(([k, v]) => p.labels[k] === v);
  return {
    services,
    pods,
    slices:
      spec.slices ??
      services.flatMap((s) =>
        s.selector
          ? slicesFor(
              s,
              pods.filter((p) => selects(s, p)),
            )
          : [],
      ),
    networkPolicies: spec.networkPolicies ?? [],
    namespaces: spec.namespaces ?? [namespace('shop'), namespace('sockeye')],
    probes: spec.probes ?? [],
    loopback: spec.loopback,
    prober: spec.prober ?? { namespace: 'sockeye', labels: { app: 'sockeye' } },
    previous: spec.previous,
    nodes: spec.nodes,
    serviceCIDRs: spec.serviceCIDRs,
    options: spec.options,
    now: spec.now ?? NOW,
  };
}

/** A shard count (2 to 5) that puts Services `a` and `b` of `namespace` in different shards. */
export function countSplitting(namespace: string, a: string, b: string): number {
  const count = [2, 3, 4, 5].find((n) => shardOf(namespace, a, n) !== shardOf(namespace, b, n));
  if (count === undefined) throw new Error(`no shard count splits ${a} and ${b}`);
  return count;
}

/**
 * What to probe. Only pod IPs Kubernetes vouches for (a live pod the Service selects, named by the slice's
 * targetRef), only declared or resolved ports, never loopback, link-local, metadata, unspecified or
 * multicast addresses; hostNetwork pods and selector-less Services only when opted in (docs/design.md "Safety").
 */

import { isIgnored } from '../config/annotations.ts';
import type { Pod, Service } from '../model/types.ts';
import type { AppCheck } from '../probe/outcome.ts';
import { type Family, familyOf, forbiddenAddress } from './address.ts';
import { LB_CONNECTS } from './connects.ts';
import type { HopKind } from './hops.ts';
import type { ClusterState, PodRef } from './types.ts';
import { declaredPorts, type Index, indexState, podSkip, targetKey } from './view.ts';

export { targetKey };

/** A target to probe; has the `ip` and `port` src/probe's targets have, and what the rules add. */
/**
 * kube-proxy's healthCheckNodePort answers any path: HTTP 200 with the node's local endpoint count,
 * 503 when it has none. A connect alone says nothing (it is accepted either way); the status does.
 */
const HEALTH_CHECK: AppCheck = { kind: 'http', path: '/', expectStatus: [200] };

export interface PlannedTarget {
  readonly ip: string;
  readonly port: number;
  readonly family: Family;
  /** The namespace of the Service or Pod it is planned for: whose share of the probe bound it takes. */
  readonly namespace: string;
  /** From `sockeye.dev/timeout` (Pod, then Service, then Namespace) or the default. */
  readonly timeoutMs: number;
  /** Undefined only for an opted-in selector-less Service whose endpoint names no pod. */
  readonly pod?: (PodRef & { readonly uid: string }) | undefined;
  /** Set for a hop of the Service's data path (ClusterIP, NodePort, health check, load balancer). */
  readonly hop?: { readonly kind: HopKind; readonly node?: string | undefined } | undefined;
  /** Connects per round to this address (a load balancer's: connects.ts); once when unset. */
  readonly connects?: number | undefined;
  /** An HTTP check after the connect (health-check hops: kube-proxy's answer). */
  readonly app?: AppCheck | undefined;
}

/** The targets of one Service: each (pod IP, resolved target port) of its TCP ports. */
export function planTargets(service: Service, state: ClusterState | Index): PlannedTarget[] {
  return serviceTargets(service, asIndex(state));
}

/** The declared TCP containerPorts of one pod on each of its IPs (the sidecar's and audit's extra targets). */
export function planPodTargets(pod: Pod, state: ClusterState | Index): PlannedTarget[] {
  return podTargets(pod, asIndex(state));
}

/** Every Service's targets and every eligible pod's declared ports, each ip:port once. */
export function planAllTargets(state: ClusterState | Index): PlannedTarget[] {
  const index = asIndex(state);
  const { state: s } = index;
  const all = [
    ...s.services.flatMap((svc) => serviceTargets(svc, index)),
    ...s.pods.flatMap((p) => podTargets(p, index)),
  ];
  const seen = new Set<string>();
  return all.filter((t) => {
    const key = targetKey(t.ip, t.port);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** An index as given, or one built for a bare state (tests and one-off callers). */
function asIndex(state: ClusterState | Index): Index {
  return 'serviceView' in state ? state : indexState(state);
}

function serviceTargets(service: Service, index: Index): PlannedTarget[] {
  const view = index.serviceView(service);
  const pods = view.ports.flatMap((p) =>
    p.targets.map((t) => ({
      ip: t.ip,
      port: t.port,
      family: t.family,
      namespace: service.namespace,
      timeoutMs: t.timeoutMs,
      pod: t.pod ? { namespace: t.pod.namespace, name: t.pod.name, uid: t.pod.uid } : undefined,
    })),
  );
  const hops = [...view.ports.flatMap((p) => p.hops), ...view.healthChecks];
  if (hops.length === 0) return pods;
  const { timeoutMs } = index.config(service);
  const seen = new Set<string>();
  const hopTargets = hops.flatMap((h): PlannedTarget[] => {
    const key = targetKey(h.ip, h.port);
    if (seen.has(key)) return [];
    seen.add(key);
    const hop = { kind: h.kind, node: h.node };
    const target = { ip: h.ip, port: h.port, family: h.family, namespace: service.namespace, timeoutMs, hop };
    if (h.kind === 'load-balancer') return [{ ...target, connects: LB_CONNECTS }];
    return [h.kind === 'health-check' ? { ...target, app: HEALTH_CHECK } : target];
  });
  return [...pods, ...hopTargets];
}

function podTargets(pod: Pod, index: Index): PlannedTarget[] {
  if (podSkip(pod, index) !== undefined) return [];
  const config = index.config(pod);
  const ports = new Set(
    declaredPorts(pod)
      .filter((p) => p.protocol === 'TCP' && !isIgnored(config, p.name, p.containerPort))
      .map((p) => p.containerPort),
  );
  const out: PlannedTarget[] = [];
  for (const ip of pod.podIPs) {
    const family = familyOf(ip);
    if (!family || forbiddenAddress(ip) !== undefined) continue;
    for (const port of ports) {
      if (pod.hostNetwork && index.optIn.refusal(ip, port) !== undefined) continue;
      out.push({
        ip,
        port,
        family,
        namespace: pod.namespace,
        timeoutMs: config.timeoutMs,
        pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
      });
    }
  }
  return out;
}

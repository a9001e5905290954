/**
 * Who reports about a pod or a Namespace when the Services are sharded (docs/design.md "Sharding").
 * A Service's reconcile judges the Service and the pods it sends to; with shards, two Services over
 * one pod may live in two shards, and both would write the pod's Events and annotations. So each pod
 * has one home Service, named from data every shard holds (every Service, and the pod itself): its
 * findings are written only by the reconcile of that Service, in that Service's shard.
 */
import { parseBoolean } from '../config/annotations.ts';
import { PROBE_ANNOTATION } from '../model/annotation-keys.ts';
import type { Pod, Service } from '../model/types.ts';
import { selectsPod } from './selectors.ts';
import { resolveTargetPort } from './view.ts';

/** Whether the Service's reconcile can judge this pod: it selects it and has a port that reaches it. */
export function sendsTo(service: Service, pod: Pod): boolean {
  if (service.type === 'ExternalName' || optedOut(service)) return false;
  if (!selectsPod(service.selector, pod.labels)) return false;
  return service.ports.some((sp) => sp.protocol === 'TCP' && resolveTargetPort(sp, pod) !== undefined);
}

/**
 * The Service that reports the pod's own findings: of the Services that send to it, the least by name
 * (they share the pod's namespace). Undefined when none does (then whichever reconcile judges the pod,
 * through a hand-made EndpointSlice, reports it).
 */
export function podHome(pod: Pod, services: readonly Service[]): Service | undefined {
  let home: Service | undefined;
  for (const s of services) if (sendsTo(s, pod) && (home === undefined || s.name < home.name)) home = s;
  return home;
}

/** The Service that reports a Namespace's findings: its Service least by name. */
export function namespaceHome(services: readonly Service[]): Service | undefined {
  let home: Service | undefined;
  for (const s of services) if (home === undefined || s.name < home.name) home = s;
  return home;
}

function optedOut(service: Service): boolean {
  const value = service.annotations[PROBE_ANNOTATION];
  if (value === undefined) return false;
  const parsed = parseBoolean(value);
  return parsed.ok && !parsed.value;
}

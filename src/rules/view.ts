/**
 * The rules' read model: the cluster state indexed once, and each Service seen as ports -> targets by the
 * docs/design.md "Safety" rules. planTargets (what to probe) and evaluate (what the probes mean) both stand on it,
 * so they cannot disagree about which targets exist.
 */
import {
  type AnnotationLayer,
  DEFAULT_CONFIG,
  isIgnored,
  type ProbeConfig,
  resolveConfig,
} from '../config/annotations.ts';
import type {
  ContainerPort,
  Endpoint,
  EndpointSlice,
  Namespace,
  ObjectRef,
  Pod,
  Service,
  ServicePort,
} from '../model/types.ts';
import { type Family, familyOf, forbiddenAddress } from './address.ts';
import { type Hop, healthCheckHops, portHops } from './hops.ts';
import { type OptInPolicy, optInPolicy } from './opt-in.ts';
import { selectsPod } from './selectors.ts';
import { type ClusterState, DEFAULT_OPTIONS, type RuleOptions } from './types.ts';

export interface Index {
  readonly state: ClusterState;
  readonly options: RuleOptions;
  podsIn(namespace: string): readonly Pod[];
  pod(namespace: string, name: string): Pod | undefined;
  namespace(name: string): Namespace | undefined;
  slicesOf(service: Service): readonly EndpointSlice[];
  /** Pod > Service > Namespace, nearest wins; problems are reported per object elsewhere. */
  config(...objects: readonly (Pod | Service | undefined)[]): ProbeConfig;
  /** What a target sockeye reaches only by opt-in (selector-less endpoint, hostNetwork pod) must not be. */
  readonly optIn: OptInPolicy;
  /** The Service as ports -> targets, built once per index. */
  serviceView(svc: Service): ServiceView;
}

/**
 * Indexes one cluster state. The index also keeps each Service's view once built: planning,
 * judging and describing one state (rules.ts) all read the same views.
 */
export function indexState(state: ClusterState): Index {
  return buildIndex(state);
}

function buildIndex(state: ClusterState): Index {
  const options: RuleOptions = { ...DEFAULT_OPTIONS, ...definedOnly(state.options ?? {}) };
  const podsByNs = groupBy(state.pods, (p) => p.namespace);
  const podByKey = new Map(state.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
  const nsByName = new Map(state.namespaces.map((n) => [n.name, n]));
  const slicesByService = groupBy(state.slices, (s) => `${s.namespace}/${s.serviceName}`);
  const defaults: ProbeConfig = { ...DEFAULT_CONFIG, timeoutMs: options.defaultTimeoutMs };
  let optIn: OptInPolicy | undefined;
  const views = new Map<Service, ServiceView>();
  const index: Index = {
    state,
    options,
    // Built on first use: only the opt-in modes ask.
    get optIn() {
      optIn ??= optInPolicy(state, options);
      return optIn;
    },
    podsIn: (ns) => podsByNs.get(ns) ?? [],
    pod: (ns, name) => podByKey.get(`${ns}/${name}`),
    namespace: (name) => nsByName.get(name),
    slicesOf: (svc) => slicesByService.get(`${svc.namespace}/${svc.name}`) ?? [],
    config(...objects) {
      const present = objects.filter((o): o is Pod | Service => o !== undefined);
      const ns = present[0] ? nsByName.get(present[0].namespace) : undefined;
      const layers: AnnotationLayer[] = present.map((o) => ({
        object: refOf(o),
        annotations: o.annotations,
      }));
      if (ns) layers.push({ object: namespaceRef(ns), annotations: ns.annotations });
      return resolveConfig(layers, defaults).config;
    },
    serviceView(svc) {
      let view = views.get(svc);
      if (!view) {
        view = buildServiceView(svc, index);
        views.set(svc, view);
      }
      return view;
    },
  };
  return index;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

export function isService(o: Pod | Service): o is Service {
  return 'ports' in o;
}

export function refOf(o: Pod | Service): ObjectRef {
  return { kind: isService(o) ? 'Service' : 'Pod', namespace: o.namespace, name: o.name, uid: o.uid };
}

export function namespaceRef(ns: Namespace): ObjectRef {
  return { kind: 'Namespace', namespace: '', name: ns.name, uid: ns.uid };
}

/** Not terminating and not finished: a pod whose IP still belongs to it. */
export function isLive(pod: Pod): boolean {
  return pod.deletionTimestamp === undefined && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

export function declaredPorts(pod: Pod): readonly ContainerPort[] {
  return pod.containers.flatMap((c) => c.ports);
}

/** The number a Service port sends to on this pod, resolving a named targetPort as kube-proxy does. */
export function resolveTargetPort(sp: ServicePort, pod: Pod): number | undefined {
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  return declaredPorts(pod).find((p) => p.name === sp.targetPort && p.protocol === sp.protocol)
    ?.containerPort;
}

/**
 * Whether the pod claims the port `sp` sends to, and so may be blamed for it: it declares that port (a
 * named targetPort resolves only to a declared one), or it declares no ports at all (declaring is
 * optional, so nothing says the port is not its own). A pod that declares other ports only is sent
 * traffic it never asked for: the Service's targetPort or selector is at fault, not the pod.
 */
export function claimsPort(sp: ServicePort, pod: Pod): boolean {
  const declared = declaredPorts(pod);
  if (declared.length === 0) return true;
  const n = resolveTargetPort(sp, pod);
  return declared.some((d) => d.containerPort === n && d.protocol === sp.protocol);
}

/** What a Service port sends to, in messages: `8080/TCP`, or `"http"` for a named targetPort. */
export function targetPortLabel(sp: ServicePort): string {
  return typeof sp.targetPort === 'number' ? `${sp.targetPort}/${sp.protocol}` : `"${sp.targetPort}"`;
}

/** `http (80/TCP)`, or `80/TCP` for an unnamed port. */
export function portLabel(name: string, number: number, protocol: string): string {
  return name === '' ? `${number}/${protocol}` : `${name} (${number}/${protocol})`;
}

export function servicePortLabel(sp: ServicePort): string {
  return portLabel(sp.name, sp.port, sp.protocol);
}

export interface TargetView {
  readonly ip: string;
  readonly family: Family;
  readonly port: number;
  /** Undefined only for an opted-in selector-less Service whose endpoint names no pod. */
  readonly pod?: Pod | undefined;
  readonly endpoint: Endpoint;
  /** kube-proxy sends traffic to it: ready, or any endpoint when publishNotReadyAddresses is set. */
  readonly inRotation: boolean;
  readonly timeoutMs: number;
}

export interface ServicePortView {
  readonly port: ServicePort;
  /** Why this port is not probed: a protocol other than TCP, or `sockeye.dev/ignore-ports`. */
  readonly skip?: string | undefined;
  readonly targets: readonly TargetView[];
  /** The data path to this port: ClusterIPs, NodePorts, load-balancer addresses (hops.ts). */
  readonly hops: readonly Hop[];
}

export interface ServiceView {
  readonly service: Service;
  readonly ref: ObjectRef;
  /** Why the whole Service is not probed (ExternalName, opted out, selector-less). */
  readonly skip?: string | undefined;
  /** Every pod of the namespace the selector matches, live or not. */
  readonly matched: readonly Pod[];
  /** The live ones among them. */
  readonly selected: readonly Pod[];
  readonly endpoints: readonly Endpoint[];
  /** When the Service's endpoints last changed, as its slices say (the latest of them). */
  readonly endpointsChangedAt?: Date | undefined;
  readonly ports: readonly ServicePortView[];
  /** The healthCheckNodePort on each node (`externalTrafficPolicy: Local`). */
  readonly healthChecks: readonly Hop[];
}

/** The key probe outcomes are matched by. */
export function targetKey(ip: string, port: number): string {
  return `${ip}|${port}`;
}

export function hasSelector(svc: Service): boolean {
  return svc.selector !== undefined && Object.keys(svc.selector).length > 0;
}

function buildServiceView(svc: Service, index: Index): ServiceView {
  const ref = refOf(svc);
  const matched = hasSelector(svc)
    ? index.podsIn(svc.namespace).filter((p) => selectsPod(svc.selector, p.labels))
    : [];
  const selected = matched.filter(isLive);
  const slices = index.slicesOf(svc);
  const endpoints = slices.flatMap((s) => s.endpoints);
  const config = index.config(svc);
  const nodes = index.state.nodes ?? [];
  const skip =
    svc.type === 'ExternalName'
      ? 'ExternalName Service'
      : !config.probe
        ? 'opted out by sockeye.dev/probe'
        : !hasSelector(svc) && !index.options.selectorless
          ? 'no selector (selector-less Services are opt-in)'
          : undefined;
  const ports = svc.ports.map((sp): ServicePortView => {
    const portSkip =
      sp.protocol !== 'TCP'
        ? `${sp.protocol} is not probed`
        : isIgnored(config, sp.name, sp.port, sp.targetPort)
          ? 'ignored by sockeye.dev/ignore-ports'
          : undefined;
    const probed = skip === undefined && portSkip === undefined;
    return {
      port: sp,
      skip: portSkip,
      targets: probed ? targetsOf(svc, sp, slices, index) : [],
      hops: probed && hasSelector(svc) ? portHops(svc, sp, nodes, index.options) : [],
    };
  });
  const healthChecks =
    skip === undefined && hasSelector(svc) && ports.some((p) => p.hops.length > 0)
      ? healthCheckHops(svc, nodes, index.options)
      : [];
  const changed = slices.flatMap((s) => (s.changedAt ? [s.changedAt.getTime()] : []));
  const endpointsChangedAt = changed.length > 0 ? new Date(Math.max(...changed)) : undefined;
  return { service: svc, ref, skip, matched, selected, endpoints, endpointsChangedAt, ports, healthChecks };
}

function targetsOf(
  svc: Service,
  sp: ServicePort,
  slices: readonly EndpointSlice[],
  index: Index,
): TargetView[] {
  const out: TargetView[] = [];
  const seen = new Set<string>();
  for (const slice of slices) {
    if (slice.addressType === 'FQDN' || slice.namespace !== svc.namespace) continue;
    const slicePort = slice.ports.find((p) => p.name === sp.name && p.protocol === sp.protocol)?.port;
    for (const endpoint of slice.endpoints) {
      const pod = vouchedPod(svc, endpoint, index);
      if (pod === 'reject') continue;
      if (pod === undefined && hasSelector(svc)) continue;
      const config = index.config(pod, svc);
      if (!config.probe) continue;
      // Selector-based: resolve from the pod spec (what Kubernetes vouches for); selector-less: the slice.
      const port = pod && hasSelector(svc) ? resolveTargetPort(sp, pod) : slicePort;
      if (port === undefined || isIgnored(config, sp.name, sp.port, sp.targetPort, port)) continue;
      const optedIn = !hasSelector(svc) || pod?.hostNetwork === true;
      for (const ip of endpoint.addresses) {
        const family = familyOf(ip);
        if (!family || forbiddenAddress(ip) !== undefined) continue;
        if (pod && !pod.podIPs.includes(ip)) continue;
        if (optedIn && index.optIn.refusal(ip, port) !== undefined) continue;
        const key = targetKey(ip, port);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({
          ip,
          family,
          port,
          pod,
          endpoint,
          inRotation: endpoint.ready || svc.publishNotReadyAddresses,
          timeoutMs: config.timeoutMs,
        });
      }
    }
  }
  return out;
}

/**
 * The pod an endpoint's targetRef names, if Kubernetes vouches for it: it exists, is live, is selected by
 * the Service, and is not hostNetwork (unless opted in). `undefined` when the endpoint names no pod.
 */
function vouchedPod(svc: Service, endpoint: Endpoint, index: Index): Pod | undefined | 'reject' {
  const ref = endpoint.targetRef;
  if (ref?.kind !== 'Pod') return hasSelector(svc) ? 'reject' : undefined;
  const pod = index.pod(ref.namespace || svc.namespace, ref.name);
  if (!pod || pod.namespace !== svc.namespace) return 'reject';
  if (ref.uid !== '' && pod.uid !== '' && ref.uid !== pod.uid) return 'reject';
  if (!isLive(pod) || (pod.hostNetwork && !index.options.hostNetwork)) return 'reject';
  if (hasSelector(svc) && !selectsPod(svc.selector, pod.labels)) return 'reject';
  return pod;
}

/** Whether the pod-level rules look at this pod at all. */
export function podSkip(pod: Pod, index: Index): string | undefined {
  if (pod.hostNetwork && !index.options.hostNetwork) return 'hostNetwork pod (opt-in)';
  if (!index.config(pod).probe) return 'opted out by sockeye.dev/probe';
  if (pod.deletionTimestamp !== undefined) return 'terminating';
  if (!isLive(pod)) return `${pod.phase}`;
  return undefined;
}

/**
 * One port of a pod: declared, and/or the target of Service ports the pod claims (it declares the port,
 * or no ports at all). A Service target the pod does not declare, beside ports it does, is left out: it
 * is probed as the Service's target and judged on the Service, never on the pod.
 */
export interface PodPortView {
  readonly number: number;
  /** The declared containerPort name, or '' when undeclared or unnamed. */
  readonly name: string;
  readonly declared: boolean;
  readonly serving: readonly { readonly service: Service; readonly port: ServicePort }[];
}

export interface PodView {
  readonly pod: Pod;
  readonly skip?: string | undefined;
  readonly ports: readonly PodPortView[];
}

/** Every pod of the state as ports -> what serves them, beside the Service views. */
export function podViews(pods: readonly Pod[], services: readonly ServiceView[], index: Index): PodView[] {
  // Sets, not Array.includes: a large Service over thousands of pods must stay linear.
  const selected = services.map((v) => ({ view: v, pods: new Set(v.selected) }));
  return pods.map((p) => podView(p, selected, index));
}

function podView(
  pod: Pod,
  services: readonly { readonly view: ServiceView; readonly pods: ReadonlySet<Pod> }[],
  index: Index,
): PodView {
  const skip = podSkip(pod, index);
  if (skip !== undefined) return { pod, skip, ports: [] };
  const config = index.config(pod);
  const ports = new Map<
    number,
    { name: string; declared: boolean; serving: PodPortView['serving'][number][] }
  >();
  const entry = (n: number) => {
    let e = ports.get(n);
    if (!e) {
      e = { name: '', declared: false, serving: [] };
      ports.set(n, e);
    }
    return e;
  };
  for (const cp of declaredPorts(pod)) {
    if (cp.protocol !== 'TCP') continue;
    const e = entry(cp.containerPort);
    e.declared = true;
    if (e.name === '' && cp.name) e.name = cp.name;
  }
  for (const { view: v, pods } of services) {
    if (v.skip !== undefined || !pods.has(pod)) continue;
    for (const pv of v.ports) {
      if (pv.skip !== undefined) continue;
      const n = resolveTargetPort(pv.port, pod);
      // Only ports the pod claims: it is not told about traffic it never asked for (evaluate.ts, top).
      if (n !== undefined && claimsPort(pv.port, pod))
        entry(n).serving.push({ service: v.service, port: pv.port });
    }
  }
  const views = [...ports.entries()]
    .filter(([n, e]) => !isIgnored(config, e.name, n))
    .sort(([a], [b]) => a - b)
    .map(([number, e]): PodPortView => ({ number, ...e }));
  return { pod, ports: views };
}

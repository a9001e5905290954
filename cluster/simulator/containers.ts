import type { V1Container, V1Pod, V1Service } from '@kubernetes/client-node';

/**
 * Which containers of a simulated pod run for real, as processes inside the pod's namespace, and
 * how: sockeye's own image (the operator, sidecar and audit under test) maps to this checkout's
 * `bin/sockeye.js`. Everything else stays a socket simulation.
 */
export interface RunConfig {
  /** Image names (without tag or digest) that run as sockeye. */
  readonly images: readonly string[];
  /** What `sockeye` means on this machine, e.g. [node, /repo/bin/sockeye.js]. */
  readonly sockeye: readonly string[];
}

export const DEFAULT_RUN_IMAGES = ['sockeye', 'ghcr.io/sockeye-dev/sockeye'] as const;

export function imageName(image: string | undefined): string {
  if (!image) return '';
  const noDigest = image.split('@')[0] ?? '';
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? noDigest : noDigest.slice(0, colon);
}

export function runnableContainers(pod: V1Pod, config: RunConfig): V1Container[] {
  return (pod.spec?.containers ?? []).filter((c) => config.images.includes(imageName(c.image)));
}

/** The process argv of a container: the image's entry point is `sockeye`; `command` replaces it. */
export function containerArgv(container: V1Container, config: RunConfig): string[] {
  const command = container.command && container.command.length > 0 ? container.command : ['sockeye'];
  const [first, ...rest] = command;
  const head = first === 'sockeye' || first === '/app/bin/sockeye.js' ? [...config.sockeye] : [first ?? ''];
  return [...head, ...rest, ...(container.args ?? [])];
}

export interface DownwardValues {
  /** IPv4 first, as a kubelet lists them. */
  readonly podIPs: readonly string[];
  readonly hostIP: string;
}

/** The container's environment: literal values and the downward API fields a kubelet resolves. */
export function containerEnv(
  container: V1Container,
  pod: V1Pod,
  values: DownwardValues,
): Record<string, string> {
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'metadata.uid': pod.metadata?.uid,
    'spec.nodeName': pod.spec?.nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName ?? 'default',
    'status.podIP': values.podIPs[0],
    'status.podIPs': values.podIPs.join(','),
    'status.hostIP': values.hostIP,
  };
  const env: Record<string, string> = { HOSTNAME: pod.metadata?.name ?? '' };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const path = e.valueFrom?.fieldRef?.fieldPath;
    const value = path === undefined ? undefined : fields[path];
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

/**
 * The Service variables a kubelet gives a pod's containers (unless `enableServiceLinks: false`), for
 * the Services of its namespace that have a ClusterIP when it starts: `NAME_SERVICE_HOST`,
 * `NAME_SERVICE_PORT` (the first port) and `NAME_SERVICE_PORT_PORTNAME` per named port, the name in
 * upper case with `-` as `_`. (The Docker-link `NAME_PORT*` variables are left out.) The local
 * cluster has no DNS, so a pod finds a Service this way.
 */
export function serviceLinkEnv(services: readonly V1Service[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const svc of services) {
    const ip = svc.spec?.clusterIP;
    const name = svc.metadata?.name;
    const ports = svc.spec?.ports ?? [];
    if (!ip || ip === 'None' || !name || ports.length === 0) continue;
    const prefix = name.toUpperCase().replaceAll('-', '_');
    env[`${prefix}_SERVICE_HOST`] = ip;
    env[`${prefix}_SERVICE_PORT`] = String(ports[0]?.port);
    for (const p of ports) {
      if (p.name) env[`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replaceAll('-', '_')}`] = String(p.port);
    }
  }
  return env;
}

/** Whether a ServiceAccount token is mounted, as the kubelet decides it from the pod spec. */
export function mountsToken(pod: V1Pod): boolean {
  return pod.spec?.automountServiceAccountToken !== false;
}

/** The httpGet readiness probe of the runnable containers, if any, with its port resolved. */
export function readinessProbes(containers: readonly V1Container[]): { port: number; path: string }[] {
  const probes: { port: number; path: string }[] = [];
  for (const c of containers) {
    const get = c.readinessProbe?.httpGet;
    if (!get) continue;
    const port =
      typeof get.port === 'number'
        ? get.port
        : (c.ports?.find((p) => p.name === get.port)?.containerPort ?? Number(get.port));
    if (Number.isInteger(port)) probes.push({ port, path: get.path ?? '/' });
  }
  return probes;
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EventsV1Api, type EventsV1Event, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { deleteNamespace, eventually, type TestKube } from '../support/kube.ts';
import { tcpConnect } from '../support/tcp.ts';

export const SIDECAR_PORT = 9876;

/** The sidecar container as a user would add it (README "sockeye sidecar"), with test-speed rounds. */
export function sidecarContainer(
  args: readonly string[] = [],
  extra: Partial<V1Container> = {},
): V1Container {
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  return {
    name: 'sockeye',
    image: 'sockeye:dev',
    args: ['sidecar', '--interval=1s', '--confirmations=1', ...args],
    ports: [{ name: 'sockeye', containerPort: SIDECAR_PORT }],
    env: [
      { name: 'POD_NAME', ...field('metadata.name') },
      { name: 'POD_NAMESPACE', ...field('metadata.namespace') },
      { name: 'POD_UID', ...field('metadata.uid') },
      { name: 'POD_IPS', ...field('status.podIPs') },
    ],
    ...extra,
  };
}

export interface PodSpec {
  readonly name: string;
  /** `sim.sockeye.dev/listen` of the app; undefined: nothing listens. */
  readonly listen?: string;
  readonly appPorts?: readonly number[];
  readonly serviceAccount?: string;
  readonly automountToken?: boolean;
  readonly sidecarArgs?: readonly string[];
  readonly sidecar?: Partial<V1Container>;
  /** More pod annotations, e.g. `sim.sockeye.dev/ipv6: "true"` for a dual-stack pod. */
  readonly annotations?: Readonly<Record<string, string>>;
}

export function podWithSidecar(spec: PodSpec): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name,
      annotations: {
        ...(spec.listen ? { 'sim.sockeye.dev/listen': spec.listen } : {}),
        ...spec.annotations,
      },
    },
    spec: {
      ...(spec.serviceAccount ? { serviceAccountName: spec.serviceAccount } : {}),
      ...(spec.automountToken === false ? { automountServiceAccountToken: false } : {}),
      containers: [
        {
          name: 'app',
          image: 'example/app:1',
          ports: (spec.appPorts ?? [8080]).map((containerPort) => ({
            name: `p${containerPort}`,
            containerPort,
          })),
        },
        sidecarContainer(spec.sidecarArgs, spec.sidecar),
      ],
    },
  };
}

export async function podIP(kube: TestKube, namespace: string, name: string): Promise<string> {
  return eventually(`${name} running`, async () => {
    const p: V1Pod = await kube.core.readNamespacedPod({ name, namespace });
    return p.status?.phase === 'Running' ? p.status.podIP : undefined;
  });
}

export interface PortStatus {
  readonly port: number;
  readonly class: string;
  readonly detail: string;
  readonly declared: boolean;
}

export interface SidecarStatus {
  readonly portsFrom: string;
  readonly ready: boolean;
  readonly rounds: number;
  readonly ports: readonly PortStatus[];
  readonly api: Record<'read' | 'event' | 'patch', string>;
}

/** GET from the sidecar's port on the pod IP, as a kubelet would. */
export async function sidecarGet(ip: string, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${ip}:${SIDECAR_PORT}${path}`, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, body: await res.text() };
}

/** Waits until the sidecar's /status satisfies `ok`. */
export function sidecarStatus(
  ip: string,
  what: string,
  ok: (s: SidecarStatus) => boolean,
  timeoutMs = 60_000,
): Promise<SidecarStatus> {
  return eventually(
    what,
    async () => {
      const { status, body } = await sidecarGet(ip, '/status');
      if (status !== 200) throw new Error(`GET /status: ${status} ${body}`);
      const s = JSON.parse(body) as SidecarStatus;
      return s.rounds > 0 && ok(s) ? s : undefined;
    },
    timeoutMs,
  );
}

export function classes(s: SidecarStatus): Record<number, string> {
  return Object.fromEntries(s.ports.map((p) => [p.port, p.class]));
}

export function sidecarLog(namespace: string, pod: string): Promise<string> {
  const dir = inject('localCluster')?.dir;
  if (!dir) return Promise.resolve('');
  return readFile(join(dir, 'pods', `${namespace}_${pod}`, 'sockeye.log'), 'utf8').catch(() => '');
}

export async function sidecarEvents(
  kube: TestKube,
  namespace: string,
  pod: string,
): Promise<EventsV1Event[]> {
  const api = kube.kc.makeApiClient(EventsV1Api);
  const { items } = await api.listNamespacedEvent({ namespace });
  return items.filter((e) => e.regarding?.name === pod && e.reportingController === 'sockeye.dev/sidecar');
}

/** A ServiceAccount the sidecar may report with: read and annotate pods, write Events. */
export function reporterRbac(namespace: string, serviceAccount: string): string {
  return `
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${serviceAccount}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: sockeye-sidecar}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, patch]}
- {apiGroups: [events.k8s.io], resources: [events], verbs: [create, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: sockeye-sidecar}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: sockeye-sidecar}
subjects:
- {kind: ServiceAccount, name: ${serviceAccount}, namespace: ${namespace}}
`;
}

/**
 * Deletes the namespace and waits until each sidecar's port stops answering: the simulator has then
 * released the pod and killed its processes, so none outlives the test (or the cluster's teardown).
 */
export async function deleteNamespaceAndSidecars(
  kube: TestKube,
  namespace: string,
  ips: Iterable<string>,
): Promise<void> {
  await deleteNamespace(kube, namespace);
  for (const ip of ips) {
    await eventually(`the sidecar on ${ip} to stop`, async () =>
      (await tcpConnect(ip, SIDECAR_PORT, 500)) === 'open' ? undefined : true,
    );
  }
}

/**
 * The mutating admission webhook's decision, pure: given an AdmissionReview for a Pod, the JSON
 * patch that adds the sockeye sidecar when the pod asks for it (`sockeye.dev/inject: "true"`) and
 * does not have it yet. Everything else is allowed unchanged: the webhook never rejects a pod.
 */

import { INJECT_ANNOTATION } from '../model/annotation-keys.ts';

export interface InjectOptions {
  /** The sidecar image, e.g. ghcr.io/sockeye-dev/sockeye:0.1.0. */
  readonly image: string;
  readonly containerName: string;
  readonly port: number;
  /** Extra `sockeye sidecar` flags. */
  readonly args: readonly string[];
}

export type JsonPatchOp =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown };

/** The fields of a Pod the decision reads. */
export interface PodLike {
  readonly metadata?: { readonly annotations?: Readonly<Record<string, string>> | null } | null;
  readonly spec?: { readonly containers?: readonly { readonly name: string }[] | null } | null;
}

const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });

/** The container the README's snippet shows: downward-API identity, probes on its own port, small limits. */
export function sidecarContainer(o: InjectOptions): Record<string, unknown> {
  return {
    name: o.containerName,
    image: o.image,
    args: ['sidecar', `--port=${o.port}`, `--container-name=${o.containerName}`, ...o.args],
    ports: [{ name: 'sockeye', containerPort: o.port, protocol: 'TCP' }],
    env: [
      { name: 'POD_NAME', ...field('metadata.name') },
      { name: 'POD_NAMESPACE', ...field('metadata.namespace') },
      { name: 'POD_UID', ...field('metadata.uid') },
      { name: 'POD_IPS', ...field('status.podIPs') },
    ],
    livenessProbe: { httpGet: { path: '/healthz', port: o.port }, periodSeconds: 30 },
    resources: { requests: { cpu: '5m', memory: '32Mi' }, limits: { memory: '64Mi' } },
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

/** The patch for one pod, or undefined when it is left alone. */
export function injectionPatch(pod: PodLike, o: InjectOptions): JsonPatchOp[] | undefined {
  if (pod.metadata?.annotations?.[INJECT_ANNOTATION] !== 'true') return undefined;
  const containers = pod.spec?.containers ?? [];
  if (containers.some((c) => c.name === o.containerName)) return undefined;
  const container = sidecarContainer(o);
  return containers.length === 0
    ? [{ op: 'add', path: '/spec/containers', value: [container] }]
    : [{ op: 'add', path: '/spec/containers/-', value: container }];
}

interface AdmissionRequest {
  readonly uid?: unknown;
  readonly kind?: { readonly kind?: unknown };
  readonly operation?: unknown;
  readonly object?: PodLike;
}

/** The AdmissionReview response for a request body (admission.k8s.io/v1). Throws on a body that is not a review. */
export function admissionResponse(review: unknown, o: InjectOptions): Record<string, unknown> {
  const request = (review as { request?: AdmissionRequest } | null)?.request;
  if (typeof request?.uid !== 'string') throw new Error('not an AdmissionReview: request.uid is missing');
  const patch =
    request.kind?.kind === 'Pod' && request.operation === 'CREATE' && request.object
      ? injectionPatch(request.object, o)
      : undefined;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid: request.uid,
      allowed: true,
      ...(patch
        ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }
        : {}),
    },
  };
}

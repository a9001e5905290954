/**
 * The annotation writer: `sockeye.dev/status|summary|since` by JSON merge patch, sent only when a value
 * changes (zero writes in steady state), removed (merge-patch `null`) when sockeye stops judging the
 * object. The decision is pure (`annotationPatch`); the write goes through a narrow `Patcher`.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import { FIELD_MANAGER } from '../kube/field-manager.ts';
import { withSignal } from '../kube/request-options.ts';
import { SINCE_ANNOTATION, STATUS_ANNOTATION, SUMMARY_ANNOTATION } from '../model/annotation-keys.ts';
import type { Labels } from '../model/types.ts';
import type { ObjectStatus } from '../rules/status.ts';

export type AnnotationPatch = Readonly<Record<string, string | null>>;

export interface Desired {
  readonly status: ObjectStatus;
  readonly summary: string;
}

/**
 * The patch that brings `current` (sockeye's annotations as the object has them) to `desired`;
 * undefined when nothing changes. `since` moves only when the status changes. `desired` undefined
 * removes whatever sockeye wrote.
 */
export function annotationPatch(
  current: Labels,
  desired: Desired | undefined,
  now: Date,
): AnnotationPatch | undefined {
  if (desired === undefined) {
    const present = [STATUS_ANNOTATION, SUMMARY_ANNOTATION, SINCE_ANNOTATION].filter(
      (k) => current[k] !== undefined,
    );
    return present.length === 0 ? undefined : Object.fromEntries(present.map((k) => [k, null]));
  }
  const statusChanged = current[STATUS_ANNOTATION] !== desired.status;
  const since = statusChanged || current[SINCE_ANNOTATION] === undefined ? rfc3339(now) : undefined;
  const patch: Record<string, string> = {};
  if (statusChanged) patch[STATUS_ANNOTATION] = desired.status;
  if (current[SUMMARY_ANNOTATION] !== desired.summary) patch[SUMMARY_ANNOTATION] = desired.summary;
  if (since !== undefined) patch[SINCE_ANNOTATION] = since;
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/** RFC 3339 to the second, as Kubernetes writes times. */
export function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

export type PatchKind = 'Service' | 'Pod';

export interface Patcher {
  /** `signal` cancels the request (the term that decided it ended). */
  patch(
    kind: PatchKind,
    namespace: string,
    name: string,
    annotations: AnnotationPatch,
    signal?: AbortSignal,
  ): Promise<void>;
}

/**
 * The Patcher over the core API: merge patch of metadata.annotations only, as field manager `sockeye`,
 * so that managedFields give sockeye exactly the keys it sets (a `null` drops the key from its set).
 */
export function corePatcher(core: Pick<CoreV1Api, 'patchNamespacedPod' | 'patchNamespacedService'>): Patcher {
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return {
    async patch(kind, namespace, name, annotations, signal) {
      const request = { name, namespace, body: { metadata: { annotations } }, fieldManager: FIELD_MANAGER };
      const options = withSignal(signal, merge);
      if (kind === 'Service') await core.patchNamespacedService(request, options);
      else await core.patchNamespacedPod(request, options);
    },
  };
}

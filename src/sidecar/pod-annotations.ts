/**
 * The annotations the sidecar writes on its own pod, and the reader the operator uses to fold them in.
 *
 * The sidecar's keys are its own (`sockeye.dev/sidecar-*`), not the operator's `sockeye.dev/status`
 * family: when both run, two writers of one key would overwrite each other every round. The
 * machine-readable `sockeye.dev/loopback-only` lists the declared ports open on loopback but not on the
 * pod IP; the operator turns it into `LoopbackResult`s (rules/loopback.ts) so that
 * `ListeningOnLoopbackOnly` reaches the Service's diagnosis.
 */

import {
  LOOPBACK_ONLY_ANNOTATION as LOOPBACK_ONLY,
  SIDECAR_SINCE_ANNOTATION as SIDECAR_SINCE,
  SIDECAR_STATUS_ANNOTATION as SIDECAR_STATUS,
  SIDECAR_SUMMARY_ANNOTATION as SIDECAR_SUMMARY,
} from '../model/annotation-keys.ts';
import type { SidecarStatus } from './port-classes.ts';

export type AnnotationPatch = Readonly<Record<string, string | null>>;

export interface SidecarAnnotations {
  readonly status: SidecarStatus;
  readonly summary: string;
  readonly loopbackOnly: readonly number[];
}

/**
 * The merge patch from `current` to `desired`, or undefined when nothing changes. `since` moves only
 * with the status; `loopback-only` is removed (`null`) when no port is loopback-only.
 */
export function sidecarAnnotationPatch(
  current: Readonly<Record<string, string | undefined>>,
  desired: SidecarAnnotations,
  now: Date,
): AnnotationPatch | undefined {
  const patch: Record<string, string | null> = {};
  if (current[SIDECAR_STATUS] !== desired.status || current[SIDECAR_SINCE] === undefined) {
    patch[SIDECAR_STATUS] = desired.status;
    patch[SIDECAR_SINCE] = `${now.toISOString().slice(0, 19)}Z`;
  }
  if (current[SIDECAR_SUMMARY] !== desired.summary) patch[SIDECAR_SUMMARY] = desired.summary;
  const loopback =
    desired.loopbackOnly.length > 0 ? [...desired.loopbackOnly].sort((a, b) => a - b).join(',') : undefined;
  if (current[LOOPBACK_ONLY] !== loopback) patch[LOOPBACK_ONLY] = loopback ?? null;
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/** `current` after `patch` was applied: what the sidecar remembers instead of re-reading the pod. */
export function applyPatch(
  current: Readonly<Record<string, string | undefined>>,
  patch: AnnotationPatch,
): Record<string, string | undefined> {
  const next: Record<string, string | undefined> = { ...current };
  for (const [key, value] of Object.entries(patch)) next[key] = value ?? undefined;
  return next;
}

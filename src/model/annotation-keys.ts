/**
 * Every `sockeye.dev/*` annotation key sockeye reads or writes, in any mode, in one place: the
 * reader of user settings knows them all, so no mode's own key (the webhook's `inject`, the
 * sidecar's `sidecar-*`) is ever reported as an unknown annotation by another.
 */
export const ANNOTATION_PREFIX = 'sockeye.dev/';

/** Set by users on a Service, Pod or Namespace; read by the operator, audit and sidecar. */
export const PROBE_ANNOTATION = 'sockeye.dev/probe';
export const TIMEOUT_ANNOTATION = 'sockeye.dev/timeout';
export const IGNORE_PORTS_ANNOTATION = 'sockeye.dev/ignore-ports';
/** Set by users on a Pod; read by the sidecar-injection webhook. */
export const INJECT_ANNOTATION = 'sockeye.dev/inject';

/** Written by the operator on Services and Pods. */
export const STATUS_ANNOTATION = 'sockeye.dev/status';
export const SUMMARY_ANNOTATION = 'sockeye.dev/summary';
export const SINCE_ANNOTATION = 'sockeye.dev/since';

/** Written by the sidecar on its own Pod; `loopback-only` is read back by the operator. */
export const SIDECAR_STATUS_ANNOTATION = 'sockeye.dev/sidecar-status';
export const SIDECAR_SUMMARY_ANNOTATION = 'sockeye.dev/sidecar-summary';
export const SIDECAR_SINCE_ANNOTATION = 'sockeye.dev/sidecar-since';
export const LOOPBACK_ONLY_ANNOTATION = 'sockeye.dev/loopback-only';

/** The keys a user sets (what an "unknown annotation" message offers instead). */
export const USER_ANNOTATIONS = [
  PROBE_ANNOTATION,
  TIMEOUT_ANNOTATION,
  IGNORE_PORTS_ANNOTATION,
  INJECT_ANNOTATION,
] as const;
/** The keys the operator writes (and keeps in its cache to know what an object carries). */
export const OPERATOR_ANNOTATIONS = [STATUS_ANNOTATION, SUMMARY_ANNOTATION, SINCE_ANNOTATION] as const;
/** The keys the sidecar writes. */
export const SIDECAR_ANNOTATIONS = [
  SIDECAR_STATUS_ANNOTATION,
  SIDECAR_SUMMARY_ANNOTATION,
  SIDECAR_SINCE_ANNOTATION,
  LOOPBACK_ONLY_ANNOTATION,
] as const;

export const KNOWN_ANNOTATIONS: ReadonlySet<string> = new Set<string>([
  ...USER_ANNOTATIONS,
  ...OPERATOR_ANNOTATIONS,
  ...SIDECAR_ANNOTATIONS,
]);

/**
 * The rules' loopback input, read from the pod annotation the sidecar writes (`sockeye.dev/loopback-only`):
 * the reader sits with the rules' inputs, the writer with the sidecar, and both take the key from
 * model/annotation-keys.ts.
 */
import { LOOPBACK_ONLY_ANNOTATION as LOOPBACK_ONLY } from '../model/annotation-keys.ts';
import type { LoopbackResult } from './types.ts';

/**
 * For the operator: the sidecar's `sockeye.dev/loopback-only` of one pod as loopback probe results
 * (`open` on loopback), to pass as `EvaluateInput.loopback`. Entries that are not port numbers are
 * skipped: the annotation is written by a sidecar, but anyone can edit it.
 */
export function loopbackResultsOf(pod: {
  readonly namespace: string;
  readonly name: string;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}): LoopbackResult[] {
  const value = pod.annotations?.[LOOPBACK_ONLY];
  if (!value) return [];
  const ports = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^\d+$/.test(s))
    .map(Number)
    .filter((n) => n >= 1 && n <= 65535);
  return [...new Set(ports)].map((port) => ({
    namespace: pod.namespace,
    pod: pod.name,
    port,
    outcome: 'open',
  }));
}

/** How every rule builds a finding: the reason's severity and hint, evidence lists always present. */
import type { ObjectRef, Pod } from '../model/types.ts';
import { hintFor, type Reason, severityOf } from './catalog.ts';
import type { Evidence, Finding, PortRef } from './types.ts';

export function finding(
  reason: Reason,
  object: ObjectRef,
  message: string,
  port?: PortRef,
  evidence: Partial<Evidence> = {},
  hint?: string,
): Finding {
  return {
    reason,
    severity: severityOf(reason),
    object,
    port,
    message,
    hint: hintFor(reason, hint),
    evidence: {
      pods: evidence.pods ?? [],
      outcomes: evidence.outcomes ?? [],
      policies: evidence.policies ?? [],
    },
  };
}

export const podRefs = (pods: readonly Pod[]) => pods.map((p) => ({ namespace: p.namespace, name: p.name }));

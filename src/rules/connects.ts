/**
 * Addresses connected to more than once per round, judged on all their connects together. A load
 * balancer spreads connections over its targets (round robin, hashing, least connections): one
 * connect lands on one target, so a single probe of its address that happens to land on the one
 * good target says "open" while two users in three fail, and the next round, landing elsewhere,
 * says the opposite: LoadBalancerFailing and TargetsRecovered took turns under the local cluster's
 * round-robin stand-in. Several connects per round see the spread; any failing connect makes the
 * address failing ("times out on 2 of 3 connects"), since that share of users' connections fail.
 */
import { isTargetFailure, OUTCOMES, type Outcome } from '../probe/outcome.ts';

/** Connects per round to a load balancer's address: as many as a small pool of nodes has members. */
export const LB_CONNECTS = 3;

/** The connects to one address in one round, as one verdict. */
export interface Connects {
  /** `open` when every definite connect answered; else the failure most of them ended with. */
  readonly outcome: Outcome;
  /** Connects that failed (refused, timed out, unreachable, reset), of `total` definite ones. */
  readonly failed: number;
  readonly total: number;
}

/**
 * One verdict from the outcomes of several connects to one address (one connect: its outcome). An
 * `error` is the prober's own problem and counts for nothing; only errors make an `error`.
 */
export function combineConnects(outcomes: readonly Outcome[]): Connects | undefined {
  if (outcomes.length === 0) return undefined;
  const definite = outcomes.filter((o) => o !== 'error');
  if (definite.length === 0) return { outcome: 'error', failed: 0, total: 0 };
  const failures = definite.filter(isTargetFailure);
  if (failures.length === 0) return { outcome: 'open', failed: 0, total: definite.length };
  // The most frequent failure; a tie goes to the one first in the catalog's order (refused first).
  const count = (o: Outcome) => failures.filter((f) => f === o).length;
  const outcome = OUTCOMES.filter(isTargetFailure).reduce((best, o) => (count(o) > count(best) ? o : best));
  return { outcome, failed: failures.length, total: definite.length };
}

/** The targets to dial, each as many times as it asks for (`connects`, default once), in order. */
export function expandConnects<T extends { readonly connects?: number | undefined }>(
  targets: readonly T[],
): T[] {
  return targets.flatMap((t) =>
    t.connects === undefined || t.connects <= 1 ? [t] : Array(t.connects).fill(t),
  );
}

/**
 * Probes a reconcile's planned targets and confirms failures: a target that fails is probed again up to
 * `confirmations` times, and only a failure every time is reported, so one lost SYN pages nobody.
 */

import type { Dialer } from '../probe/dialer.ts';
import { probeAll } from '../probe/engine.ts';
import { isTargetFailure, type Outcome } from '../probe/outcome.ts';
import { ProbeSlots } from '../probe/slots.ts';
import { observation } from '../rules/observation.ts';
import { expandConnects } from '../rules/rules.ts';
import type { PlannedTarget } from '../rules/targets.ts';
import type { ProbeObservation } from '../rules/types.ts';

export interface ProberOptions {
  /** Probes that must fail in a row before a failure counts (1: report the first failure). */
  readonly confirmations: number;
  /**
   * Probes in flight at most, across every call of the prober (all reconcile workers, every
   * confirmation round, every timeout), shared fairly between namespaces (probe/slots.ts).
   */
  readonly concurrency: number;
  readonly dialer?: Dialer | undefined;
  /** Every probe's outcome and latency, for metrics. */
  readonly onProbe?: ((outcome: Outcome, latencyMs: number) => void) | undefined;
}

export type Prober = (targets: readonly PlannedTarget[], signal?: AbortSignal) => Promise<ProbeObservation[]>;

const namespaceOf = (target: PlannedTarget) => target.namespace;

export function makeProber(options: ProberOptions): Prober {
  const slots = new ProbeSlots(options.concurrency);
  const once = async (targets: readonly PlannedTarget[], signal: AbortSignal | undefined) => {
    // Each target carries its own deadline (sockeye.dev/timeout); the engine keeps them apart.
    const results = await probeAll(targets, {
      slots,
      namespaceOf,
      ...(options.dialer ? { dialer: options.dialer } : {}),
      ...(signal ? { signal } : {}),
    });
    for (const r of results) options.onProbe?.(r.outcome, r.latencyMs);
    return results;
  };
  return async (targets, signal) => {
    // A target connected to several times (a load balancer's address: rules/connects.ts) is confirmed
    // as a whole: when any of its connects failed, all of them are made again, and the last round's stand.
    const final = new Map<string, ProbeObservation[]>();
    const key = (t: { ip: string; port: number }) => `${t.ip}|${t.port}`;
    let pending = [...targets];
    for (let round = 0; pending.length > 0; round++) {
      const results = Map.groupBy(await once(expandConnects(pending), signal), (r) => key(r.target));
      const failed: PlannedTarget[] = [];
      for (const t of pending) {
        const rs = results.get(key(t)) ?? [];
        final.set(key(t), rs.map(observation));
        if (round < options.confirmations - 1 && rs.some((r) => isTargetFailure(r.outcome))) failed.push(t);
      }
      pending = failed;
    }
    return targets.flatMap((t) => final.get(key(t)) ?? []);
  };
}

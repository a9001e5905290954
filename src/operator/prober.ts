/**
 * Probes a reconcile's planned targets and confirms failures: a target that fails is probed again up to
 * `confirmations` times, and only a failure every time is reported, so one lost SYN pages nobody.
 */
import type { Dialer } from '../probe/dialer.ts';
import { probeAll } from '../probe/engine.ts';
import { isTargetFailure, type Outcome } from '../probe/outcome.ts';
import { ProbeSlots } from '../probe/slots.ts';
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
    const final = new Map<string, ProbeObservation>();
    const key = (t: { ip: string; port: number }) => `${t.ip}|${t.port}`;
    let pending = [...targets];
    for (let round = 0; pending.length > 0; round++) {
      const results = await once(pending, signal);
      const failed: PlannedTarget[] = [];
      for (const r of results) {
        final.set(key(r.target), { target: { ip: r.target.ip, port: r.target.port }, outcome: r.outcome });
        if (isTargetFailure(r.outcome) && round < options.confirmations - 1) failed.push(r.target);
      }
      pending = failed;
    }
    return targets.flatMap((t) => {
      const o = final.get(key(t));
      return o ? [o] : [];
    });
  };
}

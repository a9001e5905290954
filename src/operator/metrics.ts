/**
 * The operator's Prometheus metrics (DESIGN "Metrics"), on a registry of its own. No label grows with
 * the number of pods: Service ports are the finest grain.
 *
 * Stop-gap until src/metrics.ts (owned by the building-block engineer) lands.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { OUTCOMES, type Outcome } from '../probe/outcome.ts';
import type { Finding } from '../rules/types.ts';

export interface OperatorMetrics {
  readonly registry: Registry;
  probe(outcome: Outcome, latencyMs: number): void;
  write(kind: 'event' | 'patch', result: string): void;
  findings(findings: readonly Finding[]): void;
  servicePort(namespace: string, service: string, port: string, targets: number, open: number): void;
  forgetService(namespace: string, service: string): void;
  queue(depth: number): void;
  retry(): void;
}

export function operatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  const probes = new Counter({
    name: 'sockeye_probes_total',
    help: 'TCP probes by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'sockeye_probe_duration_seconds',
    help: 'time from connect() to the answer (for timeouts: the deadline), by outcome',
    labelNames: ['outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  for (const o of OUTCOMES) probes.inc({ outcome: o }, 0);
  const writes = new Counter({
    name: 'sockeye_api_writes_total',
    help: 'writes to the Kubernetes API by kind (event, patch) and result',
    labelNames: ['kind', 'result'],
    registers: [registry],
  });
  const findings = new Gauge({
    name: 'sockeye_findings',
    help: 'current findings by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const targets = new Gauge({
    name: 'sockeye_service_targets',
    help: 'probed targets per Service port',
    labelNames: ['namespace', 'service', 'port'],
    registers: [registry],
  });
  const open = new Gauge({
    name: 'sockeye_service_open_targets',
    help: 'targets that accepted a connection, per Service port',
    labelNames: ['namespace', 'service', 'port'],
    registers: [registry],
  });
  const depth = new Gauge({
    name: 'sockeye_workqueue_depth',
    help: 'Service keys waiting to be reconciled',
    registers: [registry],
  });
  const retries = new Counter({
    name: 'sockeye_workqueue_retries_total',
    help: 'reconciles retried with backoff',
    registers: [registry],
  });
  return {
    registry,
    probe(outcome, latencyMs) {
      probes.inc({ outcome });
      latency.observe({ outcome }, latencyMs / 1000);
    },
    write(kind, result) {
      writes.inc({ kind, result });
    },
    findings(all) {
      findings.reset();
      for (const f of all) findings.inc({ reason: f.reason });
    },
    servicePort(namespace, service, port, n, o) {
      targets.set({ namespace, service, port }, n);
      open.set({ namespace, service, port }, o);
    },
    forgetService(namespace, service) {
      targets.remove({ namespace, service });
      open.remove({ namespace, service });
    },
    queue(n) {
      depth.set(n);
    },
    retry() {
      retries.inc();
    },
  };
}

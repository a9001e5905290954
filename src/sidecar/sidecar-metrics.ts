/**
 * The sidecar's Prometheus metrics, on a registry of its own (the operator's are operator/metrics.ts;
 * the sidecar does not load them). Labels stay bounded: ports are the pod's declared and listening
 * ports, classes and outcomes are fixed lists.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { OUTCOMES, type Outcome } from '../probe/outcome.ts';
import { PORT_CLASSES, type PortReport } from './port-classes.ts';

export interface SidecarMetrics {
  readonly registry: Registry;
  probe(scope: 'loopback' | 'pod', outcome: Outcome, latencyMs: number): void;
  round(reports: readonly PortReport[], ready: boolean, seconds: number): void;
  write(kind: 'event' | 'patch' | 'read', result: string): void;
}

/** Every metric the sidecar exports: its help, and the label names its series may carry. */
const METRICS = {
  sockeye_sidecar_probes_total: {
    help: 'connects the sidecar made inside its pod, by scope (loopback, pod IP) and outcome',
    labelNames: ['scope', 'outcome'],
  },
  sockeye_sidecar_probe_duration_seconds: {
    help: 'connect() to the answer, by outcome',
    labelNames: ['outcome'],
  },
  sockeye_sidecar_port_class: {
    help: '1 for the class each port of the pod is in this round',
    labelNames: ['port', 'class'],
  },
  sockeye_sidecar_ports: { help: 'ports of the pod by class', labelNames: ['class'] },
  sockeye_sidecar_ready: {
    help: '1 when every declared port answers on every pod IP (what /readyz says)',
    labelNames: [],
  },
  sockeye_sidecar_round_duration_seconds: { help: 'time one round (probes and /proc) took', labelNames: [] },
  sockeye_api_writes_total: {
    help: 'calls to the Kubernetes API by kind (event, patch, read) and result',
    labelNames: ['kind', 'result'],
  },
} as const;

export function sidecarMetrics(): SidecarMetrics {
  const registry = new Registry();
  // process_cpu_seconds_total and process_resident_memory_bytes: the footprint the README documents.
  // The event-loop lag monitor samples every 10 ms by default: ~10 millicores of an idle sidecar's CPU.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  const metric = <N extends keyof typeof METRICS>(name: N) => ({
    name,
    ...METRICS[name],
    registers: [registry],
  });
  const probes = new Counter(metric('sockeye_sidecar_probes_total'));
  for (const scope of ['loopback', 'pod']) for (const outcome of OUTCOMES) probes.inc({ scope, outcome }, 0);
  const latency = new Histogram({
    ...metric('sockeye_sidecar_probe_duration_seconds'),
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  });
  const portClass = new Gauge(metric('sockeye_sidecar_port_class'));
  const byClass = new Gauge(metric('sockeye_sidecar_ports'));
  const ready = new Gauge(metric('sockeye_sidecar_ready'));
  const rounds = new Histogram({
    ...metric('sockeye_sidecar_round_duration_seconds'),
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  });
  const writes = new Counter(metric('sockeye_api_writes_total'));
  return {
    registry,
    probe(scope, outcome, latencyMs) {
      probes.inc({ scope, outcome });
      latency.observe({ outcome }, latencyMs / 1000);
    },
    round(reports, isReady, seconds) {
      portClass.reset();
      for (const r of reports) portClass.set({ port: String(r.port), class: r.class }, 1);
      for (const c of PORT_CLASSES) byClass.set({ class: c }, reports.filter((r) => r.class === c).length);
      ready.set(isReady ? 1 : 0);
      rounds.observe(seconds);
    },
    write(kind, result) {
      writes.inc({ kind, result });
    },
  };
}

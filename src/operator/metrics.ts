/**
 * sockeye's Prometheus metrics (docs/design.md "Metrics", prefix `sockeye_`), on a registry of their own.
 * No label may grow with the number of pods: a Service port (namespace, service, port) is the finest
 * grain; outcomes, reasons, write kinds and results are closed sets.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Shard, WHOLE } from '../model/shard.ts';
import { OUTCOMES, type Outcome } from '../probe/outcome.ts';
import { REASON_NAMES } from '../rules/catalog.ts';
import type { HopTally, Tally } from '../rules/rules.ts';
import type { HopKind } from '../rules/types.ts';

const PORT_LABELS = ['namespace', 'service', 'port'] as const;
const HOP_LABELS = [...PORT_LABELS, 'hop'] as const;

/** Every metric the operator exports: its help, and the label names its series may carry. */
const METRICS = {
  sockeye_service_targets: { help: 'Backends probed per Service port', labelNames: PORT_LABELS },
  sockeye_service_open_targets: {
    help: 'Backends that accepted a connection, per Service port',
    labelNames: PORT_LABELS,
  },
  sockeye_service_hop_targets: {
    help: 'Addresses of the Service data path probed per Service port and hop (cluster-ip, node-port, load-balancer)',
    labelNames: HOP_LABELS,
  },
  sockeye_service_hop_open_targets: {
    help: 'Addresses of the Service data path that accepted a connection, per Service port and hop',
    labelNames: HOP_LABELS,
  },
  sockeye_probes_total: { help: 'TCP probes by outcome', labelNames: ['outcome'] },
  sockeye_probe_duration_seconds: {
    help: 'Time from connect() to its answer (for a timeout: the deadline), by outcome',
    labelNames: ['outcome'],
  },
  sockeye_findings: { help: 'Current findings by reason', labelNames: ['reason'] },
  sockeye_api_writes_total: {
    help: 'Writes to the Kubernetes API by kind (event, patch, report) and result',
    labelNames: ['kind', 'result'],
  },
  sockeye_workqueue_depth: { help: 'Keys waiting in the work queue', labelNames: [] },
  sockeye_annotation_writes_pending: {
    help: 'Objects whose sockeye.dev annotations are decided but not yet written',
    labelNames: [],
  },
  sockeye_workqueue_retries_total: {
    help: 'Keys re-queued with backoff after a failed reconcile',
    labelNames: [],
  },
  sockeye_informer_restarts_total: {
    help: 'List/watch restarts after an error or a silent watch, by informer',
    labelNames: ['informer'],
  },
  sockeye_leader: { help: "1 while this replica holds its shard's leader Lease", labelNames: ['shard'] },
  sockeye_shard: {
    help: 'Always 1: the shard this replica serves, of how many (docs/design.md "Sharding")',
    labelNames: ['shard', 'shards'],
  },
  sockeye_probe_thread: {
    help: "1 while the operator's connects are made in a worker thread of their own (--probe-thread), 0 in the main thread",
    labelNames: [],
  },
  sockeye_tracked_objects: {
    help: 'Entries of each per-object map the operator keeps (deleted objects are forgotten)',
    labelNames: ['map'],
  },
} as const;

/** Label names each metric may carry: the test checks the registry against this list. */
export const METRIC_LABELS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(METRICS).map(([name, { labelNames }]) => [name, labelNames]),
);

export type WriteKind = 'event' | 'patch' | 'report';

/** One Service port's counts; `port` is the port's name, or its number. */
export interface ServicePortCount extends Tally {
  readonly port: string;
  /** The port's data path hops by kind (`cluster-ip`, `node-port`, `load-balancer`). */
  readonly hops?: readonly HopTally[];
}

const HOP_KINDS: readonly HopKind[] = ['cluster-ip', 'node-port', 'load-balancer'];
type PortLabels = (typeof PORT_LABELS)[number];
type HopLabels = (typeof HOP_LABELS)[number];

export interface MetricsOptions {
  /** Also export Node's process metrics (`process_*`, `nodejs_*`), default true. */
  readonly processMetrics?: boolean;
  /** The shard this replica serves (default: the one shard of an unsharded operator). */
  readonly shard?: Shard;
}

export class SockeyeMetrics {
  readonly registry = new Registry();
  readonly #targets: Gauge<PortLabels>;
  readonly #open: Gauge<PortLabels>;
  readonly #hopTargets: Gauge<HopLabels>;
  readonly #hopOpen: Gauge<HopLabels>;
  readonly #probes: Counter<'outcome'>;
  readonly #latency: Histogram<'outcome'>;
  readonly #probeSeries = new Map<
    Outcome,
    {
      readonly count: ReturnType<Counter<'outcome'>['labels']>;
      readonly latency: ReturnType<Histogram<'outcome'>['labels']>;
    }
  >();
  readonly #findings: Gauge<'reason'>;
  readonly #writes: Counter<'kind' | 'result'>;
  readonly #depth: Gauge;
  readonly #retries: Counter;
  readonly #informerRestarts: Counter<'informer'>;
  readonly #leader: Gauge<'shard'>;
  readonly #shard: string;
  /** The ports each Service has series for, so that a deleted Service's series can be removed. */
  readonly #servicePorts = new Map<string, Set<string>>();
  #depthSource: (() => number) | undefined;
  #pendingWritesSource: (() => number) | undefined;
  #findingsSource: (() => readonly { readonly reason: string }[]) | undefined;
  #trackedSource: (() => Readonly<Record<string, number>>) | undefined;
  #probeThreadSource: (() => boolean) | undefined;

  constructor(options: MetricsOptions = {}) {
    const metrics = this;
    /** A metric of the table, on this registry. */
    const metric = <N extends keyof typeof METRICS>(name: N) => ({
      name,
      ...METRICS[name],
      registers: [this.registry],
    });
    this.#targets = new Gauge(metric('sockeye_service_targets'));
    this.#open = new Gauge(metric('sockeye_service_open_targets'));
    this.#hopTargets = new Gauge(metric('sockeye_service_hop_targets'));
    this.#hopOpen = new Gauge(metric('sockeye_service_hop_open_targets'));
    this.#probes = new Counter(metric('sockeye_probes_total'));
    this.#latency = new Histogram({
      ...metric('sockeye_probe_duration_seconds'),
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.#findings = new Gauge({
      ...metric('sockeye_findings'),
      collect() {
        if (metrics.#findingsSource) metrics.findings(metrics.#findingsSource());
      },
    });
    this.#writes = new Counter(metric('sockeye_api_writes_total'));
    this.#depth = new Gauge({
      ...metric('sockeye_workqueue_depth'),
      collect() {
        if (metrics.#depthSource) this.set(metrics.#depthSource());
      },
    });
    new Gauge({
      ...metric('sockeye_annotation_writes_pending'),
      collect() {
        if (metrics.#pendingWritesSource) this.set(metrics.#pendingWritesSource());
      },
    });
    new Gauge({
      ...metric('sockeye_probe_thread'),
      collect() {
        this.set(metrics.#probeThreadSource?.() ? 1 : 0);
      },
    });
    this.#retries = new Counter(metric('sockeye_workqueue_retries_total'));
    this.#informerRestarts = new Counter(metric('sockeye_informer_restarts_total'));
    new Gauge({
      ...metric('sockeye_tracked_objects'),
      collect() {
        if (!metrics.#trackedSource) return;
        this.reset();
        for (const [map, n] of Object.entries(metrics.#trackedSource())) this.set({ map }, n);
      },
    });
    const shard = options.shard ?? WHOLE;
    this.#shard = String(shard.index);
    this.#leader = new Gauge(metric('sockeye_leader'));
    new Gauge(metric('sockeye_shard')).set({ shard: this.#shard, shards: String(shard.count) }, 1);
    // Series that exist from the start, so that rate() and absent-based alerts work before the first event.
    for (const outcome of OUTCOMES) this.#probes.inc({ outcome }, 0);
    for (const reason of REASON_NAMES) this.#findings.set({ reason }, 0);
    this.#depth.set(0);
    this.#retries.inc(0);
    this.#leader.set({ shard: this.#shard }, 0);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** One finished probe: 20,000 per sweep at size, so each outcome's series are looked up once. */
  probe(outcome: Outcome, latencyMs: number): void {
    let series = this.#probeSeries.get(outcome);
    if (!series) {
      series = { count: this.#probes.labels({ outcome }), latency: this.#latency.labels({ outcome }) };
      this.#probeSeries.set(outcome, series);
    }
    series.count.inc();
    series.latency.observe(latencyMs / 1000);
  }

  /** One API write attempt's result, e.g. `('event', 'created')`, `('patch', 'conflict')`. */
  write(kind: WriteKind, result: string): void {
    this.#writes.inc({ kind, result });
  }

  /** The current findings, counted by reason (every reason is always exported, 0 when absent). */
  findings(all: readonly { readonly reason: string }[]): void {
    const counts = new Map<string, number>(REASON_NAMES.map((r) => [r, 0]));
    for (const f of all) counts.set(f.reason, (counts.get(f.reason) ?? 0) + 1);
    for (const [reason, n] of counts) this.#findings.set({ reason }, n);
  }

  /**
   * Targets and open targets of each port a Service has now. The series of a port it no longer has
   * (removed, renamed, ignored) are removed, so an alert over them stops matching at once.
   */
  servicePorts(namespace: string, service: string, ports: readonly ServicePortCount[]): void {
    const key = `${namespace}/${service}`;
    const now = new Set(ports.map((p) => p.port));
    for (const port of this.#servicePorts.get(key) ?? []) {
      if (now.has(port)) continue;
      this.#targets.remove({ namespace, service, port });
      this.#open.remove({ namespace, service, port });
      this.#removeHops(namespace, service, port, []);
    }
    if (now.size === 0) this.#servicePorts.delete(key);
    else this.#servicePorts.set(key, now);
    for (const { port, targets, open, hops = [] } of ports) {
      this.#targets.set({ namespace, service, port }, targets);
      this.#open.set({ namespace, service, port }, open);
      this.#removeHops(
        namespace,
        service,
        port,
        hops.map((h) => h.hop),
      );
      for (const h of hops) {
        this.#hopTargets.set({ namespace, service, port, hop: h.hop }, h.targets);
        this.#hopOpen.set({ namespace, service, port, hop: h.hop }, h.open);
      }
    }
  }

  /** Removes a port's hop series of every kind but `keep` (a hop the Service no longer has). */
  #removeHops(namespace: string, service: string, port: string, keep: readonly HopKind[]): void {
    for (const hop of HOP_KINDS) {
      if (keep.includes(hop)) continue;
      this.#hopTargets.remove({ namespace, service, port, hop });
      this.#hopOpen.remove({ namespace, service, port, hop });
    }
  }

  /** Removes a Service's series (deleted, opted out, no longer judged). */
  forgetService(namespace: string, service: string): void {
    this.servicePorts(namespace, service, []);
  }

  /** Services that have port series now (for `sockeye_tracked_objects`). */
  get servicesWithSeries(): number {
    return this.#servicePorts.size;
  }

  /** Reads each per-object map's size at every scrape, e.g. `{ reconciler_warnings: 12, ... }`. */
  trackedFrom(source: () => Readonly<Record<string, number>>): void {
    this.#trackedSource = source;
  }

  /**
   * Counts the findings at every scrape, e.g. `metrics.findingsFrom(() => reconciler.findings())`
   * (counting after every reconcile made a sweep quadratic in the number of Services).
   */
  findingsFrom(source: () => readonly { readonly reason: string }[]): void {
    this.#findingsSource = source;
  }

  /** Reads at every scrape whether the connects are made in a thread of their own. */
  probeThreadFrom(source: () => boolean): void {
    this.#probeThreadSource = source;
  }

  /** Reads the annotation writes still to do at every scrape. */
  pendingWritesFrom(source: () => number): void {
    this.#pendingWritesSource = source;
  }

  /** Sets the work-queue depth now; or see `queueDepthFrom`. */
  queue(depth: number): void {
    this.#depth.set(depth);
  }

  /** Reads the depth at every scrape, e.g. `metrics.queueDepthFrom(() => queue.len())`. */
  queueDepthFrom(source: () => number): void {
    this.#depthSource = source;
  }

  /** One retry of a key after a failure (wire to `WorkQueue`'s `onRetry`). */
  retry(): void {
    this.#retries.inc();
  }

  /** One informer restart (wire to `SupervisedInformer`'s `onError`). */
  informerRestart(informer: string): void {
    this.#informerRestarts.inc({ informer });
  }

  leader(isLeader: boolean): void {
    this.#leader.set({ shard: this.#shard }, isLeader ? 1 : 0);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

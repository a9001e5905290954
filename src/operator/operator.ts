/**
 * `sockeye operator` wired together: informers (one per entry of watched.ts) fill the cache and
 * enqueue the Service keys a change touches; workers (controller/loop.ts, only on the leader) reconcile
 * keys; every judged Service is queued again after the interval (with jitter); the event recorder and
 * the annotation writer do the writing; HTTP serves health, readiness, metrics and findings.
 *
 * Every write belongs to a term of leadership (`Term`, from the leader elector, or one term for the
 * whole run without leader election): the reconciles, the annotation writer and the event recorder
 * check it right before each write and drop their work when it ends. Losing the Lease ends the term
 * at once (the next leader judges everything again); a shutdown ends it only after the writes in
 * flight had their grace, and releases the Lease after that.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { OperatorConfig } from '../config/operator.ts';
import { coordinationLeaseStore, LeaderElector } from '../controller/leader.ts';
import { runWorkers, type WorkResult } from '../controller/loop.ts';
import { Term } from '../controller/term.ts';
import { WorkQueue } from '../controller/workqueue.ts';
import { type OperatorHttp, serveOperatorHttp } from '../http/serve.ts';
import { Backoff, jittered, sleep } from '../kube/backoff.ts';
import { toNamespace } from '../kube/convert.ts';
import { classifyKubeError, type KubeErrorClass } from '../kube/errors.ts';
import { eventsV1Pages, readInheritedWarnings } from '../kube/event-inheritance.ts';
import { EventRecorder, eventsV1Sink } from '../kube/events.ts';
import { SupervisedInformer } from '../kube/informer.ts';
import { apiServerAddressesOf } from '../kube/kubeconfig.ts';
import { leanCoordinationV1, leanCoreV1, leanEventsV1 } from '../kube/lean-api.ts';
import { paginate } from '../kube/pager.ts';
import { listRaw, listStreamed } from '../kube/raw-requests.ts';
import { openReportsStore } from '../kube/reports.ts';
import { kubeReviewer } from '../kube/reviews.ts';
import { componentLogger, type Logger, logger as rootLogger } from '../log.ts';
import type { EndpointSlice, Pod, Service } from '../model/types.ts';
import type { Dialer } from '../probe/dialer.ts';
import { ThreadDialer } from '../probe/thread-dialer.ts';
import { formatSelector, sameLabels } from '../rules/selectors.ts';
import { corePatcher, type Patcher } from './annotation-patch.ts';
import { AnnotationWriter } from './annotation-writer.ts';
import { ClusterCache, type WatchedKind } from './cache.ts';
import { SockeyeMetrics } from './metrics.ts';
import { NamespacePoller } from './namespace-poller.ts';
import { makeProber } from './prober.ts';
import { Reconciler } from './reconciler.ts';
import { ReportWriter } from './report-writer.ts';
import { ShardFilter } from './shard-filter.ts';
import {
  NAMESPACES,
  NODES,
  PODS,
  SERVICE_CIDRS,
  SERVICES,
  WATCHED,
  type WatchedResource,
} from './watched.ts';

/** Pages of the label-selected pod lists a Service new to this shard makes. */
const LIST_PAGE_SIZE = 2000;

export interface OperatorOptions {
  readonly kc: KubeConfig;
  readonly config: OperatorConfig;
  readonly logger?: Logger;
  /** How probes connect (tests wrap the default to count dials). */
  readonly dialer?: Dialer;
  /** Replaces the annotation writer (tests inject failures). */
  readonly patcher?: Patcher;
  /** Called when this replica loses the Lease: the process should exit (client-go's users do). */
  readonly onLostLeadership?: () => void;
  /** Reconcile workers (default 8). */
  readonly workers?: number;
}

/** Writes made so far, by kind; the steady-state test reads them. */
export interface WriteCounts {
  patches: number;
  patchErrors: number;
  events: number;
  /** Policy reports applied or deleted. */
  reports: number;
}

/**
 * What an informer caches: the domain object, under the metadata the informer itself needs;
 * `undefined` for an object the converter could not read (logged, skipped, the others go on).
 */
interface Converted<D> extends KubernetesObject {
  readonly domain: D | undefined;
  /** Outside this shard's part (operator/shard-filter.ts): not cached, and dropped if it was. */
  readonly outside?: true;
}

const DEFAULT_WORKERS = 8;

export class Operator {
  readonly #options: OperatorOptions;
  readonly #config: OperatorConfig;
  readonly #log: Logger;
  readonly #cache = new ClusterCache();
  readonly #shard: ShardFilter;
  readonly #queue: WorkQueue;
  readonly #metrics: SockeyeMetrics;
  readonly #recorder: EventRecorder | undefined;
  readonly #writer: AnnotationWriter | undefined;
  readonly #reports: ReportWriter | undefined;
  readonly #reconciler: Reconciler;
  /** Where the connects are made when not in this thread (config.probeThread). */
  readonly #threadDialer: ThreadDialer | undefined;
  readonly #informers: { whenSynced(): Promise<void>; stop(): Promise<void> }[] = [];
  /** The pod informers: their stores still name the pods this shard dropped. */
  readonly #podInformers: { get(name: string, namespace?: string): unknown }[] = [];
  #namespacePoller: NamespacePoller | undefined;
  /** Aborted when `stop()` begins. */
  readonly #stopping = new AbortController();
  /** Aborted once the writes are done on shutdown: the elector then releases the Lease. */
  readonly #campaign = new AbortController();
  /** The current (or last) term of leadership: every write checks it. */
  #term: Term | undefined;
  readonly #writes: WriteCounts = { patches: 0, patchErrors: 0, events: 0, reports: 0 };
  #http: OperatorHttp | undefined;
  #synced = false;
  /** The pod informers have listed: from then on a Service new to this shard fetches its pods. */
  #podsListed = false;
  #leading = false;
  /**
   * The term's first sweep: the Services queued when it began and not yet judged once. While any
   * is left, their Healthy statuses wait (AnnotationWriter.holdHealthy).
   */
  #firstSweep: { readonly left: Set<string>; readonly startedAt: number } | undefined;
  #workers: Promise<void> | undefined;
  #elector: Promise<void> | undefined;

  constructor(options: OperatorOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#log = componentLogger(options.logger ?? rootLogger, 'operator');
    this.#shard = new ShardFilter(
      this.#cache,
      options.config.shard,
      options.config.optIn.selectorlessServices,
    );
    this.#metrics = new SockeyeMetrics({ shard: options.config.shard });
    this.#queue = new WorkQueue({ onRetry: () => this.#metrics.retry() });
    this.#metrics.queueDepthFrom(() => this.#queue.len());
    const { kc, config } = options;
    if (config.writeEvents) {
      this.#recorder = new EventRecorder({
        sink: eventsV1Sink(leanEventsV1(kc)),
        reportingInstance: config.prober.podName,
        logger: this.#log,
        fence: () => this.#term,
        onWrite: (result) => {
          this.#metrics.write('event', result);
          if (result === 'created' || result === 'patched') this.#writes.events++;
        },
      });
    }
    if (config.writeAnnotations) {
      this.#writer = new AnnotationWriter({
        cache: this.#cache,
        patcher: options.patcher ?? corePatcher(leanCoreV1(kc)),
        logger: this.#log,
        fence: () => this.#term,
        onRetry: () => this.#metrics.retry(),
        onPatch: (_kind, result) => {
          this.#metrics.write('patch', result);
          if (result === 'ok') this.#writes.patches++;
          else this.#writes.patchErrors++;
        },
      });
    }
    if (config.writeReports) {
      this.#reports = new ReportWriter({
        store: openReportsStore(kc),
        // Only what this shard writes about (a pod's findings: its home shard's), under this shard's name.
        findingsIn: (namespace) =>
          this.#reconciler
            .findingsIn(namespace)
            .filter((f) => this.#shard.reports(f.object.kind, f.object.namespace, f.object.name)),
        shard: this.#shard.shard,
        owns: (namespace) => this.#watched(namespace),
        scope: config.namespaces.include.length > 0 ? config.namespaces.include : undefined,
        logger: this.#log,
        resyncMs: config.intervalMs,
        onRetry: () => this.#metrics.retry(),
        onWrite: (result) => {
          this.#metrics.write('report', result);
          if (result === 'ok') this.#writes.reports++;
        },
      });
    }
    if (!options.dialer && config.probeThread) {
      this.#threadDialer = new ThreadDialer({
        onFallback: (reason) =>
          this.#log.warn({ reason }, 'connects are made in the main thread from now on'),
      });
    }
    this.#reconciler = new Reconciler({
      cache: this.#cache,
      prober: makeProber({
        confirmations: config.confirmations,
        // One prober for every worker: --concurrency bounds the probes in flight across all of them.
        concurrency: config.concurrency,
        dialer: options.dialer ?? this.#threadDialer,
        onProbe: (outcome, ms) => this.#metrics.probe(outcome, ms),
      }),
      annotations: this.#writer ?? { submit: () => false },
      record: (event) => this.#recorder?.record(event),
      // A Warning whose message changes (its counts, during a rollout) says so at most once an interval.
      eventUpdateGapMs: config.intervalMs,
      identity: {
        namespace: config.prober.namespace,
        labels: config.prober.labels,
        nodeName: config.prober.nodeName,
      },
      options: {
        defaultTimeoutMs: config.timeoutMs,
        selectorless: config.optIn.selectorlessServices,
        hostNetwork: config.optIn.hostNetworkPods,
        apiServerAddresses: apiServerAddressesOf(kc),
        serviceCIDRs: config.optIn.serviceCIDRs,
        ...config.hops,
      },
      onServicePorts: (ns, name, ports) => this.#metrics.servicePorts(ns, name, ports),
      reports: (kind, ns, name) => this.#shard.reports(kind, ns, name),
    });
    this.#metrics.findingsFrom(() => this.#reconciler.findings());
    this.#metrics.trackedFrom(() => this.#tracked());
    this.#metrics.pendingWritesFrom(() => this.#writer?.pending() ?? 0);
    this.#metrics.probeThreadFrom(() => this.#threadDialer?.inThread ?? false);
  }

  /** The health port (and the metrics port when they share it). */
  get port(): number {
    return this.#http?.port ?? 0;
  }

  get metricsPort(): number {
    return this.#http?.metricsPort ?? 0;
  }

  get ready(): boolean {
    return this.#synced;
  }

  get leading(): boolean {
    return this.#leading;
  }

  get writes(): Readonly<WriteCounts> {
    return { ...this.#writes };
  }

  get reconciler(): Reconciler {
    return this.#reconciler;
  }

  get cache(): ClusterCache {
    return this.#cache;
  }

  /** Starts HTTP and the informers; once synced, leads (or campaigns) and reconciles. */
  async start(): Promise<void> {
    const { config } = this;
    this.#http = await serveOperatorHttp({
      host: config.http.host,
      port: config.http.port,
      metrics: config.metrics,
      deps: {
        ready: () => this.#synced,
        registry: this.#metrics.registry,
        findings: () => ({ leading: this.#leading, findings: this.#reconciler.findings() }),
        logger: this.#log,
      },
      reviewer: () => kubeReviewer(this.#options.kc),
      serverName: config.prober.podName,
    });
    this.#startInformers();
    this.#startSweeping();
    const sources = [...this.#informers, ...(this.#namespacePoller ? [this.#namespacePoller] : [])];
    void Promise.all(sources.map((i) => i.whenSynced())).then(() => this.#onSynced());
  }

  get config(): OperatorConfig {
    return this.#config;
  }

  /**
   * Shuts down in this order: stop taking work; let the reconciles and writes in flight finish and
   * flush the queued Events, all within `graceMs` (then the term ends: what is left is dropped and
   * requests in flight are cancelled); release the Lease (bounded by the elector); stop watching
   * and serving. A successor starts only after this replica's last write.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#stopping.signal.aborted) return;
    this.#stopping.abort();
    const grace = AbortSignal.timeout(graceMs);
    const term = this.#term;
    // Past the grace, reconciles still probing are cancelled with the term.
    grace.addEventListener('abort', () => term?.end(), { once: true });
    await untilAborted(this.#queue.shutDown(), grace);
    await Promise.allSettled([this.#workers]);
    await Promise.all([
      this.#threadDialer?.close(),
      this.#recorder?.close(grace),
      this.#writer?.close(grace),
      this.#reports?.close(grace),
    ]);
    term?.end();
    this.#campaign.abort();
    await this.#elector;
    await Promise.all(this.#informers.map((i) => i.stop()));
    await this.#namespacePoller?.stop();
    await this.#http?.close();
    this.#log.info('stopped');
  }

  #onSynced(): void {
    if (this.#stopping.signal.aborted) return;
    this.#synced = true;
    this.#log.info(
      {
        services: this.#cache.count('Service'),
        pods: this.#cache.count('Pod'),
        ...(this.#shard.sharded ? { shard: this.#shard.shard.index, shards: this.#shard.shard.count } : {}),
      },
      'caches synced',
    );
    const le = this.#config.leaderElection;
    if (!le.enabled) {
      // One term for the whole run: it ends when stop() has flushed.
      void this.#lead(new Term());
      return;
    }
    const elector = new LeaderElector({
      store: coordinationLeaseStore(leanCoordinationV1(this.#options.kc), {
        namespace: le.leaseNamespace,
        name: le.leaseName,
        leaseDurationSeconds: le.leaseDurationMs / 1000,
      }),
      identity: this.#config.prober.podName,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      logger: this.#log,
      onStartedLeading: (term) => this.#lead(term),
      onStoppedLeading: (reason) => {
        this.#leading = false;
        this.#metrics.leader(false);
        if (reason === 'lost') {
          this.#log.error('lost the leader Lease; stopping');
          this.#options.onLostLeadership?.();
        }
      },
    });
    this.#elector = elector.run(this.#campaign.signal);
  }

  /**
   * Starts the workers and queues every Service: the first full sweep. The work queue serves one
   * term: a replica that lost the Lease exits (see onLostLeadership) rather than lead again.
   */
  async #lead(term: Term): Promise<void> {
    if (!term.holds() || this.#stopping.signal.aborted) return;
    this.#term = term;
    this.#leading = true;
    this.#metrics.leader(true);
    this.#log.info('leading: probing and writing');
    term.signal.addEventListener('abort', () => this.#endTerm(), { once: true });
    await this.#inheritEvents(term.signal);
    if (!term.holds()) return;
    const left = new Set<string>();
    for (const key of this.#cache.serviceKeys())
      if (this.#watched(key.split('/')[0] ?? '') && this.#shard.ownsKey(key)) {
        this.#queue.add(key);
        left.add(key);
      }
    this.#firstSweep = { left, startedAt: performance.now() };
    // At most one interval: by then the first Services judged are due again anyway.
    this.#writer?.holdHealthy(this.#config.intervalMs);
    this.#sweptOnce();
    this.#workers = runWorkers({
      queue: this.#queue,
      workers: this.#options.workers ?? DEFAULT_WORKERS,
      signal: term.signal,
      handle: (key, signal) => this.#reconcile(key, signal),
      onError: (key, err) => this.#reconcileFailed(key, err),
    });
    void this.#reports?.lead(term);
  }

  /** The term ended: no more work is taken (the writers drop their own queued work). */
  #endTerm(): void {
    this.#leading = false;
    this.#firstSweep = undefined;
    this.#writer?.cancelHold();
    this.#metrics.leader(false);
    const events = this.#recorder?.pending() ?? 0;
    const annotations = this.#writer?.pending() ?? 0;
    this.#log.info({ events, annotations }, 'term of leadership ended; dropping its remaining work');
    void this.#queue.shutDown();
  }

  /** Reads the Warning Events sockeye already wrote (a previous leader), so they are not written twice. */
  async #inheritEvents(signal: AbortSignal): Promise<void> {
    if (!this.#recorder) return;
    const pages = eventsV1Pages(leanEventsV1(this.#options.kc), signal);
    try {
      const warnings = await readInheritedWarnings(pages, this.#config.namespaces.include, signal);
      for (const warning of warnings) this.#reconciler.inherit(warning);
    } catch (err) {
      // Not fatal: at worst an Event a previous leader wrote is written once more.
      this.#log.warn({ err }, 'could not read existing Events');
    }
  }

  /**
   * A Service of the term's first sweep was judged (or its reconcile ended otherwise: failed, or to
   * be judged again): when none is left, the Healthy statuses held back are written. Every Service
   * found broken was written at once; these only say that the others are fine.
   */
  #sweptOnce(key?: string): void {
    const sweep = this.#firstSweep;
    if (!sweep) return;
    if (key !== undefined) sweep.left.delete(key);
    if (sweep.left.size > 0) return;
    this.#firstSweep = undefined;
    const held = this.#writer?.releaseHeld() ?? 0;
    const ms = Math.round(performance.now() - sweep.startedAt);
    this.#log.info(
      { ms, healthyStatuses: held },
      'first sweep judged every Service; writing their Healthy statuses',
    );
  }

  /** `signal` is the term's: a reconcile in flight stops probing when the term ends. */
  async #reconcile(key: string, signal: AbortSignal): Promise<WorkResult> {
    try {
      return await this.#judge(key, signal);
    } finally {
      this.#sweptOnce(key);
    }
  }

  async #judge(key: string, signal: AbortSignal): Promise<WorkResult> {
    const result = await this.#reconciler.reconcile(key, signal);
    this.#reports?.changed(key.split('/')[0] ?? '');
    switch (result.kind) {
      case 'changed':
        // Backoff while the targets keep changing, but never longer than the interval: after a long
        // churn the uncapped delay reached many minutes, and the Service went unjudged that long.
        return { kind: 'retry', maxDelayMs: this.#config.intervalMs };
      case 'done': {
        const { intervalMs, intervalJitter } = this.#config;
        return { kind: 'requeue-after', afterMs: jittered(intervalMs, intervalJitter) };
      }
      case 'skipped':
        return { kind: 'done' };
    }
  }

  #reconcileFailed(key: string, err: unknown): WorkResult {
    const failure = classifyKubeError(err instanceof Error && err.cause !== undefined ? err.cause : err);
    const retryAfterMs = failure.kind === 'retryable' ? failure.retryAfterMs : undefined;
    this.#log.warn({ key, err: failure, retryAfterMs }, 'reconcile failed; retrying with backoff');
    return { kind: 'retry', retryAfterMs };
  }

  /** Forgets a deleted object everywhere state is kept per object. */
  #forgetDeleted(kind: WatchedKind, namespace: string, name: string): void {
    switch (kind) {
      case 'Service':
        this.#reconciler.forget(`${namespace}/${name}`);
        this.#writer?.forget(kind, namespace, name);
        this.#reports?.changed(namespace);
        return;
      case 'Pod':
        this.#reconciler.forgetObject(kind, namespace, name);
        this.#writer?.forget(kind, namespace, name);
        return;
      case 'Namespace':
        this.#reconciler.forgetObject(kind, namespace, name);
        this.#reports?.changed(name);
        return;
    }
  }

  /**
   * Every interval, forgets what the delete handlers could not: objects judged or written by work that
   * was in flight when their delete arrived, and expectations the watch never confirmed.
   */
  #startSweeping(): void {
    const timer = setInterval(() => {
      this.#reconciler.sweep();
      this.#writer?.sweep();
    }, this.#config.intervalMs);
    timer.unref();
    this.#stopping.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }

  /** Each per-object map's size, for `sockeye_tracked_objects`. */
  #tracked(): Record<string, number> {
    return {
      ...this.#reconciler.tracked(),
      ...this.#writer?.tracked(),
      ...this.#reports?.tracked(),
      metrics_service_ports: this.#metrics.servicesWithSeries,
    };
  }

  /** Queues the keys of the Services this shard owns. */
  #enqueue(keys: Iterable<string>): void {
    if (!this.#synced) return;
    for (const key of keys) if (this.#shard.ownsKey(key)) this.#queue.add(key);
  }

  /** Whether this shard caches the object (operator/shard-filter.ts). */
  #keeps(kind: WatchedKind, domain: unknown): boolean {
    if (kind === 'EndpointSlice') return this.#shard.keepsSlice(domain as EndpointSlice);
    if (kind === 'Pod') return this.#shard.keepsPod(domain as Pod);
    return true;
  }

  #watched(namespace: string): boolean {
    const { include, exclude } = this.#config.namespaces;
    return (include.length === 0 || include.includes(namespace)) && !exclude.includes(namespace);
  }

  #convert<D>(w: WatchedResource<KubernetesObject, D>, obj: KubernetesObject): D | undefined {
    try {
      return w.convert(obj);
    } catch (err) {
      const { namespace, name } = obj.metadata ?? {};
      this.#log.error({ err, kind: w.kind, namespace, name }, 'cannot read this object; skipping it');
      return undefined;
    }
  }

  /** Applies one change of a watched object and queues the Services it touches. */
  #changed<D>(w: WatchedResource<KubernetesObject, D>, obj: Converted<D>, deleted: boolean): void {
    const { domain, metadata } = obj;
    const namespace = metadata?.namespace ?? '';
    const name = metadata?.name ?? '';
    if (!w.clusterScoped && !this.#watched(namespace)) return;
    if (obj.outside) {
      // Left this shard's part (a pod's labels changed): forget it as if deleted.
      const cached = this.#cache.get(w.kind, namespace, name)?.object as D | undefined;
      if (cached !== undefined) this.#changed(w, { metadata: metadata ?? { name }, domain: cached }, true);
      return;
    }
    if (domain === undefined) return;
    const before = w.kind === 'Service' ? this.#cache.get('Service', namespace, name)?.object : undefined;
    const keys = w.apply(this.#cache, domain, deleted);
    if (deleted) this.#forgetDeleted(w.kind, namespace, name);
    this.#enqueue(keys);
    if (w.kind === 'Service' && this.#shard.sharded && this.#podsListed)
      this.#followSelector(before, deleted ? undefined : (domain as Service));
  }

  /**
   * A shard's Service appeared or changed its selector after the pods were listed: the pods it now
   * selects were dropped as they arrived, so they are read once (a labelled list); the pods no Service
   * of the shard selects any more are dropped.
   */
  #followSelector(before: Service | undefined, after: Service | undefined): void {
    const service = after ?? before;
    if (!service || !this.#shard.ownsService(service.namespace, service.name)) return;
    if (after && !sameLabels(before?.selector, after.selector)) void this.#adoptPods(after);
    if (before?.selector && !sameLabels(before.selector, after?.selector)) {
      for (const pod of this.#cache.podsSelectedBy(before.namespace, before.selector))
        if (!this.#shard.keepsPod(pod))
          this.#changed(PODS, { metadata: { name: pod.name, namespace: pod.namespace }, domain: pod }, true);
    }
  }

  /** Lists the pods `service` selects into the cache (those not cached yet), retrying with backoff. */
  async #adoptPods(service: Service): Promise<void> {
    const labelSelector = formatSelector(service.selector ?? {});
    if (labelSelector === '') return;
    const path = PODS.path(service.namespace);
    const backoff = new Backoff({ baseMs: 800, maxMs: 30_000, jitter: 1 });
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      try {
        const { items } = await paginate((page) => listRaw(this.#options.kc, path, page), {
          limit: LIST_PAGE_SIZE,
          labelSelector,
          signal,
        });
        for (const item of items) {
          const meta = (item as KubernetesObject).metadata;
          const [namespace, name] = [meta?.namespace ?? '', meta?.name ?? ''];
          // Cached already, or deleted since the list (the watch no longer has it): nothing to add.
          if (this.#cache.get('Pod', namespace, name)) continue;
          if (!this.#podInformers.some((i) => i.get(name, namespace) !== undefined)) continue;
          const domain = this.#convert(
            PODS as WatchedResource<KubernetesObject, Pod>,
            item as KubernetesObject,
          );
          if (domain && this.#shard.keepsPod(domain))
            this.#changed(PODS, { metadata: meta ?? {}, domain } as Converted<Pod>, false);
        }
        return;
      } catch (err) {
        if (signal.aborted) return;
        const failure = classifyKubeError(err);
        const delayMs = backoff.next(failure.kind === 'retryable' ? failure.retryAfterMs : undefined);
        this.#log.warn(
          { err: failure, delayMs, service: `${service.namespace}/${service.name}` },
          'cannot list the pods of a Service new to this shard; retrying',
        );
        await sleep(delayMs, undefined, signal);
      }
    }
  }

  /** One informer per watched kind: per namespace given, or one for the cluster. */
  #startInformers(): void {
    const { kc } = this.#options;
    const { include } = this.#config.namespaces;
    const scopes: (string | undefined)[] = include.length > 0 ? [...include] : [undefined];
    // A shard keeps the pods its Services select: it lists pods once it knows the Services.
    const services = scopes.map((scope) => this.#startInformer(SERVICES, scope));
    const servicesListed = this.#shard.sharded
      ? Promise.all(services.map((i) => i.whenSynced())).then(() => undefined)
      : undefined;
    const pods: Promise<void>[] = [];
    for (const scope of scopes)
      for (const w of WATCHED) {
        if (w.clusterScoped || w === SERVICES) continue;
        const informer = this.#startInformer(w, scope, w === PODS ? servicesListed : undefined);
        if (w === PODS) {
          this.#podInformers.push(informer);
          pods.push(informer.whenSynced());
        }
      }
    void Promise.all(pods).then(() => {
      this.#podsListed = true;
    });
    if (this.#config.hops.checkNodePorts) this.#startInformer(NODES, undefined);
    const { selectorlessServices, hostNetworkPods, serviceCIDRs } = this.#config.optIn;
    if (selectorlessServices || hostNetworkPods) {
      // The Service ranges the opt-in modes never dial inside. Where the API server does not serve
      // them (before 1.33) or RBAC does not grant them, the ranges of --service-cidrs do the job.
      this.#startInformer(SERVICE_CIDRS, undefined, undefined, (failure) =>
        this.#log.warn(
          { err: failure, serviceCIDRs },
          serviceCIDRs.length > 0
            ? 'cannot list ServiceCIDRs (asking again every 10 minutes); the opt-in modes keep out of the ranges of --service-cidrs and the ClusterIPs Services hold'
            : 'cannot list ServiceCIDRs (asking again every 10 minutes) and --service-cidrs is not set; the opt-in modes keep out of only the ClusterIPs Services hold now',
        ),
      );
    }
    if (include.length === 0) {
      for (const w of WATCHED) if (w.clusterScoped) this.#startInformer(w, undefined);
    } else {
      // Namespace-scoped: Roles cannot grant list/watch of Namespaces, only get of each one.
      const core = leanCoreV1(kc);
      this.#namespacePoller = new NamespacePoller({
        names: [...new Set([...include, this.#config.prober.namespace])],
        read: (name) => core.readNamespace({ name }),
        intervalMs: this.#config.intervalMs,
        apply: (obj) => this.#enqueue(NAMESPACES.apply(this.#cache, toNamespace(obj), false)),
        logger: this.#log,
      });
    }
  }

  /**
   * Starts an informer for `w` (after `after` resolves, when given). With `unavailable`, the kind is
   * one the operator can do without: a list refused with 403 or 404 calls it once and counts as synced
   * (and is listed again every 10 minutes, quietly, until it is served and granted); refused after
   * a list, it keeps that list, warns once and asks again as seldom.
   */
  #startInformer<D>(
    w: WatchedResource<KubernetesObject, D>,
    scope: string | undefined,
    after?: Promise<void>,
    unavailable?: (failure: KubeErrorClass) => void,
  ): SupervisedInformer<KubernetesObject, Converted<D>> {
    const { kc } = this.#options;
    const path = w.path(scope);
    const informer = new SupervisedInformer<KubernetesObject, Converted<D>>({
      kubeConfig: kc,
      name: `${w.kind}${scope ? `/${scope}` : ''}`,
      path,
      // One list from the API server's watch cache, each item converted as the body streams in: at
      // 20,000 pods, pages of 2,000 from etcd took ~3 s and each parsed page (~25 MB) outlived the
      // young generation, so the heap grew to its limit; plain JSON, not client-node's typed models
      // (4x the time). See listStreamed in raw-requests.ts.
      streamList: (each) => listStreamed(kc, path, each),
      logger: this.#log,
      onError: () => this.#metrics.informerRestart(w.kind),
      ...(unavailable === undefined ? {} : { unavailable }),
      transform: (obj) => {
        const metadata = {
          name: obj.metadata?.name ?? '',
          ...(obj.metadata?.namespace === undefined ? {} : { namespace: obj.metadata.namespace }),
          ...(obj.metadata?.resourceVersion === undefined
            ? {}
            : { resourceVersion: obj.metadata.resourceVersion }),
        };
        const domain = this.#convert(w, obj);
        // Outside the shard: only the name stays (in the informer's store), the object is dropped.
        if (domain !== undefined && !this.#keeps(w.kind, domain))
          return { metadata, domain: undefined, outside: true };
        return { metadata, domain };
      },
      handlers: {
        add: (o) => this.#changed(w, o, false),
        update: (o) => this.#changed(w, o, false),
        delete: (o) => this.#changed(w, o, true),
      },
    });
    this.#informers.push(informer);
    if (after === undefined) informer.start();
    else
      void after.then(() => {
        if (!this.#stopping.signal.aborted) informer.start();
      });
    return informer;
  }
}

/** Resolves when `promise` settles or `signal` aborts, whichever comes first. */
function untilAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve();
  return Promise.race([promise, new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
}

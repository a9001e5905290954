/**
 * Keeps one OpenReports `Report` per namespace in step with its findings (`--reports`, chart value
 * `reports.enabled`; the Report's shape is policy-report.ts). Level-based, like the annotation
 * writer: a reconcile only names its namespace (`changed`); a worker (controller/loop.ts) builds
 * the Report from the namespace's current findings and compares it with what the API holds, and
 * writes only a difference (server-side apply as `sockeye`, or a delete once the namespace has no
 * finding), so a healthy cluster costs no write.
 *
 * - sockeye does not install the CRD: while the API server does not serve openreports.io/v1alpha1
 *   reports, this writer says so once (and once more after it came and went), writes nothing,
 *   looks again every resync, and nothing else of the operator waits for it;
 * - what the API holds: sockeye's Reports (label `app.kubernetes.io/managed-by=sockeye`), listed
 *   when a term begins and again every resync, so a Report someone deleted or edited is put back;
 *   between lists, what this writer last wrote;
 * - only the leader writes: the workers run for a term of leadership and check it before each write;
 * - a failed write is retried with the work queue's per-key backoff (the server's Retry-After wins),
 *   never dropped and never in a hot loop.
 */
import { runWorkers, type WorkResult } from '../controller/loop.ts';
import { WorkQueue } from '../controller/workqueue.ts';
import { Backoff, globalTimers, sleep, type Timers } from '../kube/backoff.ts';
import { classifyKubeError, isNotFound } from '../kube/errors.ts';
import type { Fence } from '../kube/fence.ts';
import type { ReportStore } from '../kube/reports.ts';
import type { Logger } from '../log.ts';
import { type Shard, WHOLE } from '../model/shard.ts';
import type { Finding } from '../rules/types.ts';
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  policyReport,
  reportContent,
  reportName,
  reportNames,
} from './policy-report.ts';

export interface ReportWriterOptions {
  readonly store: ReportStore;
  /** The namespace's current findings (every judged Service's and its pods'). */
  readonly findingsIn: (namespace: string) => readonly Finding[];
  /** Whether this operator reports on the namespace (watched, not excluded). */
  readonly owns: (namespace: string) => boolean;
  /** The shard this writer reports for (its Report's name); default: the whole. */
  readonly shard?: Shard;
  /** Namespaces to list Reports in (a namespace-scoped install); undefined: the cluster. */
  readonly scope: readonly string[] | undefined;
  readonly logger: Logger;
  /** How often the Reports are listed again (and the API looked for while it is missing). */
  readonly resyncMs: number;
  /** Writes in flight at most (default 2). */
  readonly workers?: number;
  /** Each write's result, for `sockeye_api_writes_total{kind="report"}`. */
  readonly onWrite?: (result: 'ok' | 'error') => void;
  readonly onRetry?: () => void;
  readonly timers?: Timers;
  /** Work queue options (tests shorten the backoff). */
  readonly queue?: ConstructorParameters<typeof WorkQueue>[0];
}

const SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
const DONE: WorkResult = { kind: 'done' };

export class ReportWriter {
  readonly #options: ReportWriterOptions;
  readonly #queue: WorkQueue;
  readonly #timers: Timers;
  /** Namespace → the content of sockeye's Report there (reportContent); absent: none. */
  readonly #known = new Map<string, string>();
  /** Namespace → sequence number of this writer's last write there, while a list may predate it. */
  readonly #lastWrite = new Map<string, number>();
  #writes = 0;
  /** Whether the API serves Reports: undefined until first asked. */
  #served: boolean | undefined;
  #leading = false;
  readonly #shard: Shard;
  /** This writer's Report name in every namespace (reportName). */
  readonly #name: string;
  /** Stale Reports (`namespace/name`) this writer could not delete: said once each. */
  readonly #strandedSaid = new Set<string>();

  constructor(options: ReportWriterOptions) {
    this.#options = options;
    this.#shard = options.shard ?? WHOLE;
    this.#name = reportName(this.#shard);
    this.#timers = options.timers ?? globalTimers;
    this.#queue = new WorkQueue({ ...options.queue, onRetry: () => options.onRetry?.() });
  }

  /** The namespace's findings may have changed: its Report is compared (and written) soon. */
  changed(namespace: string): void {
    if (namespace !== '' && this.#options.owns(namespace)) this.#queue.add(namespace);
  }

  /** Whether the API serves Reports (undefined: not asked yet). */
  get served(): boolean | undefined {
    return this.#served;
  }

  /** Namespaces whose Report is still to be compared or written. */
  pending(): number {
    return this.#queue.len();
  }

  tracked(): Record<string, number> {
    return { report_namespaces: this.#known.size };
  }

  /**
   * Writes for `term` until it ends: finds the API (looking again every resync while it is
   * missing), reads sockeye's Reports, then works the namespaces and lists again every resync.
   */
  async lead(term: Fence): Promise<void> {
    if (this.#leading) return;
    this.#leading = true;
    const { signal } = term;
    const backoff = new Backoff({ baseMs: 1000, maxMs: 60_000, jitter: 0.5 });
    while (term.holds()) {
      try {
        if (await this.#sync(signal)) break;
        backoff.reset();
        await sleep(this.#options.resyncMs, this.#timers, signal);
      } catch (err) {
        if (signal.aborted) return;
        const failure = classifyKubeError(err);
        const retryAfterMs = failure.kind === 'retryable' ? failure.retryAfterMs : undefined;
        this.#options.logger.warn({ err: failure, retryAfterMs }, 'cannot read the policy reports; retrying');
        await sleep(backoff.next(retryAfterMs), this.#timers, signal);
      }
    }
    if (!term.holds()) return;
    const workers = runWorkers({
      queue: this.#queue,
      workers: this.#options.workers ?? 2,
      signal,
      handle: (namespace) => this.#write(namespace, term),
      onError: (namespace, err) => this.#failed(namespace, err),
    });
    while (!signal.aborted) {
      await sleep(this.#options.resyncMs, this.#timers, signal);
      if (!signal.aborted) await this.#resync(signal);
    }
    await workers;
  }

  /** Stops writing: the write in flight finishes (or `signal` aborts the wait); queued ones are left. */
  async close(signal?: AbortSignal): Promise<void> {
    const stopped = this.#queue.shutDown();
    if (!signal) return void (await stopped);
    await Promise.race([stopped, new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
  }

  async #resync(signal: AbortSignal): Promise<void> {
    try {
      await this.#sync(signal);
    } catch (err) {
      if (!signal.aborted)
        this.#options.logger.warn(
          { err: classifyKubeError(err) },
          'cannot list the policy reports; next resync',
        );
    }
  }

  /**
   * Asks whether the API serves Reports (saying so when that changed) and, when it does, reads
   * sockeye's Reports and queues every namespace whose Report may differ. False: not served.
   */
  async #sync(signal: AbortSignal): Promise<boolean> {
    const { store, logger } = this.#options;
    const served = await store.served(signal);
    if (!served) {
      if (this.#served !== false)
        logger.warn(
          'the OpenReports API (openreports.io/v1alpha1 reports) is not served: no policy reports are written; install its CRD to get them (README "Policy reports")',
        );
      this.#served = false;
      return false;
    }
    if (this.#served === false) logger.info('the OpenReports API is served now: writing policy reports');
    this.#served = true;
    const started = this.#writes;
    const listed = await store.list(SELECTOR, this.#options.scope, signal);
    const found = new Map<string, string>();
    const current = reportNames(this.#shard.count);
    for (const report of listed) {
      const { name, namespace } = report.metadata;
      if (name === this.#name) found.set(namespace, reportContent(report));
      else if (!current.has(name) && this.#shard.index === 0 && this.#options.owns(namespace))
        await this.#removeStale(namespace, name, signal);
    }
    for (const namespace of new Set([...this.#known.keys(), ...found.keys()])) {
      // Written since the list began: this writer knows better than the list.
      if ((this.#lastWrite.get(namespace) ?? 0) > started) continue;
      const content = found.get(namespace);
      if (content === undefined) this.#known.delete(namespace);
      else this.#known.set(namespace, content);
      this.changed(namespace);
    }
    for (const [namespace, seq] of this.#lastWrite) if (seq <= started) this.#lastWrite.delete(namespace);
    return true;
  }

  async #write(namespace: string, term: Fence): Promise<WorkResult> {
    // Not the leader any more, or the API went away (the next resync says when it is back).
    if (!term.holds() || this.#served !== true || !this.#options.owns(namespace)) return DONE;
    const desired = policyReport(namespace, this.#options.findingsIn(namespace), this.#name);
    const want = desired && reportContent(desired);
    if (want === this.#known.get(namespace)) return DONE;
    const { store } = this.#options;
    try {
      if (desired) await store.apply(desired, term.signal);
      else await store.delete(namespace, this.#name, term.signal);
    } catch (err) {
      // The namespace is gone (or going): no Report to keep there.
      if (!(desired && isNotFound(err))) throw err;
      this.#known.delete(namespace);
      return DONE;
    }
    this.#options.onWrite?.('ok');
    this.#lastWrite.set(namespace, ++this.#writes);
    if (want === undefined) this.#known.delete(namespace);
    else this.#known.set(namespace, want);
    return DONE;
  }

  /**
   * A Report left by a shard that no longer exists (the shard count changed: `sockeye-2` after 3 → 2
   * shards, `sockeye` after 1 → N, `sockeye-0` after N → 1). Shard 0 removes it, so exactly one
   * replica tries; where RBAC names only today's Reports it cannot, and says once how to.
   */
  async #removeStale(namespace: string, name: string, signal: AbortSignal): Promise<void> {
    try {
      await this.#options.store.delete(namespace, name, signal);
      this.#options.onWrite?.('ok');
      this.#options.logger.info({ namespace, report: name }, 'removed a policy report of a former shard');
    } catch (err) {
      if (isNotFound(err) || signal.aborted) return;
      this.#options.onWrite?.('error');
      const key = `${namespace}/${name}`;
      if (this.#strandedSaid.has(key)) return;
      this.#strandedSaid.add(key);
      this.#options.logger.warn(
        { namespace, report: name, err: classifyKubeError(err) },
        `cannot remove the policy report of a former shard; remove it with: kubectl delete reports.openreports.io -n ${namespace} ${name}`,
      );
    }
  }

  #failed(namespace: string, err: unknown): WorkResult {
    this.#options.onWrite?.('error');
    const failure = classifyKubeError(err);
    const retryAfterMs = failure.kind === 'retryable' ? failure.retryAfterMs : undefined;
    this.#options.logger.warn(
      { namespace, err: failure, retryAfterMs },
      'policy report write failed; retrying with backoff',
    );
    return { kind: 'retry', retryAfterMs };
  }
}

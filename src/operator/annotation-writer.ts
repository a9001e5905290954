/**
 * Writes the annotations a reconcile decided on, off the reconcile's path. A Service's reconcile
 * judges it and up to hundreds of pods; waiting for each patch made the first sweep of a large
 * cluster as slow as ~20,000 sequential round trips. Here:
 *
 * - the reconcile hands over its intent (the `Desired` annotations, or none to remove them) and
 *   returns; the latest intent per object wins, so a burst of reconciles writes once;
 * - the patch is computed at write time against what the informer last saw (level-based), so an
 *   intent already satisfied writes nothing;
 * - Services come first: they have their own queue and workers, and pod writes wait while any
 *   Service write is queued or in flight, so the 2,000 Service patches of a first sweep do not
 *   queue behind (or share the API server with) the pod patches (every failing pod's; after an
 *   upgrade, the removal of what an older sockeye wrote on every pod): the Service's status is
 *   what `kubectl get` shows;
 * - while a first sweep holds them back (`holdHealthy` to `releaseHeld`: the operator, from the start
 *   of a term until every Service has been judged once), a Service's Healthy status waits: its
 *   patch is no news, and 2,000 of them at once cost the API server and kube-controller-manager
 *   (whose endpointslice controller syncs a Service on each update) ~5 ms of CPU each, taken from
 *   the sweep that finds what is broken. Every other status, and every pod write, goes at once;
 *   released, the held statuses queue as any Service write does (pod writes wait for them);
 * - a failed write is retried with the work queue's per-key backoff (the server's Retry-After wins),
 *   never dropped and never in a hot loop; a NotFound means the object is gone: nothing to write;
 * - with a `fence` (the operator's term of leadership) an intent belongs to the term it was submitted
 *   in and is written only while that term holds, checked right before the patch is sent: when the
 *   term ends its intents are dropped at once and its patches in flight cancelled (the next leader
 *   judges every object again).
 */

import { WorkQueue } from '../controller/workqueue.ts';
import { classifyKubeError, isNotFound } from '../kube/errors.ts';
import type { Fence } from '../kube/fence.ts';
import type { Logger } from '../log.ts';
import type { Labels } from '../model/types.ts';
import { sameLabels } from '../rules/selectors.ts';
import {
  type AnnotationPatch,
  annotationPatch,
  type Desired,
  type Patcher,
  type PatchKind,
} from './annotation-patch.ts';
import type { ClusterCache } from './cache.ts';

export interface AnnotationWriterOptions {
  readonly cache: ClusterCache;
  readonly patcher: Patcher;
  readonly logger: Logger;
  /** Writes in flight per kind (default 8 each). */
  readonly workers?: Partial<Record<PatchKind, number>>;
  /** Each write's result, for metrics. */
  readonly onPatch?: (kind: PatchKind, result: 'ok' | 'error') => void;
  /** Each retry, for metrics. */
  readonly onRetry?: () => void;
  /**
   * The current term of leadership (undefined: none). When given, intents are taken only while a
   * term holds and written only while the term they were submitted in still holds.
   */
  readonly fence?: () => Fence | undefined;
}

interface Intent {
  readonly desired: Desired | undefined;
  /** When the status was judged: `sockeye.dev/since` when the status changes. */
  readonly at: Date;
  /** The term it was submitted in, when the writer is fenced. */
  readonly term: Fence | undefined;
}

const DEFAULT_WORKERS: Record<PatchKind, number> = { Service: 8, Pod: 8 };

export class AnnotationWriter {
  readonly #options: AnnotationWriterOptions;
  readonly #intents = new Map<string, Intent>();
  /** What a successful write made the annotations, until the informer shows it (see #written). */
  readonly #expected = new Map<string, { readonly values: Labels; readonly until: number }>();
  readonly #queues: Record<PatchKind, WorkQueue>;
  /** Service writes in flight; pod workers wait for zero (with nothing queued). */
  #serviceWrites = 0;
  readonly #servicesIdle: (() => void)[] = [];
  /** Terms whose end drops their intents (a listener each). */
  readonly #terms = new WeakSet<Fence>();
  /** Service keys whose Healthy status waits for releaseHeld (their intents are in #intents). */
  readonly #held = new Set<string>();
  /** While Healthy statuses are held: the timer that releases them at the latest. */
  #hold: ReturnType<typeof setTimeout> | undefined;

  constructor(options: AnnotationWriterOptions) {
    this.#options = options;
    const queue = () => new WorkQueue({ onRetry: () => options.onRetry?.() });
    this.#queues = { Service: queue(), Pod: queue() };
    for (const kind of ['Service', 'Pod'] as const) {
      const n = options.workers?.[kind] ?? DEFAULT_WORKERS[kind];
      for (let i = 0; i < n; i++) void this.#work(kind);
    }
  }

  /**
   * Asks for `desired` on the object (undefined: remove sockeye's annotations). Returns whether a
   * write is needed against what the cache holds now; when not, nothing is queued.
   */
  submit(kind: PatchKind, namespace: string, name: string, desired: Desired | undefined, at: Date): boolean {
    const term = this.#options.fence?.();
    if (this.#options.fence && !term?.holds()) return false;
    if (term) this.#dropWhenEnded(term);
    const written = this.#written(kind, namespace, name);
    if (!written || !annotationPatch(written, desired, at)) {
      // Satisfied: a queued older intent must not undo it.
      this.#intents.delete(keyOf(kind, namespace, name));
      if (kind === 'Service') this.#held.delete(`${namespace}/${name}`);
      return false;
    }
    const key = `${namespace}/${name}`;
    this.#intents.set(keyOf(kind, namespace, name), { desired, at, term });
    if (kind === 'Service') {
      if (this.#hold !== undefined && desired?.status === 'Healthy') {
        this.#held.add(key);
        return true;
      }
      this.#held.delete(key);
    }
    this.#queues[kind].add(key);
    return true;
  }

  /**
   * From now on a Service's Healthy status waits for releaseHeld (see the file's comment), or `maxMs`
   * at most: a sweep held up (a Service with thousands of silent targets) must not keep every other
   * Service's status unwritten with it.
   */
  holdHealthy(maxMs: number): void {
    if (this.#queues.Service.shuttingDown) return;
    clearTimeout(this.#hold);
    this.#hold = setTimeout(() => {
      const held = this.releaseHeld();
      this.#options.logger.info(
        { held, maxMs },
        'first sweep still running; writing the Healthy statuses held',
      );
    }, maxMs);
    this.#hold.unref?.();
  }

  /**
   * Ends a hold without writing what it held: the term it served ended, and its intents with it (the
   * next leader judges every object again).
   */
  cancelHold(): void {
    this.#endHold();
  }

  /** Queues every held Healthy status, and writes later ones at once. Returns how many were held. */
  releaseHeld(): number {
    const held = this.#endHold();
    for (const key of held) this.#queues.Service.add(key);
    return held.length;
  }

  /** Ends the hold (if any); returns the keys it held. */
  #endHold(): string[] {
    clearTimeout(this.#hold);
    this.#hold = undefined;
    const held = [...this.#held];
    this.#held.clear();
    return held;
  }

  /** Objects whose annotations are still to be written (queued, waiting to retry, or in flight). */
  pending(): number {
    return this.#intents.size;
  }

  /** Forgets a deleted object: its wanted annotations and what a write made them. */
  forget(kind: PatchKind, namespace: string, name: string): void {
    const id = keyOf(kind, namespace, name);
    this.#intents.delete(id);
    this.#expected.delete(id);
    if (kind === 'Service') this.#held.delete(`${namespace}/${name}`);
  }

  /** Drops expectations the watch has shown, that ended, or whose object is gone. */
  sweep(now = Date.now()): void {
    for (const [id, expected] of this.#expected) {
      const [kind, namespace = '', name = ''] = id.split('/') as [PatchKind, string?, string?];
      const cached = this.#options.cache.get(kind, namespace, name)?.written;
      if (!cached || now > expected.until || sameLabels(cached, expected.values)) this.#expected.delete(id);
    }
  }

  /** Entries of each per-object map, for `sockeye_tracked_objects`. */
  tracked(): Record<string, number> {
    return { annotation_intents: this.#intents.size, annotation_expectations: this.#expected.size };
  }

  /**
   * Stops writing: the writes in flight finish (or `signal` aborts the wait); queued ones are left,
   * since the next leader judges every object again and writes what is still missing (draining
   * thousands of queued pod patches would hold the Lease through a rollout).
   */
  async close(signal?: AbortSignal): Promise<void> {
    this.#endHold();
    const stopped = Promise.all([this.#queues.Service.shutDown(), this.#queues.Pod.shutDown()]);
    for (const wake of this.#servicesIdle.splice(0)) wake();
    if (!signal) return void (await stopped);
    await Promise.race([stopped, new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
  }

  /** When `term` ends, its intents are dropped: nothing of it is written any more. */
  #dropWhenEnded(term: Fence): void {
    if (this.#terms.has(term)) return;
    this.#terms.add(term);
    term.signal.addEventListener(
      'abort',
      () => {
        let dropped = 0;
        for (const [id, intent] of this.#intents) {
          if (intent.term !== term) continue;
          this.#intents.delete(id);
          dropped++;
        }
        if (dropped > 0)
          this.#options.logger.info({ dropped }, 'term ended; queued annotation writes dropped');
      },
      { once: true },
    );
  }

  async #work(kind: PatchKind): Promise<void> {
    const queue = this.#queues[kind];
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      if (kind === 'Pod') await this.#whenServicesIdle();
      if (kind === 'Service') this.#serviceWrites++;
      try {
        await this.#write(kind, key);
        queue.forget(key);
      } catch (err) {
        const failure = classifyKubeError(err);
        const retryAfterMs = failure.kind === 'retryable' ? failure.retryAfterMs : undefined;
        this.#options.logger.warn(
          { object: `${kind}/${key}`, err: failure, retryAfterMs },
          'annotation write failed; retrying with backoff',
        );
        queue.addAfterFailure(key, retryAfterMs);
      } finally {
        queue.done(key);
        if (kind === 'Service') {
          this.#serviceWrites--;
          this.#wakePodWriters();
        }
      }
    }
  }

  /**
   * sockeye's annotations on the object: as the informer last saw them, or as this writer just wrote
   * them while the watch has not caught up (client-go's "expectations"): without that, a reconcile in
   * that window asks for the same values again and they are written twice. An expectation ends when
   * the cache shows it, or after EXPECTATION_MS (then the cache is believed).
   */
  #written(kind: PatchKind, namespace: string, name: string): Labels | undefined {
    const cached = this.#options.cache.get(kind, namespace, name)?.written;
    const id = keyOf(kind, namespace, name);
    const expected = this.#expected.get(id);
    if (!expected || !cached) return cached;
    if (Date.now() > expected.until || sameLabels(cached, expected.values)) {
      this.#expected.delete(id);
      return cached;
    }
    return expected.values;
  }

  /**
   * Remembers what a write made the annotations, unless the object's delete arrived while the patch was
   * in flight: then nothing would ever end the expectation.
   */
  #expect(kind: PatchKind, namespace: string, name: string, values: Labels): void {
    if (!this.#options.cache.get(kind, namespace, name)) return;
    this.#expected.set(keyOf(kind, namespace, name), { values, until: Date.now() + EXPECTATION_MS });
  }

  #servicesBusy(): boolean {
    return this.#serviceWrites > 0 || this.#queues.Service.len() > 0;
  }

  async #whenServicesIdle(): Promise<void> {
    while (this.#servicesBusy() && !this.#queues.Pod.shuttingDown)
      await new Promise<void>((resolve) => this.#servicesIdle.push(resolve));
  }

  #wakePodWriters(): void {
    if (this.#servicesBusy()) return;
    for (const wake of this.#servicesIdle.splice(0)) wake();
  }

  async #write(kind: PatchKind, key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const id = keyOf(kind, namespace, name);
    const intent = this.#intents.get(id);
    const written = this.#written(kind, namespace, name);
    const patch: AnnotationPatch | undefined =
      intent && written ? annotationPatch(written, intent.desired, intent.at) : undefined;
    // The fence, right before the write: a term that ended or expired writes nothing more.
    if (!patch || (intent?.term && !intent.term.holds())) {
      if (this.#intents.get(id) === intent) this.#intents.delete(id);
      return;
    }
    try {
      await this.#options.patcher.patch(kind, namespace, name, patch, intent?.term?.signal);
      this.#options.onPatch?.(kind, 'ok');
      this.#expect(kind, namespace, name, applyPatch(written ?? {}, patch));
      // Written, unless a newer intent arrived meanwhile (then the queue holds the key again).
      if (this.#intents.get(id) === intent) this.#intents.delete(id);
    } catch (err) {
      // The object went away between the read and the write: nothing left to annotate.
      // Or the term ended while it was in flight (cancelled): the next leader writes what is due.
      if (isNotFound(err) || (intent?.term && !intent.term.holds())) {
        if (this.#intents.get(id) === intent) this.#intents.delete(id);
        return;
      }
      this.#options.onPatch?.(kind, 'error');
      throw err;
    }
  }
}

/** How long a write's result is believed over the informer's older view. */
const EXPECTATION_MS = 30_000;

function applyPatch(written: Labels, patch: AnnotationPatch): Labels {
  const out: Record<string, string> = { ...written };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

const keyOf = (kind: PatchKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

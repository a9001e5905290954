/**
 * Writes the annotations a reconcile decided on, off the reconcile's path. A Service's reconcile
 * judges it and up to hundreds of pods; waiting for each patch made the first sweep of a large
 * cluster as slow as ~20,000 sequential round trips. Here:
 *
 * - the reconcile hands over its intent (the `Desired` annotations, or none to remove them) and
 *   returns; the latest intent per object wins, so a burst of reconciles writes once;
 * - the patch is computed at write time against what the informer last saw (level-based), so an
 *   intent already satisfied writes nothing;
 * - Services and Pods have their own queues and workers: the 2,000 Service patches of a first sweep
 *   do not wait behind 20,000 pod patches (the Service's status is what `kubectl get` shows);
 * - a failed write is retried with the work queue's per-key backoff (the server's Retry-After wins),
 *   never dropped and never in a hot loop; a NotFound means the object is gone: nothing to write.
 */
import { WorkQueue } from '../controller/workqueue.ts';
import { classifyKubeError, isNotFound } from '../kube/errors.ts';
import type { Logger } from '../log.ts';
import {
  type AnnotationPatch,
  annotationPatch,
  type Desired,
  type Patcher,
  type PatchKind,
} from './annotations.ts';
import type { ClusterCache } from './cache.ts';

export interface AnnotationWriterOptions {
  readonly cache: ClusterCache;
  readonly patcher: Patcher;
  readonly logger: Logger;
  /** Writes in flight per kind (default Service 4, Pod 12). */
  readonly workers?: Partial<Record<PatchKind, number>>;
  /** Each write's result, for metrics. */
  readonly onPatch?: (kind: PatchKind, result: 'ok' | 'error') => void;
  /** Each retry, for metrics. */
  readonly onRetry?: () => void;
}

interface Intent {
  readonly desired: Desired | undefined;
  /** When the status was judged: `sockeye.dev/since` when the status changes. */
  readonly at: Date;
}

const DEFAULT_WORKERS: Record<PatchKind, number> = { Service: 4, Pod: 12 };

export class AnnotationWriter {
  readonly #options: AnnotationWriterOptions;
  readonly #intents = new Map<string, Intent>();
  readonly #queues: Record<PatchKind, WorkQueue>;
  readonly #workers: Promise<void>[] = [];

  constructor(options: AnnotationWriterOptions) {
    this.#options = options;
    const queue = () => new WorkQueue({ onRetry: () => options.onRetry?.() });
    this.#queues = { Service: queue(), Pod: queue() };
    for (const kind of ['Service', 'Pod'] as const) {
      const n = options.workers?.[kind] ?? DEFAULT_WORKERS[kind];
      for (let i = 0; i < n; i++) this.#workers.push(this.#work(kind));
    }
  }

  /**
   * Asks for `desired` on the object (undefined: remove sockeye's annotations). Returns whether a
   * write is needed against what the cache holds now; when not, nothing is queued.
   */
  submit(kind: PatchKind, namespace: string, name: string, desired: Desired | undefined, at: Date): boolean {
    const written = this.#options.cache.get(kind, namespace, name)?.written;
    if (!written || !annotationPatch(written, desired, at)) {
      // Satisfied: a queued older intent must not undo it.
      this.#intents.delete(keyOf(kind, namespace, name));
      return false;
    }
    const key = `${namespace}/${name}`;
    this.#intents.set(keyOf(kind, namespace, name), { desired, at });
    this.#queues[kind].add(key);
    return true;
  }

  /** Objects whose annotations are still to be written (queued, waiting to retry, or in flight). */
  pending(): number {
    return this.#intents.size;
  }

  /** Stops taking writes; resolves when the queued ones are written (or `signal` aborts). */
  async close(signal?: AbortSignal): Promise<void> {
    const drained = Promise.all([
      this.#queues.Service.shutDownWithDrain(),
      this.#queues.Pod.shutDownWithDrain(),
    ]);
    if (signal) {
      await Promise.race([drained, new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
      void this.#queues.Service.shutDown();
      void this.#queues.Pod.shutDown();
    } else await drained;
  }

  async #work(kind: PatchKind): Promise<void> {
    const queue = this.#queues[kind];
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
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
        if (retryAfterMs === undefined) queue.addRateLimited(key);
        else {
          this.#options.onRetry?.();
          queue.addAfter(key, retryAfterMs);
        }
      } finally {
        queue.done(key);
      }
    }
  }

  async #write(kind: PatchKind, key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const id = keyOf(kind, namespace, name);
    const intent = this.#intents.get(id);
    const written = this.#options.cache.get(kind, namespace, name)?.written;
    const patch: AnnotationPatch | undefined =
      intent && written ? annotationPatch(written, intent.desired, intent.at) : undefined;
    if (!patch) {
      this.#intents.delete(id);
      return;
    }
    try {
      await this.#options.patcher.patch(kind, namespace, name, patch);
      this.#options.onPatch?.(kind, 'ok');
      // Written, unless a newer intent arrived meanwhile (then the queue holds the key again).
      if (this.#intents.get(id) === intent) this.#intents.delete(id);
    } catch (err) {
      // The object went away between the read and the write: nothing left to annotate.
      if (isNotFound(err)) {
        if (this.#intents.get(id) === intent) this.#intents.delete(id);
        return;
      }
      this.#options.onPatch?.(kind, 'error');
      throw err;
    }
  }
}

const keyOf = (kind: PatchKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

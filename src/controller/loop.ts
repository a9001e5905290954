/**
 * The generic controller loop (controller-runtime's worker and processNextWorkItem): `workers`
 * workers take keys from a work queue, one key at a time each, and call the handler with the
 * loop's signal; the handler's result (or its error) becomes the queue call that decides when the
 * key comes back. The queue guarantees a key is never handled by two workers at once.
 *
 * Reconciliation is level-based: the handler re-reads current state for the key, so a key queued
 * many times is worked once, and a result says only when to look again.
 */
import type { WorkQueue } from './workqueue.ts';

/** What handling a key asks of the queue; the key is marked done after. */
export type WorkResult =
  /** Succeeded: the key's backoff is cleared; it comes back only when something adds it. */
  | { readonly kind: 'done' }
  /** Succeeded: the key's backoff is cleared, and it is queued again after `afterMs`. */
  | { readonly kind: 'requeue-after'; readonly afterMs: number }
  /**
   * Not finished: queued again after the server's `retryAfterMs` when given, else after the key's
   * exponential backoff (capped at `maxDelayMs` when given); the backoff keeps growing until a
   * success clears it.
   */
  | {
      readonly kind: 'retry';
      readonly retryAfterMs?: number | undefined;
      readonly maxDelayMs?: number | undefined;
    };

/** The queue calls the loop makes (WorkQueue has them; tests pass a recording fake). */
export type LoopQueue = Pick<
  WorkQueue,
  'get' | 'done' | 'forget' | 'addAfter' | 'addRateLimited' | 'addAfterFailure' | 'shutDown'
>;

export interface ControllerLoopOptions {
  readonly queue: LoopQueue;
  /** How many keys are handled at once. */
  readonly workers: number;
  /** Handles one key; `signal` is the loop's: work in flight should stop when it aborts. */
  readonly handle: (key: string, signal: AbortSignal) => Promise<WorkResult>;
  /**
   * What a thrown error means for the key (log it here); default: retry with backoff. Not called
   * once the signal aborted: the error is then the abort's, and the key is dropped.
   */
  readonly onError?: (key: string, err: unknown) => WorkResult;
  /** Aborting it shuts the queue down: the workers finish the key in hand and return. */
  readonly signal: AbortSignal;
}

const RETRY: WorkResult = { kind: 'retry' };

/** Starts the workers; resolves once every one has returned (the queue shut down). */
export function runWorkers(options: ControllerLoopOptions): Promise<void> {
  const { queue, signal } = options;
  if (signal.aborted) void queue.shutDown();
  else signal.addEventListener('abort', () => void queue.shutDown(), { once: true });
  const workers = Array.from({ length: options.workers }, () => work(options));
  return Promise.all(workers).then(() => undefined);
}

async function work(options: ControllerLoopOptions): Promise<void> {
  const { queue } = options;
  for (;;) {
    const key = await queue.get();
    if (key === undefined) return;
    try {
      const result = await handleOne(options, key);
      if (result) apply(queue, key, result);
    } finally {
      queue.done(key);
    }
  }
}

/** The handler's result, or what its error means; `undefined` for an error after the abort. */
async function handleOne(options: ControllerLoopOptions, key: string): Promise<WorkResult | undefined> {
  const { signal } = options;
  try {
    return await options.handle(key, signal);
  } catch (err) {
    return signal.aborted ? undefined : (options.onError?.(key, err) ?? RETRY);
  }
}

function apply(queue: LoopQueue, key: string, result: WorkResult): void {
  switch (result.kind) {
    case 'done':
      queue.forget(key);
      return;
    case 'requeue-after':
      queue.forget(key);
      queue.addAfter(key, result.afterMs);
      return;
    case 'retry':
      if (result.retryAfterMs === undefined) queue.addRateLimited(key, result.maxDelayMs);
      else queue.addAfterFailure(key, result.retryAfterMs);
      return;
  }
}

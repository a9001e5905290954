import {
  isMainThread,
  type MessagePort,
  parentPort,
  type ResourceLimits,
  Worker,
  workerData,
} from 'node:worker_threads';
import { probeWorkerScript } from './worker-script.ts';

/**
 * The probe engine's worker threads, as both kinds use them: a run's share (parallel.ts) and a
 * dialer's connects (thread-dialer.ts). Both run the same script (worker-script.ts), which serves
 * whichever role the worker was started for.
 */

/** A worker's code: a file, or its source text (the single executable's bundle). */
export type WorkerScript = { readonly url: URL } | { readonly source: string };

/**
 * Starts a worker for `role` (a key of its workerData: other code, a test runner's, starts workers
 * too), running `script` (by default the probe engine's).
 */
export function startWorker(
  role: string,
  options: { readonly script?: WorkerScript; readonly resourceLimits?: ResourceLimits } = {},
): Worker {
  const script = options.script ?? probeWorkerScript();
  const common = {
    workerData: { [role]: true },
    ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
  };
  return 'source' in script
    ? new Worker(script.source, { eval: true, ...common })
    : new Worker(script.url, common);
}

/** In a worker startWorker started for `role`: its port to the thread that started it; elsewhere undefined. */
export function portFor(role: string): MessagePort | undefined {
  const marked = (workerData as Record<string, unknown> | null)?.[role] === true;
  return !isMainThread && marked ? (parentPort ?? undefined) : undefined;
}

/**
 * `send`, once per event-loop turn however often the returned function is called in it: what a turn's
 * I/O produced (results, dials) crosses to the other thread in one message, after that I/O is read.
 */
export function oncePerTurn(send: () => void): () => void {
  let scheduled = false;
  const fire = () => {
    scheduled = false;
    send();
  };
  return () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(fire);
  };
}

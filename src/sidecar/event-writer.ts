/**
 * Events on the sidecar's own pod: client-go's correlation (spam budget, aggregation, series) from
 * src/kube/event-correlator.ts, and a small sequential writer over `SidecarApi`. The operator's
 * EventRecorder (src/kube/events.ts) is not reused because importing it loads @kubernetes/client-node
 * (see kube.ts); the sidecar writes an Event only when a port changes class, so one write at a time
 * with a short retry is enough. Recording never blocks or throws.
 */
import { Backoff, globalTimers, sleep, type Timers } from '../kube/backoff.ts';
import { classifyKubeError, isAlreadyExists, isNotFound, statusCodeOf } from '../kube/errors.ts';
import { EventCorrelator, type EventInput, type PlannedEvent } from '../kube/event-correlator.ts';
import type { Logger } from '../log.ts';
import type { EventBody, SidecarApi } from './kube.ts';

export const REPORTING_CONTROLLER = 'sockeye.dev/sidecar';

export interface SidecarEventsOptions {
  readonly api: SidecarApi;
  readonly reportingInstance: string;
  readonly now: () => number;
  readonly logger: Logger;
  /** created, patched, exists, retry, rejected, forbidden, gave-up, overflow, spam-filtered. */
  readonly onWrite: (result: string) => void;
  /** The API answered 403: the ServiceAccount may not write Events. */
  readonly onForbidden: (err: unknown) => void;
  readonly timers?: Timers;
  readonly maxAttempts?: number;
  readonly queueSize?: number;
}

/** RFC 3339 with microseconds, as `eventTime` and `series.lastObservedTime` (MicroTime) require. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export function eventBody(plan: PlannedEvent, instance: string): EventBody {
  const { regarding } = plan;
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: plan.name, namespace: plan.namespace },
    eventTime: microTime(plan.firstObservedMs),
    regarding: {
      apiVersion: regarding.apiVersion,
      kind: regarding.kind,
      name: regarding.name,
      ...(regarding.namespace ? { namespace: regarding.namespace } : {}),
      ...(regarding.uid ? { uid: regarding.uid } : {}),
    },
    type: plan.type,
    reason: plan.reason,
    action: plan.action,
    note: plan.note,
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: instance,
    ...(plan.series
      ? { series: { count: plan.series.count, lastObservedTime: microTime(plan.series.lastObservedMs) } }
      : {}),
  };
}

export class SidecarEvents {
  readonly #o: SidecarEventsOptions;
  readonly #correlator = new EventCorrelator();
  readonly #backoff = new Backoff({ baseMs: 1000, maxMs: 30_000, jitter: 0.5 });
  readonly #queue: { plan: PlannedEvent; series: boolean }[] = [];
  readonly #closing = new AbortController();
  #pump: Promise<void> | undefined;

  constructor(options: SidecarEventsOptions) {
    this.#o = options;
  }

  record(input: EventInput): void {
    const decision = this.#correlator.observe(input, this.#o.now());
    if (decision.kind === 'drop') {
      this.#o.onWrite('spam-filtered');
      return;
    }
    if (this.#queue.length >= (this.#o.queueSize ?? 100)) {
      this.#o.onWrite('overflow');
      return;
    }
    this.#queue.push({ plan: decision.event, series: decision.kind === 'series' });
    this.#pump ??= this.#run().finally(() => {
      this.#pump = undefined;
    });
  }

  /** Lets queued writes finish until `signal` aborts. */
  async close(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.#closing.abort(), { once: true });
    await this.#pump;
  }

  async #run(): Promise<void> {
    for (let next = this.#queue.shift(); next; next = this.#queue.shift()) await this.#write(next);
  }

  async #write(write: { plan: PlannedEvent; series: boolean }): Promise<void> {
    const { api, onWrite, logger } = this.#o;
    const { plan } = write;
    const maxAttempts = this.#o.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        if (write.series && plan.series) {
          try {
            await api.patchEvent(plan.namespace, plan.name, {
              series: { count: plan.series.count, lastObservedTime: microTime(plan.series.lastObservedMs) },
            });
            onWrite('patched');
            return;
          } catch (err) {
            // Expired or deleted: write it again, series included.
            if (!isNotFound(err)) throw err;
            write.series = false;
          }
        }
        await api.createEvent(eventBody(plan, this.#o.reportingInstance));
        onWrite('created');
        this.#backoff.reset();
        return;
      } catch (err) {
        if (isAlreadyExists(err)) {
          onWrite('exists');
          return;
        }
        if (statusCodeOf(err) === 403) {
          onWrite('forbidden');
          this.#o.onForbidden(err);
          return;
        }
        const failure = classifyKubeError(err, this.#o.now());
        const fields = { event: plan.name, reason: plan.reason, attempt, err: failure };
        if (failure.kind !== 'retryable') {
          onWrite('rejected');
          logger.warn(fields, 'event write rejected; not retried');
          return;
        }
        if (attempt >= maxAttempts || this.#closing.signal.aborted) {
          onWrite('gave-up');
          logger.warn(fields, 'event write kept failing; given up');
          return;
        }
        onWrite('retry');
        await sleep(
          this.#backoff.next(failure.retryAfterMs),
          this.#o.timers ?? globalTimers,
          this.#closing.signal,
        );
      }
    }
  }
}

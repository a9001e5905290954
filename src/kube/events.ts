/**
 * The event recorder: `record()` hands an event to the pure correlator (spam filter, aggregation,
 * series) and queues the resulting write; one background writer sends it through an `EventSink`.
 * Recording never blocks or fails the caller. Writes are retried with backoff on retryable errors
 * (409/429/5xx/network, honouring Retry-After), given up after a bounded number of attempts, and
 * every write that does not happen is logged and counted (`onWrite`).
 *
 * With a `fence` (the operator's term of leadership) every write belongs to the term it was recorded
 * in and is sent only while that term holds, checked right before each try: when the term ends its
 * queued writes are dropped, its retries stop and its request in flight is cancelled (the next
 * leader judges everything again and writes what is still true).
 */
import type {
  EventsV1Api,
  EventsV1Event,
  EventsV1EventSeries,
  V1ObjectReference,
} from '@kubernetes/client-node';
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import { V1MicroTime } from '@kubernetes/client-node/dist/types.js';
import { componentLogger, type Logger, logger as rootLogger } from '../log.ts';
import { Backoff, type BackoffOptions, globalTimers, sleep, type Timers } from './backoff.ts';
import { classifyKubeError, isAlreadyExists, isNotFound } from './errors.ts';
import {
  type CorrelatorOptions,
  EventCorrelator,
  type EventInput,
  type EventObjectRef,
  type PlannedEvent,
} from './event-correlator.ts';
import type { Fence } from './fence.ts';
import { FIELD_MANAGER } from './field-manager.ts';
import { withSignal } from './request-options.ts';

export type { EventInput, EventObjectRef, EventType } from './event-correlator.ts';

export const REPORTING_CONTROLLER = 'sockeye.dev/operator';

/**
 * The two API calls the recorder makes; `eventsV1Sink` implements them over client-node, as field
 * manager `sockeye`. `signal` cancels the request (the term that recorded the Event ended).
 */
export interface EventSink {
  create(
    event: EventsV1Event & { metadata: { name: string; namespace: string } },
    signal?: AbortSignal,
  ): Promise<void>;
  patchSeries(
    namespace: string,
    name: string,
    series: EventsV1EventSeries,
    signal?: AbortSignal,
  ): Promise<void>;
}

export function eventsV1Sink(
  api: Pick<EventsV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>,
): EventSink {
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return {
    async create(event, signal) {
      await api.createNamespacedEvent(
        { namespace: event.metadata.namespace, body: event, fieldManager: FIELD_MANAGER },
        withSignal(signal),
      );
    },
    async patchSeries(namespace, name, series, signal) {
      await api.patchNamespacedEvent(
        { name, namespace, body: { series }, fieldManager: FIELD_MANAGER },
        withSignal(signal, mergePatch),
      );
    },
  };
}

/**
 * What happened to one recorded event, for `sockeye_api_writes_total{kind="event",result}`:
 * written (`created`, `patched`, `exists`: a retried create had landed), one failed try that will be
 * retried (`retry`), or not written (`rejected` by the server, `gave-up` after retries or on close,
 * `overflow` of the queue, `spam-filtered`, `fenced`: its term of leadership ended).
 */
export type EventWriteResult =
  | 'created'
  | 'patched'
  | 'exists'
  | 'retry'
  | 'rejected'
  | 'gave-up'
  | 'overflow'
  | 'spam-filtered'
  | 'fenced';

export interface EventRecorderOptions {
  readonly sink: EventSink;
  /** The operator pod's name. */
  readonly reportingInstance: string;
  readonly reportingController?: string;
  readonly correlator?: CorrelatorOptions;
  /** Wall-clock milliseconds (eventTime, series times, correlator windows). */
  readonly now?: () => number;
  readonly timers?: Timers;
  readonly random?: () => number;
  /** Writes waiting at most (default 1000); beyond, new events are dropped and counted. */
  readonly queueSize?: number;
  /** Tries per write before giving up (default 12, client-go's maxTriesPerEvent). */
  readonly maxAttempts?: number;
  /** Delay between tries (default 1 s doubling to 60 s, +50% jitter). */
  readonly retry?: BackoffOptions;
  readonly onWrite?: (result: EventWriteResult) => void;
  readonly logger?: Logger;
  /**
   * The current term of leadership (undefined: none). When given, an Event is recorded only while a
   * term holds and written only while the term it was recorded in still holds.
   */
  readonly fence?: () => Fence | undefined;
}

/** The events.k8s.io/v1 body of a planned Event; times as `V1MicroTime` (a plain Date is rejected). */
export function toEventsV1(
  plan: PlannedEvent,
  reporting: { readonly controller: string; readonly instance: string },
): EventsV1Event & { metadata: { name: string; namespace: string } } {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: plan.name, namespace: plan.namespace },
    eventTime: new V1MicroTime(plan.firstObservedMs),
    regarding: toObjectReference(plan.regarding),
    ...(plan.related ? { related: toObjectReference(plan.related) } : {}),
    type: plan.type,
    reason: plan.reason,
    action: plan.action,
    note: plan.note,
    reportingController: reporting.controller,
    reportingInstance: reporting.instance,
    ...(plan.series ? { series: toSeries(plan.series) } : {}),
  };
}

function toSeries(series: NonNullable<PlannedEvent['series']>): EventsV1EventSeries {
  return { count: series.count, lastObservedTime: new V1MicroTime(series.lastObservedMs) };
}

function toObjectReference(ref: EventObjectRef): V1ObjectReference {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    name: ref.name,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    ...(ref.uid ? { uid: ref.uid } : {}),
  };
}

interface Write {
  plan: PlannedEvent;
  /** `patch` continues a series; it falls back to `create` when the server no longer has the Event. */
  mode: 'create' | 'patch';
  /** The term it was recorded in, when the recorder is fenced. */
  readonly term: Fence | undefined;
}

export class EventRecorder {
  readonly #sink: EventSink;
  readonly #correlator: EventCorrelator;
  readonly #reporting: { readonly controller: string; readonly instance: string };
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #queueSize: number;
  readonly #maxAttempts: number;
  readonly #backoff: Backoff;
  readonly #onWrite: (result: EventWriteResult) => void;
  readonly #log: Logger;
  readonly #fence: (() => Fence | undefined) | undefined;
  /** Writes not yet started, in order; `#pending` indexes them by Event name to fold repeats. */
  readonly #queue: Write[] = [];
  readonly #pending = new Map<string, Write>();
  readonly #idle: Array<() => void> = [];
  readonly #closing = new AbortController();
  #writing = false;
  #closed = false;

  constructor(options: EventRecorderOptions) {
    this.#sink = options.sink;
    this.#correlator = new EventCorrelator(options.correlator);
    this.#reporting = {
      controller: options.reportingController ?? REPORTING_CONTROLLER,
      instance: options.reportingInstance,
    };
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? globalTimers;
    this.#queueSize = options.queueSize ?? 1000;
    this.#maxAttempts = options.maxAttempts ?? 12;
    this.#backoff = new Backoff(
      options.retry ?? { baseMs: 1000, maxMs: 60_000, jitter: 0.5 },
      options.random,
    );
    this.#onWrite = options.onWrite ?? (() => {});
    this.#log = componentLogger(options.logger ?? rootLogger, 'events');
    this.#fence = options.fence;
  }

  /** Records an event. Returns at once; never throws. */
  record(input: EventInput): void {
    const fields = { reason: input.reason, regarding: `${input.regarding.kind}/${input.regarding.name}` };
    if (this.#closed) {
      this.#drop('gave-up', 'event recorded after close; not written', fields);
      return;
    }
    const term = this.#fence?.();
    if (this.#fence && !term?.holds()) {
      this.#drop('fenced', 'event recorded outside a term of leadership; not written', fields);
      return;
    }
    const decision = this.#correlator.observe(input, this.#now());
    if (decision.kind === 'drop') {
      this.#drop('spam-filtered', 'event spam budget of the object exhausted; not written', fields);
      return;
    }
    const waiting = this.#pending.get(decision.event.name);
    if (waiting) {
      // A later observation of an Event still waiting to be written: send only the newest state.
      waiting.plan = decision.event;
      return;
    }
    if (this.#queue.length >= this.#queueSize) {
      this.#drop('overflow', 'event queue full; not written', { ...fields, queueSize: this.#queueSize });
      return;
    }
    const write: Write = {
      plan: decision.event,
      mode: decision.kind === 'series' ? 'patch' : 'create',
      term,
    };
    this.#queue.push(write);
    this.#pending.set(write.plan.name, write);
    // Start writing after the caller's turn: no part of a write runs on the caller's stack.
    if (!this.#writing) queueMicrotask(() => void this.#pump());
  }

  /** Writes waiting or in progress. */
  pending(): number {
    return this.#queue.length + (this.#writing ? 1 : 0);
  }

  /** Resolves when every queued write has finished (written or given up). */
  idle(): Promise<void> {
    if (!this.#writing && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Stops recording. Queued writes still go out until `signal` aborts (the shutdown grace period);
   * then retries stop and what is left is logged and counted as `gave-up`.
   */
  async close(signal?: AbortSignal): Promise<void> {
    this.#closed = true;
    const onAbort = () => this.#closing.abort();
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.idle();
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async #pump(): Promise<void> {
    if (this.#writing || this.#queue.length === 0) return;
    this.#writing = true;
    try {
      for (let write = this.#queue.shift(); write; write = this.#queue.shift()) {
        this.#pending.delete(write.plan.name);
        await this.#write(write);
      }
    } finally {
      this.#writing = false;
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  async #write(write: Write): Promise<void> {
    const fields = { event: write.plan.name, namespace: write.plan.namespace, reason: write.plan.reason };
    const stop = write.term
      ? AbortSignal.any([this.#closing.signal, write.term.signal])
      : this.#closing.signal;
    for (let attempt = 1; ; attempt++) {
      // Right before each try: the fence (a clock read) and the shutdown grace.
      if (this.#fenced(write, fields)) return;
      if (this.#closing.signal.aborted) {
        this.#drop('gave-up', 'shutting down; event not written', fields);
        return;
      }
      try {
        this.#onWrite(await this.#attempt(write));
        this.#backoff.reset();
        return;
      } catch (err) {
        if (this.#fenced(write, fields)) return;
        const failure = classifyKubeError(err, this.#now());
        if (failure.kind !== 'retryable') {
          this.#drop('rejected', 'event write rejected; not retried', { ...fields, err: failure });
          return;
        }
        if (attempt >= this.#maxAttempts) {
          this.#drop('gave-up', 'event write kept failing; given up', { ...fields, attempt, err: failure });
          return;
        }
        const delayMs = this.#backoff.next(failure.retryAfterMs);
        this.#onWrite('retry');
        this.#log.warn({ ...fields, attempt, delayMs, err: failure }, 'event write failed; will retry');
        await sleep(delayMs, this.#timers, stop);
      }
    }
  }

  /** Drops `write` when the term it was recorded in no longer holds. */
  #fenced(write: Write, fields: object): boolean {
    if (!write.term || write.term.holds()) return false;
    this.#drop('fenced', 'term of leadership ended; event not written', fields);
    return true;
  }

  async #attempt(write: Write): Promise<EventWriteResult> {
    const { plan } = write;
    const signal = write.term?.signal;
    if (write.mode === 'patch' && plan.series) {
      try {
        await this.#sink.patchSeries(plan.namespace, plan.name, toSeries(plan.series), signal);
        return 'patched';
      } catch (err) {
        // The Event expired or was deleted: write it again, series included.
        if (!isNotFound(err)) throw err;
        write.mode = 'create';
      }
    }
    try {
      await this.#sink.create(toEventsV1(plan, this.#reporting), signal);
      return 'created';
    } catch (err) {
      // A create that timed out may have landed: the name is ours, so the Event is there.
      if (isAlreadyExists(err)) return 'exists';
      throw err;
    }
  }

  #drop(result: EventWriteResult, message: string, fields: object): void {
    this.#onWrite(result);
    if (result === 'spam-filtered' || result === 'fenced') {
      this.#log.debug(fields, message);
    } else {
      this.#log.warn(fields, message);
    }
  }
}

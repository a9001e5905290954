/**
 * The pure core of sockeye's event recorder: given an event someone wants to record and the time,
 * decide what to write. It reproduces client-go's recorder on plain data (no client, no clock):
 *
 * 1. spam filter (tools/record EventSourceObjectSpamFilter): a token bucket per regarding object,
 *    burst 25, one token per 5 minutes; an event without a token is dropped.
 * 2. aggregation (tools/record EventAggregator): events that differ only in note are counted per
 *    10-minute window; from the 10th distinct note on they fold into one Event whose note says
 *    "(combined from similar events): …".
 * 3. series (tools/events): an event identical to one already written (same regarding object, reason,
 *    type, action, note) becomes a series update (count + lastObservedTime) of that Event rather than
 *    a new object.
 *
 * Times are wall-clock milliseconds since the epoch (they end up in eventTime / lastObservedTime).
 */
import { TokenBucket } from './backoff.ts';

export type EventType = 'Normal' | 'Warning';

/** The object an Event is about (an ObjectReference, trimmed to what identifies it). */
export interface EventObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  /** Empty or absent for cluster-scoped objects. */
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

/** What a caller asks the recorder to record. */
export interface EventInput {
  readonly regarding: EventObjectRef;
  readonly related?: EventObjectRef;
  readonly type: EventType;
  /** UpperCamelCase and stable (docs/design.md "Findings"). */
  readonly reason: string;
  /** What sockeye did about the object, e.g. `Probe`. */
  readonly action: string;
  readonly note: string;
}

/** One Event as it should exist on the server (`note` already truncated, maybe aggregated). */
export interface PlannedEvent extends EventInput {
  readonly name: string;
  /** The regarding object's namespace; `default` for cluster-scoped objects (API validation). */
  readonly namespace: string;
  /** When the Event was first observed (eventTime). */
  readonly firstObservedMs: number;
  /** Present from the second observation on (`count >= 2`, as the API requires). */
  readonly series?: { readonly count: number; readonly lastObservedMs: number };
}

export type CorrelatorDecision =
  | { readonly kind: 'create'; readonly event: PlannedEvent }
  | {
      readonly kind: 'series';
      readonly event: PlannedEvent & { readonly series: NonNullable<PlannedEvent['series']> };
    }
  | { readonly kind: 'drop'; readonly reason: 'spam-filtered' };

export interface CorrelatorOptions {
  /** Spam filter: tokens per regarding object (default 25). */
  readonly spamBurst?: number;
  /** Spam filter: milliseconds per refilled token (default 5 minutes). */
  readonly spamRefillMs?: number;
  /** Aggregation: distinct notes per window before folding (default 10). */
  readonly aggregateMaxEvents?: number;
  /** Aggregation window (default 10 minutes). */
  readonly aggregateWindowMs?: number;
  /**
   * A series older than this is not continued: the server has likely expired its Event (default
   * 1 hour, kube-apiserver's --event-ttl), so the next observation creates a new one.
   */
  readonly seriesTtlMs?: number;
  /** Entries kept in each cache (default 4096, client-go's maxLruCacheEntries). */
  readonly cacheSize?: number;
}

export const NOTE_MAX_BYTES = 1024;
export const AGGREGATE_PREFIX = '(combined from similar events): ';

/** Cuts `note` to the API's 1024-byte limit on a character boundary. */
export function truncateNote(note: string, maxBytes: number = NOTE_MAX_BYTES): string {
  const encoder = new TextEncoder();
  if (encoder.encode(note).length <= maxBytes) return note;
  const ellipsis = '...';
  let bytes = 0;
  let out = '';
  for (const ch of note) {
    const size = encoder.encode(ch).length;
    if (bytes + size > maxBytes - ellipsis.length) break;
    bytes += size;
    out += ch;
  }
  return out + ellipsis;
}

/** `default` for cluster-scoped objects, else the object's own namespace. */
export function eventNamespace(ref: EventObjectRef): string {
  return ref.namespace || 'default';
}

function refKey(ref: EventObjectRef | undefined): string {
  if (!ref) return '';
  return [ref.apiVersion, ref.kind, ref.namespace ?? '', ref.name, ref.uid ?? ''].join('\u0000');
}

/** A Map that forgets its least recently used entries beyond `size`. */
class Lru<V> {
  readonly #map = new Map<string, V>();
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#size) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#map.delete(key);
  }
}

interface AggregateRecord {
  readonly notes: Set<string>;
  lastMs: number;
}

interface SeriesRecord {
  event: PlannedEvent;
  count: number;
  lastObservedMs: number;
}

export class EventCorrelator {
  readonly #spamBurst: number;
  readonly #spamRefillMs: number;
  readonly #aggregateMax: number;
  readonly #aggregateWindowMs: number;
  readonly #seriesTtlMs: number;
  readonly #spam: Lru<TokenBucket>;
  readonly #aggregates: Lru<AggregateRecord>;
  readonly #series: Lru<SeriesRecord>;
  /** Makes names unique within one millisecond. */
  #sequence = 0;
  /** The time of the observation being decided; the spam buckets read it as their clock. */
  #nowMs = 0;

  constructor(options: CorrelatorOptions = {}) {
    this.#spamBurst = options.spamBurst ?? 25;
    this.#spamRefillMs = options.spamRefillMs ?? 5 * 60_000;
    this.#aggregateMax = options.aggregateMaxEvents ?? 10;
    this.#aggregateWindowMs = options.aggregateWindowMs ?? 10 * 60_000;
    this.#seriesTtlMs = options.seriesTtlMs ?? 60 * 60_000;
    const size = options.cacheSize ?? 4096;
    this.#spam = new Lru(size);
    this.#aggregates = new Lru(size);
    this.#series = new Lru(size);
  }

  /** Decides what recording `input` at `nowMs` means for the API. */
  observe(input: EventInput, nowMs: number): CorrelatorDecision {
    this.#nowMs = nowMs;
    if (!this.#allow(input.regarding)) return { kind: 'drop', reason: 'spam-filtered' };

    const note = truncateNote(input.note);
    const aggregateKey = [
      refKey(input.regarding),
      refKey(input.related),
      input.type,
      input.reason,
      input.action,
    ].join('\u0001');
    const aggregated = this.#aggregate(aggregateKey, note, nowMs);
    const seriesKey = aggregated ? aggregateKey : `${aggregateKey}\u0001${note}`;

    const existing = this.#series.get(seriesKey);
    if (existing && nowMs - existing.lastObservedMs <= this.#seriesTtlMs) {
      existing.count++;
      existing.lastObservedMs = nowMs;
      const series = { count: existing.count, lastObservedMs: nowMs };
      return { kind: 'series', event: { ...existing.event, series } };
    }
    const event: PlannedEvent = {
      name: this.#name(input.regarding.name, nowMs),
      namespace: eventNamespace(input.regarding),
      regarding: input.regarding,
      ...(input.related ? { related: input.related } : {}),
      type: input.type,
      reason: input.reason,
      action: input.action,
      note: aggregated ? truncateNote(AGGREGATE_PREFIX + note) : note,
      firstObservedMs: nowMs,
    };
    this.#series.set(seriesKey, { event, count: 1, lastObservedMs: nowMs });
    return { kind: 'create', event };
  }

  #allow(ref: EventObjectRef): boolean {
    const key = refKey(ref);
    let bucket = this.#spam.get(key);
    if (!bucket) {
      bucket = new TokenBucket(
        { qps: 1000 / this.#spamRefillMs, burst: this.#spamBurst },
        { now: () => this.#nowMs },
      );
      this.#spam.set(key, bucket);
    }
    return bucket.tryTake();
  }

  /** True when this note is folded into the aggregate Event of its key. */
  #aggregate(key: string, note: string, nowMs: number): boolean {
    let record = this.#aggregates.get(key);
    if (!record || nowMs - record.lastMs > this.#aggregateWindowMs) {
      record = { notes: new Set(), lastMs: nowMs };
      this.#aggregates.set(key, record);
    }
    record.notes.add(note);
    record.lastMs = nowMs;
    if (record.notes.size < this.#aggregateMax) return false;
    // Do not grow the set beyond the threshold: every further distinct note keeps aggregating.
    const first = record.notes.values().next();
    if (!first.done) record.notes.delete(first.value);
    return true;
  }

  #name(objectName: string, nowMs: number): string {
    // client-go: `<name>.<UnixNano in hex>`; the sequence keeps two names in one millisecond apart.
    const nanos = BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(this.#sequence++ % 1_000_000);
    const suffix = `.${nanos.toString(16)}`;
    return objectName.slice(0, 253 - suffix.length) + suffix;
  }
}

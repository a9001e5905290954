import { ApiException, type EventsV1Api, V1MicroTime } from '@kubernetes/client-node';
// The serializer the generated API classes run request bodies through (not re-exported by the index).
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Term } from '../controller/term.ts';
import type { EventInput, PlannedEvent } from './event-correlator.ts';
import {
  EventRecorder,
  type EventRecorderOptions,
  type EventSink,
  type EventWriteResult,
  eventsV1Sink,
  toEventsV1,
} from './events.ts';
import { recordingApi } from './recording-api.ts';

const T0 = Date.parse('2026-03-01T12:00:00.123Z');

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function input(note = 'port http: 0/2 open, 2 refused'): EventInput {
  return {
    regarding: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'payments', uid: 'u1' },
    type: 'Warning',
    reason: 'NoHealthyTargets',
    action: 'Probe',
    note,
  };
}

function apiError(code: number, reason = '', headers: Record<string, string> = {}) {
  return new ApiException<string>(code, 'err', JSON.stringify({ kind: 'Status', reason }), headers);
}

type Call = { op: 'create' | 'patch'; name: string; count?: number };

/** A sink that records calls and fails the next ones as scripted. */
function fakeSink() {
  const calls: Call[] = [];
  const failures: unknown[] = [];
  const sink: EventSink = {
    async create(event) {
      calls.push({
        op: 'create',
        name: event.metadata.name,
        ...(event.series ? { count: event.series.count } : {}),
      });
      const failure = failures.shift();
      if (failure) throw failure;
    },
    async patchSeries(_namespace, name, series) {
      calls.push({ op: 'patch', name, count: series.count });
      const failure = failures.shift();
      if (failure) throw failure;
    },
  };
  return { sink, calls, failures };
}

function recorder(sink: EventSink, extra: Partial<EventRecorderOptions> = {}) {
  const results: EventWriteResult[] = [];
  const r = new EventRecorder({
    sink,
    reportingInstance: 'sockeye-0',
    random: () => 0,
    logger: pino({ level: 'silent' }),
    onWrite: (result) => results.push(result),
    ...extra,
  });
  return { r, results };
}

const plan: PlannedEvent = {
  name: 'payments.1',
  namespace: 'shop',
  regarding: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'payments' },
  type: 'Warning',
  reason: 'NoHealthyTargets',
  action: 'Probe',
  note: 'n',
  firstObservedMs: T0,
};

describe('toEventsV1', () => {
  it('builds an events.k8s.io/v1 body with microsecond times and sockeye as reporter', () => {
    const body = toEventsV1(
      { ...plan, series: { count: 2, lastObservedMs: T0 + 1000 } },
      { controller: 'sockeye.dev/operator', instance: 'sockeye-0' },
    );
    expect(body.eventTime).toBeInstanceOf(V1MicroTime);
    expect(body.series?.lastObservedTime).toBeInstanceOf(V1MicroTime);
    expect(body).toMatchObject({
      metadata: { name: 'payments.1', namespace: 'shop' },
      reportingController: 'sockeye.dev/operator',
      reportingInstance: 'sockeye-0',
      regarding: { kind: 'Service', name: 'payments', namespace: 'shop' },
    });
    // What goes on the wire: six fractional digits, as the API server demands for MicroTime.
    const wire = JSON.parse(JSON.stringify(ObjectSerializer.serialize(body, 'EventsV1Event', '')));
    expect(wire.eventTime).toBe('2026-03-01T12:00:00.123000Z');
    expect(wire.series.lastObservedTime).toBe('2026-03-01T12:00:01.123000Z');
  });
});

describe('eventsV1Sink', () => {
  it('creates and patches Events as field manager sockeye', async () => {
    const { api, calls } = recordingApi<EventsV1Api>(['createNamespacedEvent', 'patchNamespacedEvent']);
    const sink = eventsV1Sink(api);
    const event = toEventsV1(plan, { controller: 'sockeye.dev/operator', instance: 'sockeye-0' });
    await sink.create(event);
    const series = { count: 2, lastObservedTime: new V1MicroTime(T0) };
    await sink.patchSeries('shop', 'payments.1', series);
    expect(calls).toEqual([
      { method: 'createNamespacedEvent', param: { namespace: 'shop', body: event, fieldManager: 'sockeye' } },
      {
        method: 'patchNamespacedEvent',
        param: { name: 'payments.1', namespace: 'shop', body: { series }, fieldManager: 'sockeye' },
      },
    ]);
  });
});

describe('EventRecorder', () => {
  it('creates once, then patches the series for a repeat', async () => {
    const { sink, calls } = fakeSink();
    const { r, results } = recorder(sink);
    r.record(input());
    await r.idle();
    vi.advanceTimersByTime(1000);
    r.record(input());
    await r.idle();
    expect(calls.map((c) => c.op)).toEqual(['create', 'patch']);
    expect(calls[1]).toMatchObject({ name: calls[0]?.name, count: 2 });
    expect(results).toEqual(['created', 'patched']);
  });

  it('returns at once and folds repeats that are still waiting into one write', async () => {
    const { sink, calls } = fakeSink();
    const { r } = recorder(sink);
    r.record(input('a'));
    r.record(input('b'));
    r.record(input('b'));
    r.record(input('b'));
    expect(calls).toHaveLength(0);
    expect(r.pending()).toBe(2);
    await r.idle();
    expect(calls).toEqual([
      { op: 'create', name: expect.any(String) },
      { op: 'create', name: expect.any(String), count: 3 },
    ]);
  });

  it('retries 429/409/5xx/network errors with backoff, honouring Retry-After', async () => {
    const { sink, calls, failures } = fakeSink();
    failures.push(
      apiError(429, 'TooManyRequests', { 'retry-after': '5' }),
      apiError(500),
      apiError(409, 'Conflict'),
      new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }),
    );
    const { r, results } = recorder(sink, { retry: { baseMs: 1000, maxMs: 60_000 } });
    r.record(input());
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(4999); // Retry-After 5 s beats the 1 s backoff
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2000); // second backoff step
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(3999);
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(8000);
    await r.idle();
    expect(calls).toHaveLength(5);
    expect(results).toEqual(['retry', 'retry', 'retry', 'retry', 'created']);
  });

  it('does not retry a rejected write, and says so', async () => {
    const { sink, calls, failures } = fakeSink();
    failures.push(apiError(422, 'Invalid'));
    const { r, results } = recorder(sink);
    r.record(input());
    await r.idle();
    expect(calls).toHaveLength(1);
    expect(results).toEqual(['rejected']);
  });

  it('gives up after maxAttempts and counts it', async () => {
    const { sink, calls, failures } = fakeSink();
    for (let i = 0; i < 10; i++) failures.push(apiError(503));
    const { r, results } = recorder(sink, { maxAttempts: 3, retry: { baseMs: 100, maxMs: 100 } });
    r.record(input());
    await vi.advanceTimersByTimeAsync(1000);
    await r.idle();
    expect(calls).toHaveLength(3);
    expect(results).toEqual(['retry', 'retry', 'gave-up']);
  });

  it('recreates an Event whose series patch finds it gone, keeping the count', async () => {
    const { sink, calls, failures } = fakeSink();
    const { r, results } = recorder(sink);
    r.record(input());
    await r.idle();
    failures.push(apiError(404, 'NotFound'));
    r.record(input());
    await r.idle();
    expect(calls.map((c) => c.op)).toEqual(['create', 'patch', 'create']);
    expect(calls[2]).toMatchObject({ count: 2 });
    expect(results).toEqual(['created', 'created']);
  });

  it('counts a retried create that had landed as exists', async () => {
    const { sink, failures } = fakeSink();
    failures.push(apiError(409, 'AlreadyExists'));
    const { r, results } = recorder(sink);
    r.record(input());
    await r.idle();
    expect(results).toEqual(['exists']);
  });

  it('drops beyond the queue bound, counted', async () => {
    const { sink } = fakeSink();
    const { r, results } = recorder(sink, { queueSize: 2 });
    r.record(input('1'));
    r.record(input('2'));
    r.record(input('3'));
    r.record(input('4'));
    expect(results).toEqual(['overflow', 'overflow']);
    await r.idle();
    expect(results).toEqual(['overflow', 'overflow', 'created', 'created']);
  });

  it('counts spam-filtered events', () => {
    const { sink } = fakeSink();
    const { r, results } = recorder(sink, { correlator: { spamBurst: 1 } });
    r.record(input());
    r.record(input());
    expect(results).toEqual(['spam-filtered']);
  });

  it('drops the writes queued in a term when it ends, and cancels the one in flight', async () => {
    const sent: AbortSignal[] = [];
    const sink: EventSink = {
      create: (_event, signal) =>
        new Promise((_resolve, reject) => {
          if (signal) sent.push(signal);
          signal?.addEventListener('abort', () => reject(signal.reason));
        }),
      patchSeries: async () => {},
    };
    const term = new Term();
    const { r, results } = recorder(sink, { fence: () => term });
    r.record(input('a'));
    r.record(input('b'));
    r.record(input('c'));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    term.end();
    await r.idle();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.aborted).toBe(true);
    expect(results).toEqual(['fenced', 'fenced', 'fenced']);
  });

  it('never sends a write started after its term expired, even before the term is ended', async () => {
    const { sink, calls, failures } = fakeSink();
    failures.push(apiError(503));
    const term = new Term({ clock: { now: () => Date.now() }, expiresAt: T0 + 5_000 });
    const { r, results } = recorder(sink, { fence: () => term, retry: { baseMs: 1000, maxMs: 1000 } });
    r.record(input('a'));
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    // The retry is due in 1 s; the renew deadline passes first (the clock moves, no timer runs).
    vi.setSystemTime(T0 + 5_000);
    await vi.advanceTimersByTimeAsync(2_000);
    await r.idle();
    r.record(input('b'));
    await r.idle();
    expect(calls).toHaveLength(1);
    expect(results).toEqual(['retry', 'fenced', 'fenced']);
  });

  it('a fenced recorder writes nothing outside a term, and a new term writes again', async () => {
    const { sink, calls } = fakeSink();
    let term: Term | undefined;
    const { r, results } = recorder(sink, { fence: () => term });
    r.record(input('a'));
    term = new Term();
    r.record(input('b'));
    await r.idle();
    expect(calls).toHaveLength(1);
    expect(results).toEqual(['fenced', 'created']);
  });

  it('close stops retrying when the grace period ends and counts what is left', async () => {
    const { sink, calls, failures } = fakeSink();
    for (let i = 0; i < 10; i++) failures.push(apiError(503));
    const { r, results } = recorder(sink, { retry: { baseMs: 10_000, maxMs: 10_000 } });
    r.record(input('a'));
    r.record(input('b'));
    await vi.advanceTimersByTimeAsync(0);
    const grace = new AbortController();
    const closed = r.close(grace.signal);
    r.record(input('c'));
    grace.abort();
    await closed;
    expect(calls).toHaveLength(1);
    expect(results).toEqual(['retry', 'gave-up', 'gave-up', 'gave-up']);
  });
});

import { describe, expect, it } from 'vitest';
import {
  AGGREGATE_PREFIX,
  type CorrelatorDecision,
  EventCorrelator,
  type EventInput,
  eventNamespace,
  truncateNote,
} from './event-correlator.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const MIN = 60_000;

function input(overrides: Partial<EventInput> = {}): EventInput {
  return {
    regarding: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'payments', uid: 'u1' },
    type: 'Warning',
    reason: 'NoHealthyTargets',
    action: 'Probe',
    note: 'port http: 0/2 open, 2 refused',
    ...overrides,
  };
}

function kinds(decisions: readonly CorrelatorDecision[]): string[] {
  return decisions.map((d) => d.kind);
}

describe('EventCorrelator: series', () => {
  it('creates the first event, then folds identical repeats into a series of the same Event', () => {
    const c = new EventCorrelator();
    const first = c.observe(input(), T0);
    const second = c.observe(input(), T0 + MIN);
    const third = c.observe(input(), T0 + 2 * MIN);
    expect(first.kind).toBe('create');
    expect(second).toMatchObject({
      kind: 'series',
      event: { series: { count: 2, lastObservedMs: T0 + MIN } },
    });
    expect(third).toMatchObject({
      kind: 'series',
      event: { series: { count: 3, lastObservedMs: T0 + 2 * MIN } },
    });
    if (first.kind !== 'create' || third.kind !== 'series') throw new Error('unreachable');
    expect(third.event.name).toBe(first.event.name);
    expect(third.event.firstObservedMs).toBe(T0);
  });

  it.each([
    ['reason', { reason: 'TargetsRefusing' }],
    ['type', { type: 'Normal' as const }],
    ['action', { action: 'Other' }],
    [
      'regarding object',
      { regarding: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'orders' } },
    ],
  ])('starts a new Event when the %s differs', (_what, change) => {
    const c = new EventCorrelator();
    c.observe(input(), T0);
    expect(c.observe(input(change), T0 + 1).kind).toBe('create');
  });

  it('starts a new Event when the series is older than the event TTL', () => {
    const c = new EventCorrelator({ seriesTtlMs: 60 * MIN });
    c.observe(input(), T0);
    expect(c.observe(input(), T0 + 61 * MIN).kind).toBe('create');
  });

  it('names Events <regarding>.<hex nanos>, unique within one millisecond', () => {
    const c = new EventCorrelator();
    const a = c.observe(input({ note: 'a' }), T0);
    const b = c.observe(input({ note: 'b' }), T0);
    if (a.kind !== 'create' || b.kind !== 'create') throw new Error('expected creates');
    expect(a.event.name).toMatch(/^payments\.[0-9a-f]+$/);
    expect(a.event.name).not.toBe(b.event.name);
    expect(a.event.namespace).toBe('shop');
  });
});

describe('EventCorrelator: aggregation', () => {
  it('folds similar events after 10 distinct notes within 10 minutes', () => {
    const c = new EventCorrelator();
    const decisions = Array.from({ length: 12 }, (_, i) =>
      c.observe(input({ note: `note ${i}` }), T0 + i * 1000),
    );
    expect(kinds(decisions)).toEqual([...Array(10).fill('create'), 'series', 'series']);
    const aggregated = decisions[9];
    if (aggregated?.kind !== 'create') throw new Error('expected the 10th to create the aggregate');
    expect(aggregated.event.note).toBe(`${AGGREGATE_PREFIX}note 9`);
    expect(decisions[11]).toMatchObject({
      kind: 'series',
      event: { name: aggregated.event.name, series: { count: 3 } },
    });
  });

  it('starts counting again after a quiet 10 minutes', () => {
    const c = new EventCorrelator();
    for (let i = 0; i < 9; i++) c.observe(input({ note: `note ${i}` }), T0);
    const later = c.observe(input({ note: 'note 9' }), T0 + 11 * MIN);
    expect(later).toMatchObject({ kind: 'create', event: { note: 'note 9' } });
  });
});

describe('EventCorrelator: spam filter', () => {
  it('allows a burst of 25 per object, then one per 5 minutes', () => {
    const c = new EventCorrelator();
    const burst = Array.from({ length: 26 }, () => c.observe(input(), T0));
    expect(burst.filter((d) => d.kind !== 'drop')).toHaveLength(25);
    expect(burst[25]).toEqual({ kind: 'drop', reason: 'spam-filtered' });
    expect(c.observe(input(), T0 + 5 * MIN - 1).kind).toBe('drop');
    expect(c.observe(input(), T0 + 5 * MIN).kind).toBe('series');
    expect(c.observe(input(), T0 + 5 * MIN).kind).toBe('drop');
  });

  it('keeps one budget per object', () => {
    const c = new EventCorrelator({ spamBurst: 1 });
    expect(c.observe(input(), T0).kind).toBe('create');
    expect(c.observe(input(), T0).kind).toBe('drop');
    const other = { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'payments-1' };
    expect(c.observe(input({ regarding: other }), T0).kind).toBe('create');
  });
});

describe('notes and namespaces', () => {
  it('truncates notes to 1024 bytes on a character boundary', () => {
    expect(truncateNote('short')).toBe('short');
    const long = truncateNote('é'.repeat(1000));
    expect(new TextEncoder().encode(long).length).toBeLessThanOrEqual(1024);
    expect(long.endsWith('...')).toBe(true);
    expect(long.startsWith('éé')).toBe(true);
    const c = new EventCorrelator();
    const d = c.observe(input({ note: 'x'.repeat(5000) }), T0);
    if (d.kind !== 'create') throw new Error('expected create');
    expect(d.event.note).toHaveLength(1024);
  });

  it('uses default for cluster-scoped objects', () => {
    expect(eventNamespace({ apiVersion: 'v1', kind: 'Node', name: 'n1' })).toBe('default');
    expect(eventNamespace({ apiVersion: 'v1', kind: 'Pod', namespace: 'a', name: 'p' })).toBe('a');
  });
});

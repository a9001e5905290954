import { EventsV1Api, type EventsV1Event } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventInput } from '../../src/kube/event-correlator.ts';
import { EventRecorder, type EventWriteResult, eventsV1Sink } from '../../src/kube/events.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';

/**
 * The event recorder against a real API server: its events.k8s.io/v1 bodies pass validation (MicroTime,
 * reporting controller/instance, action, the 1024-byte note), a repeat is a series patch of the same
 * Event, a cluster-scoped object's Event lands in `default`, and an Event deleted under a series is
 * written again.
 */

describe('EventRecorder on the local cluster', () => {
  let kube: TestKube;
  let events: EventsV1Api;
  let ns: string;
  let recorder: EventRecorder;
  const results: EventWriteResult[] = [];

  const warning = (name: string, note: string): EventInput => ({
    regarding: { apiVersion: 'v1', kind: 'Service', namespace: ns, name, uid: `uid-${name}` },
    type: 'Warning',
    reason: 'NoHealthyTargets',
    action: 'Probe',
    note,
  });

  const eventsAbout = async (namespace: string, name: string): Promise<EventsV1Event[]> =>
    (await events.listNamespacedEvent({ namespace })).items.filter(
      (e) => e.regarding?.name === name && e.reportingInstance === 'sockeye-it-0',
    );

  beforeAll(async () => {
    kube = testKube();
    events = kube.kc.makeApiClient(EventsV1Api);
    ns = uniqueNamespace('events');
    await createNamespace(kube, ns);
    recorder = new EventRecorder({
      sink: eventsV1Sink(events),
      reportingInstance: 'sockeye-it-0',
      onWrite: (r) => results.push(r),
      retry: { baseMs: 200, maxMs: 1000 },
      logger: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await recorder?.close(AbortSignal.timeout(5_000));
    if (kube && ns) await deleteNamespace(kube, ns);
  });

  it('creates one Event, then folds a repeat into its series', async () => {
    recorder.record(warning('payments', 'port http: 0/2 open, 2 refused'));
    await recorder.idle();
    recorder.record(warning('payments', 'port http: 0/2 open, 2 refused'));
    await recorder.idle();
    const [event, ...more] = await eventsAbout(ns, 'payments');
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      type: 'Warning',
      reason: 'NoHealthyTargets',
      action: 'Probe',
      note: 'port http: 0/2 open, 2 refused',
      reportingController: 'sockeye.dev/operator',
      reportingInstance: 'sockeye-it-0',
      regarding: { kind: 'Service', namespace: ns, name: 'payments' },
      series: { count: 2 },
    });
    expect(String(event?.eventTime)).toMatch(/\.\d{6}Z$/);
    expect(results).toEqual(['created', 'patched']);
  });

  it('truncates a long note to what the API server accepts', async () => {
    recorder.record(warning('long', 'x'.repeat(3000)));
    await recorder.idle();
    const [event] = await eventsAbout(ns, 'long');
    expect(event?.note).toHaveLength(1024);
    expect(results.at(-1)).toBe('created');
  });

  it('writes the Event of a cluster-scoped object to default', async () => {
    recorder.record({
      regarding: { apiVersion: 'v1', kind: 'Namespace', name: ns },
      type: 'Normal',
      reason: 'TargetsRecovered',
      action: 'Probe',
      note: `namespace ${ns}: all targets open`,
    });
    await recorder.idle();
    const found = await eventually('the Event in default', async () => (await eventsAbout('default', ns))[0]);
    expect(found).toMatchObject({ regarding: { kind: 'Namespace', name: ns }, reason: 'TargetsRecovered' });
    if (found.metadata?.name)
      await events.deleteNamespacedEvent({ name: found.metadata.name, namespace: 'default' });
  });

  it('writes an Event again when it was deleted under its series', async () => {
    const [event] = await eventsAbout(ns, 'payments');
    await events.deleteNamespacedEvent({ name: event?.metadata?.name ?? '', namespace: ns });
    recorder.record(warning('payments', 'port http: 0/2 open, 2 refused'));
    await recorder.idle();
    const [again] = await eventsAbout(ns, 'payments');
    expect(again).toMatchObject({ metadata: { name: event?.metadata?.name }, series: { count: 3 } });
    expect(results.at(-1)).toBe('created');
  });
});

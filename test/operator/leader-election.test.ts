import { CoordinationV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coordinationLeaseStore, LeaderElector } from '../../src/controller/leader.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';

/**
 * Leader election against a real API server: the Lease bodies (MicroTime acquire/renew times) are
 * accepted, racing candidates are settled by resourceVersion, a released Lease is taken over at once,
 * and an abandoned one only after it expires.
 */

const LEASE = 'sockeye-test-leader';

describe('LeaderElector on the local cluster', () => {
  let kube: TestKube;
  let ns: string;
  let coordination: CoordinationV1Api;
  const running: AbortController[] = [];

  function candidate(identity: string, releaseOnCancel = true) {
    const state = { leading: false, started: 0, stopped: [] as string[] };
    const cancel = new AbortController();
    running.push(cancel);
    const elector = new LeaderElector({
      store: coordinationLeaseStore(coordination, { namespace: ns, name: LEASE }),
      identity,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 4_000,
      retryPeriodMs: 500,
      releaseOnCancel,
      logger: pino({ level: 'silent' }),
      onStartedLeading: () => {
        state.leading = true;
        state.started++;
      },
      onStoppedLeading: (reason) => {
        state.leading = false;
        state.stopped.push(reason);
      },
    });
    const done = elector.run(cancel.signal);
    return { identity, elector, state, cancel, done };
  }

  const holder = async () =>
    (await coordination.readNamespacedLease({ name: LEASE, namespace: ns })).spec?.holderIdentity ?? '';

  beforeAll(async () => {
    kube = testKube();
    coordination = kube.kc.makeApiClient(CoordinationV1Api);
    ns = uniqueNamespace('leader');
    await createNamespace(kube, ns);
  });

  afterAll(async () => {
    for (const c of running) c.abort();
    if (kube && ns) await deleteNamespace(kube, ns);
  });

  it('elects exactly one of three racing candidates and keeps the Lease renewed', async () => {
    const all = [candidate('a'), candidate('b'), candidate('c')];
    const leader = await eventually('a leader', async () => all.find((c) => c.state.leading));
    expect(await holder()).toBe(leader.identity);
    const first = await coordination.readNamespacedLease({ name: LEASE, namespace: ns });
    await eventually('a renewal', async () => {
      const now = await coordination.readNamespacedLease({ name: LEASE, namespace: ns });
      return now.metadata?.resourceVersion !== first.metadata?.resourceVersion ? true : undefined;
    });
    expect(all.filter((c) => c.state.leading)).toHaveLength(1);
    expect(all.reduce((n, c) => n + c.state.started, 0)).toBe(1);
    const lease = await coordination.readNamespacedLease({ name: LEASE, namespace: ns });
    expect(lease.spec).toMatchObject({ holderIdentity: leader.identity, leaseDurationSeconds: 15 });
    // MicroTime made the round trip: six fractional digits.
    expect(String(lease.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
    // Created and renewed as field manager sockeye: one entry, its only writer.
    expect(lease.metadata?.managedFields?.map((e) => [e.manager, e.operation])).toEqual([
      ['sockeye', 'Update'],
    ]);

    // Releasing on cancel hands over well within the 15 s lease duration.
    leader.cancel.abort();
    await leader.done;
    expect(leader.state.stopped).toEqual(['cancelled']);
    const next = await eventually(
      'a successor',
      async () => all.find((c) => c !== leader && c.state.leading),
      5_000,
    );
    expect(await holder()).toBe(next.identity);
    const after = await coordination.readNamespacedLease({ name: LEASE, namespace: ns });
    expect(after.spec?.leaseTransitions).toBe((lease.spec?.leaseTransitions ?? 0) + 1);

    for (const c of all) c.cancel.abort();
    await Promise.all(all.map((c) => c.done));
    expect(await holder()).toBe('');
  });

  it('waits out a Lease abandoned without release', async () => {
    const crashed = candidate('crashed', false);
    await eventually('the first leader', async () => (crashed.state.leading ? true : undefined));
    crashed.cancel.abort(); // no release: the Lease still names it
    await crashed.done;
    expect(await holder()).toBe('crashed');
    const successor = candidate('successor');
    await new Promise((r) => setTimeout(r, 5_000));
    expect(successor.state.leading).toBe(false);
    await eventually(
      'the successor after expiry',
      async () => (successor.state.leading ? true : undefined),
      30_000,
    );
    expect(await holder()).toBe('successor');
    successor.cancel.abort();
    await successor.done;
  });
});

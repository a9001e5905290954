import { ApiException, type CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  coordinationLeaseStore,
  LeaderElector,
  type LeaderElectorOptions,
  type LeaseState,
  type LeaseStore,
  type LeaseWrite,
} from './leader.ts';
import type { Term } from './term.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse('2026-03-01T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

function apiError(code: number, reason: string) {
  return new ApiException<string>(code, reason, JSON.stringify({ kind: 'Status', reason }), {});
}

/** One Lease on a pretend API server, with optimistic concurrency and injectable failures. */
class FakeLeaseServer {
  lease: { resourceVersion: number; write: LeaseWrite } | undefined;
  readonly writes: Array<{ by: string; op: 'create' | 'replace'; write: LeaseWrite }> = [];

  state(): LeaseState | undefined {
    if (!this.lease) return undefined;
    return { resourceVersion: String(this.lease.resourceVersion), ...this.lease.write };
  }

  store(by: string): LeaseStore & { failing: boolean } {
    const fail = (s: { failing: boolean }) => {
      if (s.failing) throw apiError(500, 'InternalError');
    };
    const store = {
      failing: false,
      describe: () => 'sockeye/sockeye-leader',
      get: async () => {
        fail(store);
        return this.state();
      },
      create: async (write: LeaseWrite) => {
        fail(store);
        if (this.lease) throw apiError(409, 'AlreadyExists');
        this.lease = { resourceVersion: 1, write };
        this.writes.push({ by, op: 'create', write });
        return this.state()!;
      },
      replace: async (resourceVersion: string, write: LeaseWrite) => {
        fail(store);
        if (!this.lease || String(this.lease.resourceVersion) !== resourceVersion)
          throw apiError(409, 'Conflict');
        this.lease = { resourceVersion: this.lease.resourceVersion + 1, write };
        this.writes.push({ by, op: 'replace', write });
        return this.state()!;
      },
    };
    return store;
  }
}

function candidate(server: FakeLeaseServer, identity: string, extra: Partial<LeaderElectorOptions> = {}) {
  const store = server.store(identity);
  const events: string[] = [];
  let term: Term | undefined;
  const elector = new LeaderElector({
    store,
    identity,
    clock: { now: () => Date.now() },
    random: () => 0,
    logger: pino({ level: 'silent' }),
    onStartedLeading: (t) => {
      term = t;
      events.push('started');
    },
    onStoppedLeading: (reason) => events.push(`stopped:${reason}`),
    ...extra,
  });
  const cancel = new AbortController();
  const done = elector.run(cancel.signal);
  return { elector, store, events, cancel, done, term: () => term };
}

/** A candidate that has already taken the free Lease. */
async function leading(server: FakeLeaseServer, identity: string) {
  const c = candidate(server, identity);
  await vi.advanceTimersByTimeAsync(0);
  return c;
}

describe('LeaderElector', () => {
  it('creates a missing Lease, leads, and renews every retry period', async () => {
    const server = new FakeLeaseServer();
    const a = await leading(server, 'a');
    expect(a.events).toEqual(['started']);
    expect(a.elector.isLeader()).toBe(true);
    expect(server.lease?.write).toMatchObject({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(server.writes.filter((w) => w.op === 'replace')).toHaveLength(5);
    // A renewal keeps the acquisition time and moves the renew time.
    const last = server.lease!.write;
    expect(last.acquireTimeMs).toBe(server.writes[0]?.write.acquireTimeMs);
    expect(last.renewTimeMs - last.acquireTimeMs).toBe(10_000);
  });

  it('leaves a valid Lease alone and takes over once it expires, counting a transition', async () => {
    const server = new FakeLeaseServer();
    const a = await leading(server, 'a');
    const b = candidate(server, 'b');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(b.events).toEqual([]);
    expect(b.elector.leader()).toBe('a');

    // a's API access dies: it loses after the renew deadline, b takes over after the lease duration.
    a.store.failing = true;
    const since = Date.now();
    // The renewal in progress has RenewDeadline (10 s) to succeed; it started up to RetryPeriod ago.
    await vi.advanceTimersByTimeAsync(9_999);
    expect(a.events).toEqual(['started']);
    await vi.advanceTimersByTimeAsync(2_001);
    expect(a.events).toEqual(['started', 'stopped:lost']);
    expect(a.term()?.signal.aborted).toBe(true);
    await vi.waitUntil(
      async () => {
        await vi.advanceTimersByTimeAsync(100);
        return b.events.length > 0;
      },
      { timeout: 60_000, interval: 0 },
    );
    const took = Date.now() - since;
    expect(took).toBeGreaterThanOrEqual(15_000);
    expect(took).toBeLessThanOrEqual(15_000 + 2 * 2_000 + 100);
    expect(server.lease?.write).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('lets exactly one of two racing candidates win (the other gets 409)', async () => {
    const server = new FakeLeaseServer();
    server.lease = {
      resourceVersion: 7,
      write: {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        leaseTransitions: 3,
        acquireTimeMs: 0,
        renewTimeMs: 0,
      },
    };
    const a = candidate(server, 'a');
    const b = candidate(server, 'b');
    await vi.advanceTimersByTimeAsync(6_000);
    const leaders = [a, b].filter((c) => c.events.includes('started'));
    expect(leaders).toHaveLength(1);
    expect(server.lease.write.leaseTransitions).toBe(4);
  });

  it('stops at once when another holder appears in the Lease', async () => {
    const server = new FakeLeaseServer();
    const a = await leading(server, 'a');
    // Someone (an admin, a split brain) writes another holder.
    server.lease = {
      resourceVersion: 100,
      write: {
        holderIdentity: 'x',
        leaseDurationSeconds: 15,
        leaseTransitions: 9,
        acquireTimeMs: 0,
        renewTimeMs: 0,
      },
    };
    await vi.advanceTimersByTimeAsync(2_000);
    expect(a.events).toEqual(['started', 'stopped:lost']);
  });

  it('keeps leading through failures shorter than the renew deadline', async () => {
    const server = new FakeLeaseServer();
    const a = await leading(server, 'a');
    a.store.failing = true;
    await vi.advanceTimersByTimeAsync(8_000);
    a.store.failing = false;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(a.events).toEqual(['started']);
  });

  it('fences the term at the renew deadline the last renewal bought, before the renew loop notices', async () => {
    const server = new FakeLeaseServer();
    const a = await leading(server, 'a');
    const term = a.term();
    if (!term) throw new Error('a did not lead');
    await vi.advanceTimersByTimeAsync(4_000);
    // Renewed at +4 s: the term holds until +4 s + RetryPeriod (2 s) + RenewDeadline (10 s).
    expect(term.expiresAt).toBe(Date.now() + 12_000);
    a.store.failing = true;
    // The event loop stalls (no timer runs) across the deadline: the clock alone closes the fence.
    vi.setSystemTime(Date.now() + 11_999);
    expect(term.holds()).toBe(true);
    vi.setSystemTime(Date.now() + 1);
    expect(term.holds()).toBe(false);
    expect(term.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(a.events).toEqual(['started', 'stopped:lost']);
    expect(term.signal.aborted).toBe(true);
  });

  it('ends the term before it releases the Lease, and cancels a hung release', async () => {
    const server = new FakeLeaseServer();
    const order: string[] = [];
    const a = candidate(server, 'a', { onStoppedLeading: (reason) => order.push(`stopped:${reason}`) });
    await vi.advanceTimersByTimeAsync(0);
    a.term()?.signal.addEventListener('abort', () =>
      order.push(`term ended, holder ${server.lease?.write.holderIdentity}`),
    );
    let cancelled: AbortSignal | undefined;
    a.store.replace = (_rv, _write, signal) => {
      cancelled = signal;
      return new Promise(() => {});
    };
    a.cancel.abort();
    await vi.advanceTimersByTimeAsync(2_000);
    await a.done;
    expect(order).toEqual(['term ended, holder a', 'stopped:cancelled']);
    expect(cancelled?.aborted).toBe(true);
  });

  it('releases on cancel so that a successor takes over without waiting the lease out', async () => {
    const server = new FakeLeaseServer();
    const a = await leading(server, 'a');
    const b = candidate(server, 'b');
    await vi.advanceTimersByTimeAsync(1_000);
    a.cancel.abort();
    await a.done;
    expect(a.events).toEqual(['started', 'stopped:cancelled']);
    expect(server.lease?.write).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    await vi.advanceTimersByTimeAsync(4_000);
    expect(b.events).toEqual(['started']);
  });

  it('does not call onStoppedLeading when it never led', async () => {
    const server = new FakeLeaseServer();
    await leading(server, 'a');
    const b = candidate(server, 'b');
    await vi.advanceTimersByTimeAsync(1_000);
    b.cancel.abort();
    await b.done;
    expect(b.events).toEqual([]);
  });

  it('rejects inconsistent timings', () => {
    const base = {
      store: new FakeLeaseServer().store('a'),
      identity: 'a',
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
    };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      /leaseDuration/,
    );
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      /renewDeadline/,
    );
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(/identity/);
  });
});

describe('coordinationLeaseStore', () => {
  function fakeApi() {
    const calls: Array<{ op: string; param: { body?: V1Lease; fieldManager?: string } }> = [];
    let stored: V1Lease | undefined;
    const api = {
      async readNamespacedLease(param: { name: string; namespace: string }) {
        calls.push({ op: 'read', param: {} });
        if (!stored) throw apiError(404, 'NotFound');
        void param;
        return stored;
      },
      async createNamespacedLease(param: { namespace: string; body: V1Lease; fieldManager?: string }) {
        calls.push({ op: 'create', param });
        stored = { ...param.body, metadata: { ...param.body.metadata, resourceVersion: '1' } };
        return stored;
      },
      async replaceNamespacedLease(param: {
        name: string;
        namespace: string;
        body: V1Lease;
        fieldManager?: string;
      }) {
        calls.push({ op: 'replace', param });
        stored = { ...param.body, metadata: { ...param.body.metadata, resourceVersion: '2' } };
        return stored;
      },
    };
    return { api: api as unknown as CoordinationV1Api, calls };
  }

  it('reads a missing Lease as undefined and writes MicroTimes with the resourceVersion, as sockeye', async () => {
    const { api, calls } = fakeApi();
    const store = coordinationLeaseStore(api, { namespace: 'sockeye', name: 'sockeye-leader' });
    expect(await store.get()).toBeUndefined();
    const write = {
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
      acquireTimeMs: 1,
      renewTimeMs: 2,
    };
    const created = await store.create(write);
    expect(created).toEqual({
      resourceVersion: '1',
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
      acquireTimeMs: 1,
    });
    await store.replace('1', { ...write, renewTimeMs: 3 });
    expect(calls.filter((c) => c.op !== 'read').map((c) => c.param.fieldManager)).toEqual([
      'sockeye',
      'sockeye',
    ]);
    const body = calls[2]?.param.body;
    expect(body?.metadata).toMatchObject({
      name: 'sockeye-leader',
      namespace: 'sockeye',
      resourceVersion: '1',
    });
    expect(body?.spec?.renewTime).toBeInstanceOf(V1MicroTime);
    expect(body?.spec?.acquireTime).toBeInstanceOf(V1MicroTime);
    expect(JSON.stringify(body?.spec?.renewTime)).toBe('"1970-01-01T00:00:00.003000Z"');
  });

  it('reads the string times a Lease comes back with', async () => {
    const lease = {
      metadata: { resourceVersion: '9' },
      spec: { holderIdentity: 'b', acquireTime: '2026-03-01T12:00:00.000001Z' as unknown as V1MicroTime },
    };
    const api = { readNamespacedLease: async () => lease } as unknown as CoordinationV1Api;
    const store = coordinationLeaseStore(api, { namespace: 'n', name: 'l' });
    expect(await store.get()).toEqual({
      resourceVersion: '9',
      holderIdentity: 'b',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
      acquireTimeMs: Date.parse('2026-03-01T12:00:00Z'),
    });
  });
});

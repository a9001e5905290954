import { describe, expect, it } from 'vitest';
import type { EventInput } from '../kube/events.ts';
import { shardOf } from '../model/shard.ts';
import type { Outcome } from '../probe/outcome.ts';
import { countSplitting, NOW, pod, slicesFor, svc } from '../rules/fixtures.ts';
import type { PlannedTarget } from '../rules/targets.ts';
import { type AnnotationPatch, annotationPatch, rfc3339 } from './annotation-patch.ts';
import { ClusterCache } from './cache.ts';
import { Reconciler } from './reconciler.ts';
import { ShardFilter } from './shard-filter.ts';

/** Two Services over one pod; the prober answers from a table the test changes. */
function world(
  options?: ConstructorParameters<typeof Reconciler>[0]['options'],
  reports?: (cache: ClusterCache) => ConstructorParameters<typeof Reconciler>[0]['reports'],
  /** Runs while the targets are being probed (a change the informers deliver meanwhile). */
  duringProbe?: (cache: ClusterCache) => void,
) {
  const cache = new ClusterCache();
  const p = pod('api-1', { ip: '10.0.0.1', labels: { app: 'api' }, ports: [[8080, 'http']] });
  const a = svc('api', { selector: { app: 'api' } });
  const b = svc('api-internal', { selector: { app: 'api' } });
  cache.upsert('Pod', p);
  for (const s of [a, b]) {
    cache.upsert('Service', s);
    for (const slice of slicesFor(s, [p])) cache.upsert('EndpointSlice', slice);
  }
  let outcome: Outcome = 'refused';
  const planned: PlannedTarget[] = [];
  const events: EventInput[] = [];
  const patches: { name: string; patch: AnnotationPatch }[] = [];
  /** The port metrics last reported per Service. */
  const ports = new Map<string, readonly { port: string; targets: number; open: number }[]>();
  const reconciler = new Reconciler({
    cache,
    prober: async (targets) => {
      planned.push(...targets);
      duringProbe?.(cache);
      return targets.map((t) => ({ target: { ip: t.ip, port: t.port }, outcome }));
    },
    ...(options ? { options } : {}),
    // Writes at once, and feeds the write back as the informer would (the AnnotationWriter's own
    // queueing and retries are annotation-writer.test.ts's subject).
    annotations: {
      submit(kind, namespace, name, desired, at) {
        const cached = cache.get(kind, namespace, name);
        const patch = cached && annotationPatch(cached.written, desired, at);
        if (!cached || !patch) return false;
        patches.push({ name, patch });
        const merged = { ...cached.object.annotations };
        for (const [k, v] of Object.entries(patch)) {
          if (v === null) delete merged[k];
          else merged[k] = v;
        }
        expect(cache.upsert(kind, { ...cached.object, annotations: merged } as never).changed).toBe(false);
        return true;
      },
    },
    record: (e) => events.push(e),
    identity: { namespace: 'sockeye', labels: {} },
    now: () => NOW,
    onServicePorts: (ns, name, now) => ports.set(`${ns}/${name}`, now),
    reports: reports?.(cache),
  });
  return { cache, reconciler, events, patches, planned, ports, setOutcome: (o: Outcome) => (outcome = o) };
}

describe('Reconciler: the state after probing', () => {
  const gathers = (cache: ClusterCache) => {
    let count = 0;
    const gather = cache.gather.bind(cache);
    cache.gather = (...args) => {
      count++;
      return gather(...args);
    };
    return () => count;
  };

  it.each([
    {
      what: 'judges the planned state when nothing the rules read changed while probing (one gather)',
      meanwhile: pod('elsewhere', { ns: 'other', ip: '10.9.0.1', labels: { app: 'api' } }),
      kind: 'done',
      count: 1,
    },
    {
      what: 'gathers again but judges when what changed while probing leaves the targets as they were',
      meanwhile: pod('batch-1', { ip: '10.0.0.7', labels: { app: 'batch' } }),
      kind: 'done',
      count: 2,
    },
    {
      what: 'gathers again and probes again when a target changed while probing',
      meanwhile: pod('api-1', { ip: '10.0.0.2', labels: { app: 'api' }, ports: [[8080, 'http']] }),
      kind: 'changed',
      count: 2,
    },
  ])('$what', async ({ meanwhile, kind, count: gathered }) => {
    const w = world(undefined, undefined, (cache) => cache.upsert('Pod', meanwhile));
    const count = gathers(w.cache);
    expect((await w.reconciler.reconcile('shop/api')).kind).toBe(kind);
    expect(count()).toBe(gathered);
    // Probed once, in this pass: a changed state is probed again by the next pass, not this one.
    expect(w.planned.map((t) => `${t.ip}:${t.port}`)).toEqual(['10.0.0.1:8080']);
    if (kind === 'changed') expect(w.events).toEqual([]);
    else expect(w.events.map((e) => e.reason)).toContain('NoHealthyTargets');
  });
});

describe('Reconciler in shards', () => {
  // The two Services of world() in two different shards of `count`.
  const count = countSplitting('shop', 'api', 'api-internal');
  const shards = [shardOf('shop', 'api', count), shardOf('shop', 'api-internal', count)].map((index) =>
    world(undefined, (cache) => (k, ns, n) => new ShardFilter(cache, { index, count }).reports(k, ns, n)),
  );

  it("writes about a pod only in its home Service's shard: each object once across the shards", async () => {
    const [api, internal] = shards as [ReturnType<typeof world>, ReturnType<typeof world>];
    for (let round = 0; round < 2; round++) {
      await api.reconciler.reconcile('shop/api');
      await internal.reconciler.reconcile('shop/api-internal');
    }
    const written = (w: ReturnType<typeof world>) =>
      w.events.map((e) => `${e.regarding.kind}/${e.regarding.name}/${e.reason}`).sort();
    // `api` is the pod's home (least name of the Services that send to it).
    expect(written(api)).toEqual(['Pod/api-1/ReadyButRefusing', 'Service/api/NoHealthyTargets']);
    expect(written(internal)).toEqual(['Service/api-internal/NoHealthyTargets']);
    expect(api.patches.map((p) => p.name).sort()).toEqual(['api', 'api-1']);
    expect(internal.patches.map((p) => p.name)).toEqual(['api-internal']);
    // Judged on the whole pod all the same: the Service's status is the unsharded one.
    expect(internal.patches[0]?.patch['sockeye.dev/status']).toBe('NoHealthyTargets');
    expect(internal.reconciler.findings().map((f) => f.object.kind)).toEqual(['Service']);
  });
});

describe('Reconciler', () => {
  it("plans with the operator's options, as it judges: --timeout is the probes' deadline", async () => {
    const w = world({ defaultTimeoutMs: 700 });
    await w.reconciler.reconcile('shop/api');
    expect(w.planned.length).toBeGreaterThan(0);
    expect(new Set(w.planned.map((t) => t.timeoutMs))).toEqual(new Set([700]));
  });

  it('writes an Event per state change, once per object, whichever Service is reconciled', async () => {
    const w = world();
    await w.reconciler.reconcile('shop/api');
    await w.reconciler.reconcile('shop/api-internal');
    await w.reconciler.reconcile('shop/api');
    expect(w.events.map((e) => `${e.regarding.kind}/${e.regarding.name}/${e.reason}`).sort()).toEqual([
      'Pod/api-1/ReadyButRefusing',
      'Service/api-internal/NoHealthyTargets',
      'Service/api/NoHealthyTargets',
    ]);
    // One write per object; the pod's annotations are the same from either Service.
    expect(w.patches.map((p) => p.name).sort()).toEqual(['api', 'api-1', 'api-internal']);

    w.setOutcome('open');
    w.events.length = 0;
    await w.reconciler.reconcile('shop/api');
    await w.reconciler.reconcile('shop/api-internal');
    expect(
      w.events.map((e) => `${e.regarding.kind}/${e.regarding.name}/${e.reason}/${e.type}`).sort(),
    ).toEqual([
      'Pod/api-1/TargetsRecovered/Normal',
      'Service/api-internal/TargetsRecovered/Normal',
      'Service/api/TargetsRecovered/Normal',
    ]);
    w.events.length = 0;
    w.patches.length = 0;
    await w.reconciler.reconcile('shop/api');
    expect(w.events).toEqual([]);
    expect(w.patches).toEqual([]);
  });

  describe("annotates a pod only while a Warning about it holds; a Service's always", () => {
    const SOCKEYE_KEYS = ['sockeye.dev/status', 'sockeye.dev/summary', 'sockeye.dev/since'];
    const podAnnotations = (w: ReturnType<typeof world>) =>
      Object.keys(w.cache.get('Pod', 'shop', 'api-1')?.written ?? {}).filter((k) => SOCKEYE_KEYS.includes(k));

    it('never writes a healthy pod: one patch per Service', async () => {
      const w = world();
      w.setOutcome('open');
      await w.reconciler.reconcile('shop/api');
      await w.reconciler.reconcile('shop/api-internal');
      expect(w.patches.map((p) => p.name).sort()).toEqual(['api', 'api-internal']);
      expect(w.patches.map((p) => p.patch['sockeye.dev/status'])).toEqual(['Healthy', 'Healthy']);
      expect(podAnnotations(w)).toEqual([]);
      expect(w.events).toEqual([]);
    });

    it('annotates a failing pod, and removes its keys with TargetsRecovered when it recovers', async () => {
      const w = world();
      await w.reconciler.reconcile('shop/api');
      expect(w.patches.filter((p) => p.name === 'api-1').map((p) => p.patch)).toEqual([
        {
          'sockeye.dev/status': 'NotListening',
          'sockeye.dev/summary': 'http: refused',
          'sockeye.dev/since': rfc3339(NOW),
        },
      ]);
      expect(podAnnotations(w).sort()).toEqual([...SOCKEYE_KEYS].sort());

      w.setOutcome('open');
      w.patches.length = 0;
      w.events.length = 0;
      await w.reconciler.reconcile('shop/api');
      expect(w.patches).toEqual([
        {
          name: 'api',
          patch: {
            'sockeye.dev/status': 'Healthy',
            'sockeye.dev/summary': 'http: 1/1 open',
            'sockeye.dev/since': rfc3339(NOW),
          },
        },
        {
          name: 'api-1',
          patch: { 'sockeye.dev/status': null, 'sockeye.dev/summary': null, 'sockeye.dev/since': null },
        },
      ]);
      expect(w.events.map((e) => `${e.regarding.kind}/${e.regarding.name}/${e.reason}/${e.type}`)).toEqual([
        'Service/api/TargetsRecovered/Normal',
        'Pod/api-1/TargetsRecovered/Normal',
      ]);
      expect(podAnnotations(w)).toEqual([]);
      // The other Service over the pod finds nothing left to remove.
      w.patches.length = 0;
      await w.reconciler.reconcile('shop/api-internal');
      expect(w.patches.map((p) => p.name)).toEqual(['api-internal']);
    });
  });

  it('skips an opted-out Service and removes what it wrote', async () => {
    const w = world();
    await w.reconciler.reconcile('shop/api');
    expect(w.patches.some((p) => p.name === 'api')).toBe(true);
    w.patches.length = 0;
    const cached = w.cache.get('Service', 'shop', 'api');
    if (!cached) throw new Error('api not cached');
    const annotations = { ...cached.object.annotations, 'sockeye.dev/probe': 'false' };
    w.cache.upsert('Service', { ...cached.object, annotations });
    expect(await w.reconciler.reconcile('shop/api')).toEqual({
      kind: 'skipped',
      why: 'opted out by sockeye.dev/probe',
    });
    expect(w.patches).toEqual([
      {
        name: 'api',
        patch: { 'sockeye.dev/status': null, 'sockeye.dev/summary': null, 'sockeye.dev/since': null },
      },
    ]);
  });

  it('reports the ports of a judged Service, and none once it is no longer judged', async () => {
    const w = world();
    await w.reconciler.reconcile('shop/api');
    expect(w.ports.get('shop/api')).toEqual([{ port: 'http', targets: 1, open: 0, hops: [] }]);
    const cached = w.cache.get('Service', 'shop', 'api');
    if (!cached) throw new Error('api not cached');
    w.cache.upsert('Service', { ...cached.object, selector: {} });
    expect((await w.reconciler.reconcile('shop/api')).kind).toBe('skipped');
    expect(w.ports.get('shop/api')).toEqual([]);
    await w.reconciler.reconcile('shop/api-internal');
    w.cache.delete('Service', 'shop', 'api-internal');
    w.reconciler.forget('shop/api-internal');
    expect(w.ports.get('shop/api-internal')).toEqual([]);
  });

  describe('forgets deleted objects', () => {
    /** Both Services judged with a refusing pod: Warnings on the pod and both Services. */
    async function judged() {
      const w = world();
      await w.reconciler.reconcile('shop/api');
      await w.reconciler.reconcile('shop/api-internal');
      expect(w.reconciler.tracked()).toEqual({
        reconciler_findings: 2,
        reconciler_warnings: 3,
        reconciler_judged: 4,
        reconciler_inherited: 0,
      });
      return w;
    }

    it('on the delete of a pod, a Service and a Namespace', async () => {
      const w = await judged();
      w.cache.delete('Pod', 'shop', 'api-1');
      w.reconciler.forgetObject('Pod', 'shop', 'api-1');
      for (const name of ['api', 'api-internal']) {
        w.cache.delete('Service', 'shop', name);
        w.reconciler.forget(`shop/${name}`);
      }
      w.reconciler.forgetObject('Namespace', '', 'shop');
      expect(Object.values(w.reconciler.tracked())).toEqual([0, 0, 0, 0]);
    });

    it('in a sweep against the cache, when no delete was seen', async () => {
      const w = await judged();
      w.cache.delete('Pod', 'shop', 'api-1');
      w.reconciler.sweep();
      expect(w.reconciler.tracked()).toMatchObject({ reconciler_warnings: 2, reconciler_judged: 3 });
      for (const name of ['api', 'api-internal']) w.cache.delete('Service', 'shop', name);
      w.reconciler.sweep();
      expect(Object.values(w.reconciler.tracked())).toEqual([0, 0, 0, 0]);
      expect([...w.ports.values()]).toEqual([[], []]);
    });

    it('drops inherited Events once their object is judged, and those of objects that are gone', async () => {
      const warnings = (await judged()).events.filter((e) => e.type === 'Warning');
      const w = world();
      for (const e of warnings) w.reconciler.inherit(e);
      const [first] = warnings;
      if (first) w.reconciler.inherit({ ...first, regarding: { ...first.regarding, name: 'gone' } });
      expect(w.reconciler.tracked().reconciler_inherited).toBe(4);
      await w.reconciler.reconcile('shop/api');
      await w.reconciler.reconcile('shop/api-internal');
      // What the previous leader wrote is not written again.
      expect(w.events).toEqual([]);
      expect(w.reconciler.tracked().reconciler_inherited).toBe(1);
      w.reconciler.sweep();
      expect(w.reconciler.tracked().reconciler_inherited).toBe(0);
    });
  });
});

describe('Reconciler: a Warning whose message changes while it holds', () => {
  /** Service web over three pods; the prober refuses the IPs in `refusing`; the clock is the test's. */
  function rollout(eventUpdateGapMs: number) {
    const cache = new ClusterCache();
    const pods = [1, 2, 3].map((i) =>
      pod(`web-${i}`, { ip: `10.0.0.${i}`, labels: { app: 'web' }, ports: [[8080, 'http']] }),
    );
    const web = svc('web', { selector: { app: 'web' } });
    for (const p of pods) cache.upsert('Pod', p);
    cache.upsert('Service', web);
    for (const slice of slicesFor(web, pods)) cache.upsert('EndpointSlice', slice);
    const refusing = new Set<string>();
    const events: EventInput[] = [];
    let now = NOW.getTime();
    const reconciler = new Reconciler({
      cache,
      prober: async (targets) =>
        targets.map((t) => ({
          target: { ip: t.ip, port: t.port },
          outcome: refusing.has(t.ip) ? ('refused' as const) : ('open' as const),
        })),
      annotations: { submit: () => true },
      record: (e) => events.push(e),
      identity: { namespace: 'sockeye', labels: {} },
      now: () => new Date(now),
      eventUpdateGapMs,
    });
    const serviceEvents = () =>
      events.filter((e) => e.regarding.kind === 'Service').map((e) => `${e.reason}: ${e.note.split(';')[0]}`);
    return {
      refusing,
      events,
      serviceEvents,
      reconcile: () => reconciler.reconcile('shop/web'),
      advance: (ms: number) => {
        now += ms;
      },
    };
  }

  it('says a new count at most once per gap, then the latest one; a new finding at once', async () => {
    const r = rollout(10_000);
    r.refusing.add('10.0.0.1');
    await r.reconcile();
    expect(r.serviceEvents()).toEqual([
      expect.stringMatching(/^TargetsRefusing: .*1 of 3 ready targets fails/),
    ]);
    // A second pod refuses a second later: its own Warning is new, the Service's count is not said yet.
    r.advance(1_000);
    r.refusing.add('10.0.0.2');
    await r.reconcile();
    expect(r.serviceEvents()).toHaveLength(1);
    expect(r.events.filter((e) => e.reason === 'ReadyButRefusing').map((e) => e.regarding.name)).toEqual([
      'web-1',
      'web-2',
    ]);
    await r.reconcile();
    expect(r.serviceEvents()).toHaveLength(1);
    // The gap has passed and the count still differs from what was said: said once, the latest.
    r.advance(9_000);
    await r.reconcile();
    expect(r.serviceEvents().slice(1)).toEqual([
      expect.stringMatching(/^TargetsRefusing: .*2 of 3 ready targets fail\b/),
    ]);
    await r.reconcile();
    expect(r.serviceEvents()).toHaveLength(2);
    // Recovery is said at once, whatever the gap.
    r.advance(1_000);
    r.refusing.clear();
    await r.reconcile();
    expect(r.serviceEvents().slice(2)).toEqual([expect.stringMatching(/^TargetsRecovered: /)]);
  });

  it('says a new count at once when the wall clock was set back, rather than holding it', async () => {
    const r = rollout(10_000);
    r.refusing.add('10.0.0.1');
    await r.reconcile();
    r.advance(-3_600_000);
    r.refusing.add('10.0.0.2');
    await r.reconcile();
    expect(r.serviceEvents()).toEqual([
      expect.stringMatching(/1 of 3 ready targets fails/),
      expect.stringMatching(/2 of 3 ready targets fail\b/),
    ]);
  });

  it('with no gap, says every change of message at once', async () => {
    const r = rollout(0);
    r.refusing.add('10.0.0.1');
    await r.reconcile();
    r.refusing.add('10.0.0.2');
    await r.reconcile();
    expect(r.serviceEvents()).toEqual([
      expect.stringMatching(/1 of 3 ready targets fails/),
      expect.stringMatching(/2 of 3 ready targets fail\b/),
    ]);
  });
});

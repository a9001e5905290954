import { describe, expect, it } from 'vitest';
import type { Labels, Pod } from '../model/types.ts';
import { namespace, node, pod, slicesFor, svc } from '../rules/fixtures.ts';
import { selectsPod } from '../rules/selectors.ts';
import { ClusterCache, fingerprintOf } from './cache.ts';

/** The gatherer's definition, by scanning the whole namespace: what the indexes must reproduce. */
function scanGather(cache: ClusterCache, namespace: string, name: string) {
  const service = cache.get('Service', namespace, name)?.object;
  if (!service) return undefined;
  const slices = cache.list('EndpointSlice', namespace);
  const named = new Set(
    slices
      .filter((s) => s.serviceName === name)
      .flatMap((s) => s.endpoints.flatMap((e) => (e.targetRef?.kind === 'Pod' ? [e.targetRef.name] : []))),
  );
  const pods = cache
    .list('Pod', namespace)
    .filter((p) => named.has(p.name) || selectsPod(service.selector, p.labels));
  const others = cache
    .list('Service', namespace)
    .filter((s) => s.name !== name && pods.some((p) => selectsPod(s.selector, p.labels)));
  const names = new Set([name, ...others.map((s) => s.name)]);
  return {
    services: [service, ...others],
    slices: slices.filter((s) => names.has(s.serviceName)),
    pods,
  };
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('ClusterCache stamp', () => {
  // What the rules read of a state: all of it but sockeye's own written annotations (fingerprintOf).
  const read = (state: object | undefined) => (state ? fingerprintOf(state) : undefined);

  it('stays while nothing the rules read changes, and then gather() gives what it gave', () => {
    const rnd = random(7);
    const cache = new ClusterCache();
    const ns = ['ns1', 'ns2'];
    const services = ['s0', 's1', 's2'];
    let same = 0;
    let moved = 0;
    for (let step = 0; step < 600; step++) {
      const before = new Map(
        ns.flatMap((n) =>
          services.map((s) => [
            `${n}/${s}`,
            { stamp: cache.stamp(n, 'sockeye'), state: read(cache.gather(n, s, 'sockeye')) },
          ]),
        ),
      );
      const n = ns[Math.floor(rnd() * ns.length)] as string;
      const app = services[Math.floor(rnd() * services.length)] as string;
      const r = rnd();
      const own = rnd() < 0.5 ? { 'sockeye.dev/status': `Healthy${step}` } : {};
      if (r < 0.35)
        cache.upsert('Pod', pod(`p${Math.floor(rnd() * 6)}`, { ns: n, ip: '10.0.0.1', labels: { app } }));
      else if (r < 0.45) cache.delete('Pod', n, `p${Math.floor(rnd() * 6)}`);
      else if (r < 0.7) {
        const s = svc(app, { ns: n, selector: { app } });
        cache.upsert('Service', { ...s, annotations: own });
      } else if (r < 0.8)
        cache.upsert('Node', node(`node-${Math.floor(rnd() * 2)}`, rnd() < 0.5 ? '10.1.0.1' : '10.1.0.2'));
      else if (r < 0.9) cache.upsert('Namespace', namespace(n, {}, own));
      else cache.delete('Service', n, app);
      for (const [key, was] of before) {
        const [n2 = '', s2 = ''] = key.split('/');
        if (cache.stamp(n2, 'sockeye') !== was.stamp) {
          moved++;
          continue;
        }
        same++;
        expect({ step, key, state: read(cache.gather(n2, s2, 'sockeye')) }).toEqual({
          step,
          key,
          state: was.state,
        });
      }
    }
    // Both branches ran: stamps that stayed (own writes, other namespaces) and stamps that moved.
    expect(same).toBeGreaterThan(100);
    expect(moved).toBeGreaterThan(100);
  });

  it("moves on a change the rules read, in the namespace, the prober's or the cluster; not on sockeye's own writes", () => {
    const cache = new ClusterCache();
    cache.upsert('Service', svc('web', { ns: 'shop', selector: { app: 'web' } }));
    const stamp = () => cache.stamp('shop', 'sockeye');
    let last = stamp();
    const moves = (change: () => void) => {
      change();
      const moved = stamp() !== last;
      last = stamp();
      return moved;
    };
    const withStatus = {
      ...svc('web', { ns: 'shop', selector: { app: 'web' } }),
      annotations: { 'sockeye.dev/status': 'Healthy' },
    };
    expect(moves(() => cache.upsert('Service', withStatus))).toBe(false);
    expect(moves(() => cache.upsert('Pod', pod('other', { ns: 'elsewhere', ip: '10.0.0.9' })))).toBe(false);
    expect(
      moves(() => cache.upsert('Pod', pod('web-1', { ns: 'shop', ip: '10.0.0.1', labels: { app: 'web' } }))),
    ).toBe(true);
    expect(
      moves(() => cache.upsert('Pod', pod('web-1', { ns: 'shop', ip: '10.0.0.1', labels: { app: 'web' } }))),
    ).toBe(false);
    expect(moves(() => cache.upsert('NetworkPolicy', { name: 'deny', namespace: 'sockeye' } as never))).toBe(
      true,
    );
    expect(moves(() => cache.upsert('Node', node('n1', '10.1.0.1')))).toBe(true);
    expect(moves(() => cache.upsert('Namespace', namespace('shop', { team: 'a' })))).toBe(true);
    expect(
      moves(() =>
        cache.upsert('Namespace', namespace('shop', { team: 'a' }, { 'sockeye.dev/status': 'Healthy' })),
      ),
    ).toBe(false);
    expect(moves(() => cache.delete('Pod', 'shop', 'web-1'))).toBe(true);
    expect(moves(() => cache.delete('Pod', 'shop', 'web-1'))).toBe(false);
  });

  it('forgets a namespace once it holds nothing, and never gives an earlier stamp of it again', () => {
    const cache = new ClusterCache();
    const stamp = () => cache.stamp('ci-1', 'sockeye');
    const empty = stamp();
    cache.upsert('Service', svc('web', { ns: 'ci-1', selector: { app: 'web' } }));
    cache.upsert('Pod', pod('web-1', { ns: 'ci-1', ip: '10.0.0.1', labels: { app: 'web' } }));
    const full = stamp();
    expect(cache.rememberedNamespaces).toBe(1);
    cache.delete('Pod', 'ci-1', 'web-1');
    expect(cache.rememberedNamespaces).toBe(1);
    cache.delete('Service', 'ci-1', 'web');
    // Empty again: as if never seen, and the stamp of an empty namespace is the same state.
    expect(cache.rememberedNamespaces).toBe(0);
    expect(stamp()).toBe(empty);
    // The same objects again: the same content as `full`, but a stamp of its own (a reconcile that
    // gathered at `full` cannot tell what happened in between).
    cache.upsert('Service', svc('web', { ns: 'ci-1', selector: { app: 'web' } }));
    cache.upsert('Pod', pod('web-1', { ns: 'ci-1', ip: '10.0.0.1', labels: { app: 'web' } }));
    expect(stamp()).not.toBe(full);
    expect(stamp()).not.toBe(empty);
  });
});

describe('ClusterCache indexes', () => {
  it('gathers what a scan of the namespace gathers, through adds, label changes and deletes', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rnd = random(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
      const labelsOf = (): Labels => {
        const l: Record<string, string> = {};
        for (const k of ['app', 'tier', 'track']) if (rnd() < 0.7) l[k] = pick(['a', 'b', 'c']);
        return l;
      };
      const cache = new ClusterCache();
      const namespaces = ['ns1', 'ns2'];
      const pods = new Map<string, Pod>();
      for (let step = 0; step < 400; step++) {
        const ns = pick(namespaces);
        const r = rnd();
        if (r < 0.45) {
          const p = pod(`p${Math.floor(rnd() * 40)}`, { ns, ip: '10.0.0.1', labels: labelsOf() });
          cache.upsert('Pod', p);
          pods.set(`${ns}/${p.name}`, p);
        } else if (r < 0.6) {
          const name = `p${Math.floor(rnd() * 40)}`;
          cache.delete('Pod', ns, name);
          pods.delete(`${ns}/${name}`);
        } else if (r < 0.8) {
          const selector = rnd() < 0.1 ? {} : labelsOf();
          const s = svc(`s${Math.floor(rnd() * 12)}`, { ns, selector });
          cache.upsert('Service', s);
          // Slices name a random subset of the namespace's pods (as a stale slice might).
          const members = [...pods.values()].filter((p) => p.namespace === ns && rnd() < 0.2);
          for (const slice of slicesFor(s, members)) cache.upsert('EndpointSlice', slice);
        } else if (r < 0.9) {
          const name = `s${Math.floor(rnd() * 12)}`;
          cache.delete('Service', ns, name);
          for (const slice of cache.list('EndpointSlice', ns).filter((x) => x.serviceName === name))
            cache.delete('EndpointSlice', ns, slice.name);
        }
        for (const s of cache.list('Service', ns)) {
          const got = cache.gather(ns, s.name, 'sockeye');
          const want = scanGather(cache, ns, s.name);
          expect({ seed, step, services: got?.services, slices: got?.slices, pods: got?.pods }).toEqual({
            seed,
            step,
            ...want,
          });
        }
      }
      // The run exercised the interesting cases.
      expect(cache.count('Pod')).toBeGreaterThan(0);
    }
  });

  it('finds the Services selecting a label set, and none for an empty selector', () => {
    const cache = new ClusterCache();
    cache.upsert('Service', svc('web', { selector: { app: 'web' } }));
    cache.upsert('Service', svc('web-canary', { selector: { app: 'web', track: 'canary' } }));
    cache.upsert('Service', svc('external', { selector: {} }));
    const names = (labels: Labels) => cache.servicesSelecting('shop', labels).map((s) => s.name);
    expect(names({ app: 'web' })).toEqual(['web']);
    expect(names({ app: 'web', track: 'canary' })).toEqual(['web', 'web-canary']);
    expect(names({ track: 'canary' })).toEqual([]);
    cache.upsert('Service', svc('web', { selector: { app: 'api' } }));
    expect(names({ app: 'web', track: 'canary' })).toEqual(['web-canary']);
    cache.delete('Service', 'shop', 'web-canary');
    expect(names({ app: 'web', track: 'canary' })).toEqual([]);
    expect(cache.podsSelectedBy('shop', {})).toEqual([]);
  });
});

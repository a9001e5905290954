import { describe, expect, it } from 'vitest';
import type { Labels, Pod } from '../model/types.ts';
import { pod, slicesFor, svc } from '../rules/fixtures.ts';
import { selectsPod } from '../rules/selectors.ts';
import { ClusterCache } from './cache.ts';

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

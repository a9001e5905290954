import { describe, expect, it } from 'vitest';
import { shardOf } from '../model/shard.ts';
import { countSplitting, pod, slicesFor, svc } from '../rules/fixtures.ts';
import { ClusterCache } from './cache.ts';
import { ShardFilter } from './shard-filter.ts';

/** Services `web` and `db` in different shards of `count`. */
const count = countSplitting('shop', 'web', 'db');
const WEB = shardOf('shop', 'web', count);
const DB = shardOf('shop', 'db', count);

function cacheWith() {
  const cache = new ClusterCache();
  cache.upsert('Service', svc('web', { selector: { app: 'web' } }));
  cache.upsert('Service', svc('db', { selector: { app: 'db' } }));
  return cache;
}

describe('ShardFilter', () => {
  it('has two shards to tell apart', () => expect(count).toBeGreaterThan(1));

  it('keeps the slices of its own Services, and no slice without a Service label', () => {
    const cache = cacheWith();
    const web = new ShardFilter(cache, { index: WEB, count });
    const [webSlice] = slicesFor(svc('web'), []);
    const [dbSlice] = slicesFor(svc('db', { selector: { app: 'db' } }), []);
    if (!webSlice || !dbSlice) throw new Error('no slice');
    expect([web.keepsSlice(webSlice), web.keepsSlice(dbSlice)]).toEqual([true, false]);
    expect(web.keepsSlice({ ...webSlice, serviceName: '' })).toBe(false);
    // One shard keeps everything.
    expect(new ShardFilter(cache).keepsSlice(dbSlice)).toBe(true);
  });

  it('keeps the pods its Services select, as the Services cached now say', () => {
    const cache = cacheWith();
    const web = new ShardFilter(cache, { index: WEB, count });
    const db = new ShardFilter(cache, { index: DB, count });
    const webPod = pod('web-1', { labels: { app: 'web' } });
    const stray = pod('stray-1', { labels: { app: 'stray' } });
    expect([web.keepsPod(webPod), db.keepsPod(webPod)]).toEqual([true, false]);
    expect([web.keepsPod(stray), db.keepsPod(stray)]).toEqual([false, false]);
    // A Service of the db shard now selects the stray pod too.
    cache.upsert('Service', svc('db', { selector: { app: 'stray' } }));
    expect(db.keepsPod(stray)).toBe(true);
    // Selector-less Services probed: a hand-made slice may name any pod.
    expect(new ShardFilter(cache, { index: WEB, count }, true).keepsPod(stray)).toBe(true);
  });

  it('reports each pod and Namespace from exactly one shard', () => {
    const cache = cacheWith();
    // Both Services select the shared pod: `db` (least name) is its home.
    cache.upsert('Service', svc('web', { selector: { tier: 'shared' } }));
    cache.upsert('Service', svc('db', { selector: { tier: 'shared' } }));
    cache.upsert('Pod', pod('shared-1', { labels: { tier: 'shared' }, ports: [[8080]] }));
    const filters = Array.from({ length: count }, (_, index) => new ShardFilter(cache, { index, count }));
    const reporting = (kind: 'Pod' | 'Namespace' | 'Service', ns: string, name: string) =>
      filters.flatMap((f, i) => (f.reports(kind, ns, name) ? [i] : []));
    expect(reporting('Pod', 'shop', 'shared-1')).toEqual([DB]);
    expect(reporting('Namespace', '', 'shop')).toEqual([DB]);
    expect(reporting('Service', 'shop', 'web')).toEqual([WEB]);
  });
});

import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { fakePages as source } from './fake-pages.ts';
import { type PageRequest, paginate } from './pager.ts';

const status = (code: number, reason: string) =>
  new ApiException(code, reason, JSON.stringify({ kind: 'Status', reason, message: reason }), {});

describe('paginate', () => {
  it('concatenates the pages in order and keeps the last resourceVersion', async () => {
    const s = source(['a', 'b', 'c', 'd', 'e']);
    expect(await paginate(s.page, { limit: 2 })).toEqual({
      items: ['a', 'b', 'c', 'd', 'e'],
      resourceVersion: 'rv3',
    });
    expect(s.requests).toEqual([{ limit: 2 }, { limit: 2, _continue: '2' }, { limit: 2, _continue: '4' }]);
  });

  it('sends the label selector with every page and reports each page size', async () => {
    const s = source(['a', 'b', 'c']);
    const sizes: number[] = [];
    await paginate(s.page, { limit: 2, labelSelector: 'app=web', onPage: (n) => sizes.push(n) });
    expect(s.requests.map((r) => r.labelSelector)).toEqual(['app=web', 'app=web']);
    expect(sizes).toEqual([2, 1]);
  });

  it('restarts from the first page when a continue token expired (410), keeping no stale items', async () => {
    const s = source(['a', 'b', 'c', 'd'], (r, call) =>
      call === 2 && r._continue ? status(410, 'Expired') : undefined,
    );
    expect((await paginate(s.page, { limit: 2 })).items).toEqual(['a', 'b', 'c', 'd']);
    expect(s.requests.map((r) => r._continue ?? '-')).toEqual(['-', '2', '-', '2']);
  });

  it('lists without a limit once tokens keep expiring, and throws if even that fails', async () => {
    const s = source(['a', 'b', 'c'], (r) => (r._continue ? status(410, 'Expired') : undefined));
    expect((await paginate(s.page, { limit: 1, maxRestarts: 2 })).items).toEqual(['a', 'b', 'c']);
    expect(s.requests.at(-1)).toEqual({ limit: 0 });
    expect(s.requests.filter((r) => r._continue).length).toBe(3);
  });

  it('throws other errors, and a 410 of the first page, as they came', async () => {
    const forbidden = status(403, 'Forbidden');
    const denied = source(['a'], () => forbidden);
    await expect(paginate(denied.page, { limit: 1 })).rejects.toBe(forbidden);
    expect(denied.requests.length).toBe(1);

    const gone = status(410, 'Gone');
    const first = source(['a'], () => gone);
    await expect(paginate(first.page, { limit: 1 })).rejects.toBe(gone);
    expect(first.requests.length).toBe(1);

    const broken = new Error('connection reset');
    const later = source(['a', 'b', 'c'], (_, call) => (call === 2 ? broken : undefined));
    await expect(paginate(later.page, { limit: 1 })).rejects.toBe(broken);
    expect(later.requests.length).toBe(2);
  });

  it('stops before the next page once the signal aborts', async () => {
    const stop = new AbortController();
    const s = source(['a', 'b', 'c']);
    const page = async (r: PageRequest) => {
      const p = await s.page(r);
      stop.abort();
      return p;
    };
    await expect(paginate(page, { limit: 1, signal: stop.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(s.requests.length).toBe(1);

    const before = source(['a']);
    await expect(paginate(before.page, { limit: 1, signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(before.requests).toEqual([]);
  });
});

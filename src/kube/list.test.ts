import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { listAll, type Page, type PageRequest } from './list.ts';

const status = (code: number, reason: string) =>
  new ApiException(code, reason, JSON.stringify({ kind: 'Status', reason, message: reason }), {});

/** A server holding `items`, paging by `limit`, that answers each request with `answer` when it returns one. */
function server(
  items: readonly number[],
  answer: (r: PageRequest, call: number) => Error | undefined = () => undefined,
) {
  const requests: PageRequest[] = [];
  const page = async (r: PageRequest): Promise<Page<number>> => {
    requests.push(r);
    const problem = answer(r, requests.length);
    if (problem) throw problem;
    const from = r._continue ? Number(r._continue) : 0;
    const to = r.limit === 0 ? items.length : Math.min(items.length, from + r.limit);
    return {
      items: items.slice(from, to),
      metadata: { _continue: to < items.length ? String(to) : undefined },
    };
  };
  return { page, requests };
}

const noWait = {
  setTimeout: (fn: () => void) => {
    fn();
    return 0;
  },
  clearTimeout: () => undefined,
};

describe('listAll', () => {
  it('reads every page with limit and continue, passing the label selector on each', async () => {
    const s = server([1, 2, 3, 4, 5]);
    expect(await listAll(s.page, { limit: 2, labelSelector: 'app=web' })).toEqual([1, 2, 3, 4, 5]);
    expect(s.requests).toEqual([
      { limit: 2, labelSelector: 'app=web' },
      { limit: 2, _continue: '2', labelSelector: 'app=web' },
      { limit: 2, _continue: '4', labelSelector: 'app=web' },
    ]);
  });

  it('restarts from the first page when a continue token expired (410), keeping no stale items', async () => {
    const s = server([1, 2, 3, 4], (r, call) =>
      call === 2 && r._continue ? status(410, 'Expired') : undefined,
    );
    expect(await listAll(s.page, { limit: 2 })).toEqual([1, 2, 3, 4]);
    expect(s.requests.map((r) => r._continue ?? '-')).toEqual(['-', '2', '-', '2']);
  });

  it('lists without a limit once tokens keep expiring', async () => {
    const s = server([1, 2, 3], (r) => (r._continue ? status(410, 'Expired') : undefined));
    expect(await listAll(s.page, { limit: 1, maxRestarts: 2 })).toEqual([1, 2, 3]);
    expect(s.requests.at(-1)).toEqual({ limit: 0 });
    expect(s.requests.filter((r) => r._continue).length).toBe(3);
  });

  it('retries a page on a retryable error and throws a terminal one as it came', async () => {
    const flaky = server([1, 2], (_, call) => (call === 1 ? status(503, 'ServiceUnavailable') : undefined));
    expect(await listAll(flaky.page, { limit: 5, timers: noWait })).toEqual([1, 2]);
    const forbidden = status(403, 'Forbidden');
    const denied = server([1], () => forbidden);
    await expect(listAll(denied.page, { timers: noWait })).rejects.toBe(forbidden);
    expect(denied.requests.length).toBe(1);
  });

  it('does not restart on a 410 of the first page (not a stale token) and counts items per page', async () => {
    const gone = status(410, 'Gone');
    const s = server([1], () => gone);
    await expect(listAll(s.page)).rejects.toBe(gone);
    const pages: number[] = [];
    await listAll(server([1, 2, 3]).page, { limit: 2, onPage: (n) => pages.push(n) });
    expect(pages).toEqual([2, 1]);
  });
});

import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { fakePages as server } from './fake-pages.ts';
import { listAll } from './list.ts';

const status = (code: number, reason: string) =>
  new ApiException(code, reason, JSON.stringify({ kind: 'Status', reason, message: reason }), {});

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

/** A fake list for the pager's and its callers' tests: pages served by `limit` and `_continue`. */
import type { Page, PageRequest } from './pager.ts';

/**
 * Serves `items` by `limit` (0: all) and `_continue` (the next index), naming each page's
 * resourceVersion after its request number; `answer` may fail a request instead. `requests` records
 * every request in order.
 */
export function fakePages<T>(
  items: readonly T[],
  answer: (r: PageRequest, call: number) => Error | undefined = () => undefined,
) {
  const requests: PageRequest[] = [];
  const page = async (r: PageRequest): Promise<Page<T>> => {
    requests.push(r);
    const problem = answer(r, requests.length);
    if (problem) throw problem;
    const from = r._continue ? Number(r._continue) : 0;
    const to = r.limit === 0 ? items.length : Math.min(items.length, from + r.limit);
    return {
      items: items.slice(from, to),
      metadata: {
        resourceVersion: `rv${requests.length}`,
        ...(to < items.length ? { _continue: String(to) } : {}),
      },
    };
  };
  return { page, requests };
}

/**
 * The one paging loop of sockeye's lists: `limit` / `continue` over any page source, restarting a list
 * whose continue token expired (410 Gone, reason Expired: etcd compacted the snapshot the token pointed
 * into). The informers' lists, the audit's lists (list.ts, which adds retries) and the new leader's read
 * of the Events it inherits all page through it. It knows nothing of the client: its tests inject pages.
 */
import { statusCodeOf } from './errors.ts';

/** One request of a paged list: spread it into the client-node `list*` call. */
export interface PageRequest {
  readonly limit: number;
  readonly _continue?: string;
  readonly labelSelector?: string;
}

/** One page of a list, as client-node's `list*` calls return it, narrowed to what paging reads. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly metadata?:
    | { readonly resourceVersion?: string | undefined; readonly _continue?: string | undefined }
    | undefined;
}

/** Answers one page request: a list call, maybe wrapped (retries, trimming each item). */
export type PageSource<T> = (request: PageRequest) => Promise<Page<T>>;

export interface PagerOptions {
  /** Items per page. */
  readonly limit: number;
  /** Sent with every page when set. */
  readonly labelSelector?: string | undefined;
  /** How often an expired continue token restarts the list from the start (default 3). */
  readonly maxRestarts?: number;
  /** Checked before each page: once aborted, the list stops with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Called with each page's item count, for progress. */
  readonly onPage?: (items: number) => void;
}

/**
 * `source` with each page's items passed through `map` as the page arrives (to trim or filter them:
 * memory then never holds a whole list of API objects).
 */
export function mapPages<T, U>(source: PageSource<T>, map: (items: readonly T[]) => U[]): PageSource<U> {
  return async (request) => {
    const page = await source(request);
    return { items: map(page.items), metadata: page.metadata };
  };
}

/** A whole list: every page's items in order, and the last page's resourceVersion. */
export interface Listed<T> {
  readonly items: T[];
  readonly resourceVersion: string | undefined;
}

/** True for the 410 Gone a list with a stale continue token gets. */
export function isExpired(err: unknown): boolean {
  return statusCodeOf(err) === 410;
}

/**
 * Every item of a list, page by page. A 410 on a continued page means the snapshot is gone: the items
 * read so far may be stale, so the list starts again (a consistent snapshot, as one unpaged list would
 * be); after `maxRestarts` a last attempt lists without a limit (client-go's pager does the same). Any
 * other error, and a 410 on the first page (not a stale token: not the pager's to fix), is thrown as
 * it came.
 */
export async function paginate<T>(source: PageSource<T>, options: PagerOptions): Promise<Listed<T>> {
  const maxRestarts = options.maxRestarts ?? 3;
  for (let restart = 0; ; restart++) {
    // 0 means "no limit" to the API server: the last resort when tokens keep expiring.
    const limit = restart > maxRestarts ? 0 : options.limit;
    try {
      return await pages(source, limit, options);
    } catch (err) {
      if (!(err instanceof ExpiredContinue) || restart > maxRestarts) throw unwrap(err);
    }
  }
}

/** Marks a 410 on a continued page, as opposed to one on the first page. */
class ExpiredContinue extends Error {
  override readonly name = 'ExpiredContinue';
}

function unwrap(err: unknown): unknown {
  return err instanceof ExpiredContinue ? err.cause : err;
}

async function pages<T>(source: PageSource<T>, limit: number, options: PagerOptions): Promise<Listed<T>> {
  const items: T[] = [];
  let resourceVersion: string | undefined;
  let token: string | undefined;
  do {
    options.signal?.throwIfAborted();
    const request: PageRequest = {
      limit,
      ...(token ? { _continue: token } : {}),
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    };
    const continued = token !== undefined;
    const page = await source(request).catch((err: unknown) => {
      throw continued && isExpired(err) ? new ExpiredContinue('continue token expired', { cause: err }) : err;
    });
    // One by one: an unpaged last attempt can hold more items than a spread may pass.
    for (const item of page.items) items.push(item);
    options.onPage?.(page.items.length);
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    token = page.metadata?._continue || undefined;
  } while (token !== undefined);
  return { items, resourceVersion };
}

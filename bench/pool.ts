// A bounded-concurrency map for the benches' bulk API calls (creating thousands of objects without
// thousands of requests in flight). Tests: bench/pool.test.ts.

/**
 * Calls `work` for every item with at most `limit` calls in flight, and resolves to the results in
 * the order of `items` (not the order they finish in). The first failure rejects the whole map, and no
 * item not yet started is started after it; calls already in flight are left to finish.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit ${limit} is not a positive integer`);
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i] as T, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

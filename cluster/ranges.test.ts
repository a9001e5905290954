import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RangesInUseError, releaseRange, takeRange } from './local.ts';

// Reservations live under SOCKEYE_CACHE: a private one keeps this test away from real clusters.
// The ranges are only reserved (files), never routed; 198.19.182.0/23 is used by no cluster (whose
// Service ranges and load-balancer pools end at 198.19.181.255) and no net test.
describe('pod range reservations', () => {
  let cache = '';
  const saved = process.env.SOCKEYE_CACHE;
  beforeEach(async () => {
    cache = await mkdtemp(join(tmpdir(), 'sockeye-ranges-'));
    process.env.SOCKEYE_CACHE = cache;
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.SOCKEYE_CACHE;
    else process.env.SOCKEYE_CACHE = saved;
    await rm(cache, { recursive: true, force: true });
  });

  it('refuses a range that overlaps one another cluster holds, either way round', async () => {
    expect(await takeRange('198.19.182.0/24', '/cluster-a')).toBe('198.19.182.0/24');
    await expect(takeRange('198.19.182.0/23', '/cluster-b')).rejects.toThrow('in use by another cluster');
    // From a list, the next free candidate.
    expect(await takeRange(['198.19.182.0/23', '198.19.183.0/24'], '/cluster-b')).toBe('198.19.183.0/24');
    await releaseRange('198.19.182.0/24', '/cluster-a');
    await releaseRange('198.19.183.0/24', '/cluster-b');
    expect(await takeRange('198.19.182.0/23', '/cluster-b')).toBe('198.19.182.0/23');
    await expect(takeRange('198.19.183.0/24', '/cluster-a')).rejects.toThrow('in use by another cluster');
    // Every candidate held: the error a caller (bench:operator) waits on, told apart by its class.
    const busy = takeRange(['198.19.182.0/24', '198.19.183.0/24'], '/cluster-c');
    await expect(busy).rejects.toThrow('every pod range is in use');
    await expect(busy).rejects.toBeInstanceOf(RangesInUseError);
  });
});

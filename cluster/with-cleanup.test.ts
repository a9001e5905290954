import { describe, expect, it } from 'vitest';
import { withCleanup } from './with-cleanup.ts';

describe('withCleanup', () => {
  it('cleans up once after the body, passes its result, and leaves no signal handler', async () => {
    const before = process.listenerCount('SIGINT');
    let cleaned = 0;
    let during = 0;
    const result = await withCleanup(
      async () => {
        cleaned++;
      },
      async () => {
        during = process.listenerCount('SIGINT');
        return 42;
      },
    );
    expect([result, cleaned, during - before, process.listenerCount('SIGINT') - before]).toEqual([
      42, 1, 1, 0,
    ]);
  });

  it('cleans up after a failing body and rethrows its error', async () => {
    let cleaned = 0;
    const run = withCleanup(
      async () => {
        cleaned++;
      },
      async () => {
        throw new Error('seeding failed');
      },
    );
    await expect(run).rejects.toThrow('seeding failed');
    expect(cleaned).toBe(1);
  });
});

import { z } from 'zod';

/** `--concurrency N`: connects in flight at once, shared by every command that probes. */
export const concurrencyFlag = z
  .string()
  .regex(/^\d+$/, '--concurrency must be a whole number')
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .min(1, '--concurrency must be at least 1')
      .max(100_000, '--concurrency is at most 100000'),
  )
  .default(256);

import { expect } from 'vitest';
import { ConfigError } from './flags.ts';

/** The message of the ConfigError `run` throws; fails the test when it throws nothing or something else. */
export function configFailure(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

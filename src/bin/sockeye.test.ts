import { describe, expect, it } from 'vitest';
import { captureIO } from '../../test/net/cli-io.ts';
import { version } from '../version.ts';
import { main } from './sockeye.ts';

describe('sockeye entry point', () => {
  it('prints the package version for --version', async () => {
    const c = captureIO();
    expect(await main(['--version'], c.io)).toBe(0);
    expect(c.out()).toBe(`sockeye ${version()}\n`);
    expect(version()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('names an unknown command and exits 2', async () => {
    const c = captureIO();
    expect(await main(['frobnicate'], c.io)).toBe(2);
    expect(c.err()).toContain('unknown command "frobnicate"');
  });
});

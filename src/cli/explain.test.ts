import { describe, expect, it } from 'vitest';
import { captureIO as capture } from '../../test/net/cli-io.ts';
import { main } from '../bin/sockeye.ts';
import { REASON_NAMES } from '../rules/catalog.ts';
import { GUIDES } from '../rules/guides.ts';

describe('sockeye explain', () => {
  it('lists every reason of the catalog with its severity', async () => {
    const c = capture();
    expect(await main(['explain'], c.io)).toBe(0);
    const listed = c
      .out()
      .split('\n')
      .slice(1)
      .filter((l) => l.trim() !== '')
      .map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '));
    expect(listed).toEqual(
      REASON_NAMES.map((r) => `${r} ${r === 'TargetsRecovered' ? 'Normal' : 'Warning'}`),
    );
  });

  it.each(REASON_NAMES)('prints a complete guide for %s', async (reason) => {
    const c = capture();
    expect(await main(['explain', reason], c.io)).toBe(0);
    const text = c.out();
    expect(text.startsWith(`${reason}: `)).toBe(true);
    for (const section of ['What it means', 'Usual causes', 'Confirm', 'Fix'])
      expect(text).toContain(`\n${section}\n`);
    const guide = GUIDES[reason];
    expect(guide.meaning.length).toBeGreaterThan(40);
    expect(guide.causes.length).toBeGreaterThan(0);
    expect(guide.confirm.length).toBeGreaterThan(0);
    expect(guide.fix.length).toBeGreaterThan(0);
  });

  it('has a guide for every reason in the catalog and none for reasons it does not have', () => {
    expect(Object.keys(GUIDES).sort()).toEqual([...REASON_NAMES].sort());
  });

  it('accepts a reason typed in another case', async () => {
    const c = capture();
    expect(await main(['explain', 'portnotlistening'], c.io)).toBe(0);
    expect(c.out()).toContain('PortNotListening: a pod port refuses connections on the pod IP');
  });

  it('names an unknown reason in a usage error and exits 2', async () => {
    const c = capture();
    expect(await main(['explain', 'NoSuchThing'], c.io)).toBe(2);
    expect(c.err()).toBe('sockeye: unknown reason "NoSuchThing"; run `sockeye explain` for the list\n');
    expect(c.out()).toBe('');
  });

  it('refuses more than one reason', async () => {
    const c = capture();
    expect(await main(['explain', 'NoEndpoints', 'ConnectTimeout'], c.io)).toBe(2);
    expect(c.err()).toContain('explain takes one REASON, got 2');
  });
});

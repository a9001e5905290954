import { describe, expect, it } from 'vitest';
import { captureIO } from '../../test/net/cli-io.ts';
import { main } from '../bin/sockeye.ts';
import { loadOperatorConfig } from '../config/operator.ts';
import { loadSidecarConfig } from '../sidecar/config.ts';
import { parseAuditFlags } from './audit.ts';
import { parseProbeFlags } from './probe.ts';

/**
 * kubectl's boolean conventions in every mode: `--x`, `--no-x`, `--x=true`, `--x=false`, and a bad
 * value is a one-line usage error naming the flag, exit 2. One boolean flag per mode, read on plain
 * data (argv in, setting out); the webhook's only boolean is --help, checked through its command.
 */
const modes = [
  {
    mode: 'operator',
    flag: 'leader-elect',
    read: (argv: string[]) =>
      loadOperatorConfig({ argv, env: {}, readFile: () => '' }).leaderElection.enabled,
  },
  { mode: 'sidecar', flag: 'events', read: (argv: string[]) => loadSidecarConfig(argv, {}).events },
  {
    mode: 'audit',
    flag: 'include-opted-out',
    read: (argv: string[]) => parseAuditFlags(argv)['include-opted-out'],
  },
  {
    mode: 'probe',
    flag: 'tls',
    read: (argv: string[]) => parseProbeFlags([...argv, '127.0.0.1:1']).flags.tls,
  },
] as const;

const forms = [
  ['--FLAG', true],
  ['--no-FLAG', false],
  ['--FLAG=true', true],
  ['--FLAG=false', false],
] as const;

describe.each(modes)('sockeye $mode --$flag', ({ mode, flag, read }) => {
  it.each(forms)('%s', (form, expected) => {
    expect(read([form.replace('FLAG', flag)])).toBe(expected);
  });

  it('the last one written wins, whichever form', () => {
    expect(read([`--${flag}=false`, `--${flag}`])).toBe(true);
    expect(read([`--${flag}`, `--${flag}=false`])).toBe(false);
  });

  it('a bad value is a one-line usage error naming the flag, exit 2', async () => {
    const c = captureIO();
    expect(await main([mode, `--${flag}=maybe`], c.io)).toBe(2);
    const prefix = mode === 'operator' ? '' : `${mode}: `;
    expect(c.err()).toBe(`sockeye: ${prefix}--${flag}: want true or false (got "maybe")\n`);
    expect(c.out()).toBe('');
  });
});

describe('boolean settings from the environment', () => {
  it('read the same grammar in the operator and the sidecar', () => {
    const operator = (v: string) =>
      loadOperatorConfig({ argv: [], env: { SOCKEYE_LEADER_ELECT: v }, readFile: () => '' }).leaderElection
        .enabled;
    const sidecar = (v: string) => loadSidecarConfig([], { SOCKEYE_EVENTS: v }).events;
    for (const read of [operator, sidecar]) {
      expect(read('false')).toBe(false);
      expect(read('FALSE')).toBe(false);
      expect(read('True')).toBe(true);
      expect(() => read('maybe')).toThrow(/want true or false \(got "maybe"\)/);
    }
  });
});

describe('sockeye webhook --help', () => {
  it('takes the four forms', async () => {
    for (const form of ['--help', '--help=true']) {
      const c = captureIO();
      expect(await main(['webhook', form], c.io)).toBe(0);
      expect(c.out()).toContain('Usage: sockeye webhook');
    }
    for (const form of ['--no-help', '--help=false']) {
      const c = captureIO();
      // Not asked for help, it goes on and wants its certificate.
      expect(await main(['webhook', form], c.io)).toBe(2);
      expect(c.err()).toBe(
        'sockeye: webhook: --cert and --key are required (the API server only calls webhooks over TLS)\n',
      );
    }
    const c = captureIO();
    expect(await main(['webhook', '--help=maybe'], c.io)).toBe(2);
    expect(c.err()).toBe('sockeye: webhook: --help: want true or false (got "maybe")\n');
  });
});

import { describe, expect, it } from 'vitest';
import { booleanSetting, ConfigError, readFlags } from './flags.ts';

const options = {
  watch: { type: 'boolean' },
  selector: { type: 'string', short: 'l' },
  name: { type: 'string', multiple: true },
} as const;

const read = (argv: string[]) => readFlags(argv, options, { command: 'demo', positionals: true });

describe('readFlags', () => {
  it.each([
    [['--watch'], true],
    [['--no-watch'], false],
    [['--watch=true'], true],
    [['--watch=false'], false],
    [['--watch=TRUE'], true],
    [['--watch=False'], false],
    [['--watch', '--watch=false'], false],
    [['--no-watch', '--watch=true'], true],
    [[], undefined],
  ])('%j -> %s', (argv, watch) => {
    expect(read(argv).values.watch).toBe(watch);
  });

  it.each([
    ['--watch=maybe', 'demo: --watch: want true or false (got "maybe")'],
    ['--watch=', 'demo: --watch: want true or false (got "")'],
    ['--watch=1', 'demo: --watch: want true or false (got "1")'],
  ])('%s is a usage error naming the flag', (arg, message) => {
    expect(() => read([arg])).toThrow(ConfigError);
    expect(() => read([arg])).toThrow(message);
  });

  it('leaves operands after -- as written', () => {
    const parsed = read(['--watch=false', '--', '--watch=x']);
    expect(parsed.values).toEqual({ watch: false });
    expect(parsed.positionals).toEqual(['--watch=x']);
  });

  it('keeps string values that look like booleans, and repeats', () => {
    expect(read(['--selector=false', '--name=a', '--name', 'b', 'x']).values).toEqual({
      selector: 'false',
      name: ['a', 'b'],
    });
  });

  it('wraps parseArgs errors in a usage error with the command', () => {
    expect(() => read(['--bogus'])).toThrow(/^demo: Unknown option '--bogus'/);
    expect(() => readFlags(['x'], options)).toThrow(ConfigError);
  });
});

describe('booleanSetting', () => {
  it('reads true and false in any case, and names the setting otherwise', () => {
    expect(booleanSetting(' True ', 'SOCKEYE_X')).toBe(true);
    expect(booleanSetting('false', 'SOCKEYE_X')).toBe(false);
    expect(() => booleanSetting('yes', 'SOCKEYE_X')).toThrow('SOCKEYE_X: want true or false (got "yes")');
  });
});

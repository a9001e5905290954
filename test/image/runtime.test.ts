import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../cluster/controlplane.ts';
import { exec, mustExec, type Result } from '../chart/helm.ts';
import {
  annotationsWhen,
  type OperatorProcess,
  REFUSING_WEB,
  running,
  scenarioNamespace,
  spawnOperator,
  stopOperatorProcess,
} from '../operator/support.ts';
import { parseDockerfile } from './dockerfile.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
/** The Dockerfile's USER; a UID with no account, no home and no write access anywhere in the tree. */
const UID = 65532;

/**
 * A module preloaded with --import that writes every file each thread loads (registerHooks sees
 * import and require; a worker thread runs the preload too) to stderr, one URL per line, as it loads.
 */
const LOAD_RECORDER = `data:text/javascript,${encodeURIComponent(`
  import { registerHooks } from 'node:module';
  import { writeSync } from 'node:fs';
  registerHooks({ load(url, context, next) { writeSync(2, url + '\\n'); return next(url, context); } });
`)}`;

/**
 * The image's runtime stage without a Docker engine: the same steps as the Dockerfile (the bundles
 * of `npm run build`, package.json and bin/; no node_modules, no tsc output) into an /app-like
 * directory, made read-only, with its own copy of this node (the image has node in /usr/local/bin;
 * ours lives under /root, which UID 65532 cannot enter), run as UID 65532 with `setpriv`.
 */
describe('the runtime image tree', () => {
  let dir = '';
  let app = '';
  let node = '';

  const runAsUser = (args: readonly string[]): Promise<Result> =>
    exec('setpriv', [
      `--reuid=${UID}`,
      `--regid=${UID}`,
      '--clear-groups',
      '--',
      'env',
      '-i',
      'HOME=/nonexistent',
      'NODE_ENV=production',
      node,
      ...args,
    ]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sockeye-image-'));
    app = join(dir, 'app');
    await mkdir(app);
    await copyFile(join(repo, 'package.json'), join(app, 'package.json'));
    await cp(join(repo, 'bin'), join(app, 'bin'), { recursive: true });
    // npm run build's bundles (scripts/bundle.ts), built aside; the Dockerfile copies two of its paths.
    const build = join(dir, 'build');
    await mustExec(process.execPath, [join(repo, 'scripts', 'bundle.ts'), build]);
    await mkdir(join(app, 'dist', 'probe'), { recursive: true });
    await cp(join(build, 'bundle'), join(app, 'dist', 'bundle'), { recursive: true });
    await copyFile(join(build, 'probe', 'worker.cjs'), join(app, 'dist', 'probe', 'worker.cjs'));
    node = join(dir, 'node');
    await copyFile(process.execPath, node);
    await chmod(node, 0o555);
    // Read-only for everyone but root (owner root, like COPY without --chown); 65532 may read and run.
    await mustExec('chmod', ['-R', 'a-w,a+rX', app]);
    await chmod(dir, 0o755);
  }, 300_000);

  afterAll(async () => {
    if (!dir) return;
    await mustExec('chmod', ['-R', 'u+w', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the bundles, bin/ and package.json only, as the Dockerfile copies them: no node_modules', async () => {
    expect((await readdir(app)).sort()).toEqual(['bin', 'dist', 'package.json']);
    expect((await readdir(join(app, 'dist'))).sort()).toEqual(['bundle', 'probe']);
    expect(await readdir(join(app, 'dist', 'probe'))).toEqual(['worker.cjs']);
    expect((await stat(join(app, 'dist', 'bundle', 'sockeye.mjs'))).isFile()).toBe(true);
    // The Dockerfile copies the same things into /app.
    const runtime = parseDockerfile(await readFile(join(repo, 'Dockerfile'), 'utf8')).stages.at(-1);
    const copied = (runtime?.instructions ?? [])
      .filter((i) => i.keyword === 'COPY')
      .map((i) => i.args.split(/\s+/).at(-1)?.replace(/^\.\//, '').replace(/\/$/, ''));
    // '' is package.json into ./
    expect(copied.sort()).toEqual(['', 'bin', 'dist/bundle', 'dist/probe/worker.cjs']);
  });

  it('runs `sockeye --version` as a non-root user', async () => {
    const result = await runAsUser([join(app, 'bin', 'sockeye.js'), '--version']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^sockeye \d+\.\d+\.\d+\n$/);
    expect(result.code).toBe(0);
  });

  it('runs `sockeye operator --help` from the bundle, listing its SOCKEYE_* settings', async () => {
    const result = await runAsUser([join(app, 'bin', 'sockeye.js'), 'operator', '--help']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: sockeye operator');
    expect(result.stdout).toContain('SOCKEYE_INTERVAL');
  });

  /**
   * The files of the tree that `sockeye ARGS` loads in any thread (LOAD_RECORDER), those of them
   * outside the bundle and its entry (`outside`), and how it ended.
   */
  const loadsOf = async (args: readonly string[]) => {
    const result = await runAsUser(['--import', LOAD_RECORDER, join(app, 'bin', 'sockeye.js'), ...args]);
    const lines = result.stderr.split('\n').filter((l) => l !== '');
    // Nothing but the recorder's lines: sockeye itself wrote no error.
    expect(lines.filter((l) => !/^[a-z]+:/.test(l))).toEqual([]);
    const files = lines
      .filter((url) => url.startsWith('file:'))
      .map((url) => fileURLToPath(url).slice(app.length + 1));
    const outside = files.filter((f) => !f.startsWith('dist/bundle/') && f !== 'bin/sockeye.js');
    return { result, files, outside };
  };

  it('runs the bundle: the operator loads nothing else', async () => {
    const { result, files, outside } = await loadsOf(['operator', '--help']);
    expect(result.code).toBe(0);
    expect(files).toContain('dist/bundle/sockeye.mjs');
    expect(outside).toEqual([]);
    // Nor client-node's generated API (scripts/bundle.ts leaves it out, as lean-client-node.ts does
    // for dist/): its request factories are in the bundle only for the audit's and svc/NAME's chunks.
    const generated = async (f: string) =>
      (await readFile(join(app, f), 'utf8')).includes('CoreV1ApiRequestFactory');
    expect(await Promise.all(files.map(generated))).not.toContain(true);
    const chunks = (await readdir(join(app, 'dist', 'bundle'))).filter((f) => f.endsWith('.mjs'));
    expect(await Promise.all(chunks.map((f) => generated(`dist/bundle/${f}`)))).toContain(true);
  });

  it('runs every mode from the bundle alone: each one loads its chunks and nothing outside them', async () => {
    // The operator's: the test above.
    for (const mode of ['sidecar', 'webhook', 'audit', 'probe', 'explain']) {
      const { result, outside } = await loadsOf([mode, '--help']);
      expect({ mode, code: result.code, outside }).toEqual({ mode, code: 0, outside: [] });
    }
  });

  it('runs `sockeye explain NoHealthyTargets`', async () => {
    const result = await runAsUser([join(app, 'bin', 'sockeye.js'), 'explain', 'NoHealthyTargets']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('NoHealthyTargets');
  });

  it('spreads `sockeye probe --threads 2` over a worker thread that the bundle finds', async () => {
    const closed = await freePort();
    const targets = Array.from({ length: 40 }, () => `127.0.0.1:${closed}`);
    const { result, files, outside } = await loadsOf(['probe', '-o', 'json', '--threads', '2', ...targets]);
    expect(JSON.parse(result.stdout).summary).toMatchObject({ total: 40, refused: 40 });
    expect(result.code).toBe(1);
    // The worker thread ran the worker's bundle, found from the CLI's chunks; nothing from tsc's dist/.
    expect(files).toContain('dist/probe/worker.cjs');
    expect(outside).toEqual(['dist/probe/worker.cjs']);
  });

  describe('as an operator on the local cluster', () => {
    const s = scenarioNamespace('image-op', REFUSING_WEB, 1);
    let op: OperatorProcess | undefined;
    afterAll(() => stopOperatorProcess(op));

    // The integration tests run src/; this runs what the image runs (the bundle) against the
    // cluster: watches, probes (in the thread the bundle's worker file serves), judges and writes the
    // Service's status.
    it('judges the refusing Service from the bundle', async () => {
      op = await spawnOperator(
        [
          '--no-leader-elect',
          '--probe-thread',
          `--namespace=${s.ns}`,
          '--interval=1s',
          '--timeout=500ms',
          '--confirmations=1',
          '--no-metrics-secure',
          `--pod-name=sockeye-${s.ns}`,
          '--pod-namespace=sockeye-system',
        ],
        { KUBECONFIG: inject('kubeconfig') },
        join(app, 'bin', 'sockeye.js'),
      );
      await annotationsWhen(s.kube, 'Service', s.ns, 'web', 'NoHealthyTargets');
      expect(running(op)).toBe(true);
      // Its connects were made in the probe thread, and it did not fall back to the main thread.
      const metrics = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
      expect(metrics).toMatch(/^sockeye_probe_thread 1$/m);
    });

    // The audit reaches client-node's generated API, which only its chunks carry.
    it('audits the refusing Service from the bundle', async () => {
      const run = await exec('env', [
        `KUBECONFIG=${inject('kubeconfig')}`,
        'NODE_ENV=production',
        node,
        join(app, 'bin', 'sockeye.js'),
        ...['audit', '-n', s.ns, '--timeout', '500ms', '-o', 'json'],
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(1);
      const report = JSON.parse(run.stdout) as { findings: { reason: string; object: { name: string } }[] };
      expect(report.findings.map((f) => `${f.reason} ${f.object.name}`)).toContain('NoHealthyTargets web');
    });
  });

  it('cannot write to its own tree', async () => {
    const write = `require('node:fs').writeFileSync(${JSON.stringify(join(app, 'bin', 'x'))}, '')`;
    const result = await runAsUser(['-e', write]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/EACCES/);
  });
});

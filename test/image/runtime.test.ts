import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
 * The image's runtime stage without a Docker engine: the same steps as the Dockerfile (the compiled
 * dist/ of `npm run build`, the production dependencies of `npm ci --omit=dev --ignore-scripts`,
 * package.json and bin/) into /app-like directory, made read-only, with its own copy of this node
 * (the image has node in /usr/local/bin; ours lives under /root, which UID 65532 cannot enter), run
 * as UID 65532 with `setpriv`.
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
    for (const file of ['package.json', 'package-lock.json'])
      await copyFile(join(repo, file), join(app, file));
    await cp(join(repo, 'bin'), join(app, 'bin'), { recursive: true });
    // npm run build, into the tree's dist/ (the build stage's output).
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    await mustExec(process.execPath, [
      tsc,
      '-p',
      join(repo, 'tsconfig.build.json'),
      '--outDir',
      join(app, 'dist'),
    ]);
    // The rest of npm run build: the bundles bin/sockeye.js runs, and the probe worker's.
    await mustExec(process.execPath, [join(repo, 'scripts', 'bundle.ts'), join(app, 'dist')]);
    // The deps stage: production dependencies only, no install scripts.
    await mustExec('npm', [
      'ci',
      '--omit=dev',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefix',
      app,
    ]);
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

  it('holds only production dependencies and compiled code, as the Dockerfile copies them', async () => {
    const top = (await readdir(app)).sort();
    expect(top).toEqual(['bin', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
    const modules = await readdir(join(app, 'node_modules'));
    for (const dev of ['typescript', 'vitest', '@biomejs', 'ajv']) expect(modules).not.toContain(dev);
    for (const prod of ['@kubernetes', 'express', 'pino', 'prom-client', 'yaml', 'zod'])
      expect(modules).toContain(prod);
    expect((await stat(join(app, 'dist', 'bin', 'sockeye.js'))).isFile()).toBe(true);
    // The Dockerfile copies the same four things into /app.
    const runtime = parseDockerfile(await readFile(join(repo, 'Dockerfile'), 'utf8')).stages.at(-1);
    const copied = (runtime?.instructions ?? [])
      .filter((i) => i.keyword === 'COPY')
      .map((i) => i.args.split(/\s+/).at(-1)?.replace(/^\.\//, '').replace(/\/$/, ''));
    expect(copied.sort()).toEqual(['', 'bin', 'dist', 'node_modules']); // '' is package.json into ./
  });

  it('runs `sockeye --version` as a non-root user', async () => {
    const result = await runAsUser([join(app, 'bin', 'sockeye.js'), '--version']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^sockeye \d+\.\d+\.\d+\n$/);
    expect(result.code).toBe(0);
  });

  it('runs `sockeye operator --help` from the compiled code, listing its SOCKEYE_* settings', async () => {
    const result = await runAsUser([join(app, 'bin', 'sockeye.js'), 'operator', '--help']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: sockeye operator');
    expect(result.stdout).toContain('SOCKEYE_INTERVAL');
  });

  /** The files of the tree that `sockeye ARGS` loads in any thread (LOAD_RECORDER), and how it ended. */
  const loadsOf = async (args: readonly string[]) => {
    const result = await runAsUser(['--import', LOAD_RECORDER, join(app, 'bin', 'sockeye.js'), ...args]);
    const lines = result.stderr.split('\n').filter((l) => l !== '');
    // Nothing but the recorder's lines: sockeye itself wrote no error.
    expect(lines.filter((l) => !/^[a-z]+:/.test(l))).toEqual([]);
    const files = lines
      .filter((url) => url.startsWith('file:'))
      .map((url) => fileURLToPath(url).slice(app.length + 1));
    return { result, files };
  };

  it("runs the bundle: the operator loads none of the ~900 modules of tsc's dist/ and node_modules", async () => {
    const { result, files } = await loadsOf(['operator', '--help']);
    expect(result.code).toBe(0);
    expect(files).toContain('dist/bundle/sockeye.mjs');
    expect(files.filter((f) => !f.startsWith('dist/bundle/') && f !== 'bin/sockeye.js')).toEqual([]);
    // Nor client-node's generated API (scripts/bundle.ts leaves it out, as lean-client-node.ts does
    // for dist/): its request factories are in the bundle only for the audit's and svc/NAME's chunks.
    const generated = async (f: string) =>
      (await readFile(join(app, f), 'utf8')).includes('CoreV1ApiRequestFactory');
    expect(await Promise.all(files.map(generated))).not.toContain(true);
    const chunks = (await readdir(join(app, 'dist', 'bundle'))).filter((f) => f.endsWith('.mjs'));
    expect(await Promise.all(chunks.map((f) => generated(`dist/bundle/${f}`)))).toContain(true);
  });

  it('runs `sockeye explain NoHealthyTargets`', async () => {
    const result = await runAsUser([join(app, 'bin', 'sockeye.js'), 'explain', 'NoHealthyTargets']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('NoHealthyTargets');
  });

  it('spreads a probe run over worker threads that load the one-file worker bundle', async () => {
    const closed = await freePort();
    const module = (name: string) => JSON.stringify(pathToFileURL(join(app, 'dist', 'probe', name)).href);
    const probe = [
      `const { probeWorkerScript } = await import(${module('worker-script.js')});`,
      `const { probeAll } = await import(${module('engine.js')});`,
      `const targets = Array.from({ length: 40 }, () => ({ ip: '127.0.0.1', port: ${closed} }));`,
      'const results = await probeAll(targets, { timeoutMs: 2000, threads: 2 });',
      'const outcomes = [...new Set(results.map((r) => r.outcome))];',
      'console.log(JSON.stringify({ script: String(probeWorkerScript().url), n: results.length, outcomes }));',
    ].join('\n');
    const result = await runAsUser(['--input-type=module', '-e', probe]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      script: pathToFileURL(join(app, 'dist', 'probe', 'worker.cjs')).href,
      n: 40,
      outcomes: ['refused'],
    });
  });

  it('spreads `sockeye probe --threads 2` over a worker thread that the bundle finds', async () => {
    const closed = await freePort();
    const targets = Array.from({ length: 40 }, () => `127.0.0.1:${closed}`);
    const { result, files } = await loadsOf(['probe', '-o', 'json', '--threads', '2', ...targets]);
    expect(JSON.parse(result.stdout).summary).toMatchObject({ total: 40, refused: 40 });
    expect(result.code).toBe(1);
    // The worker thread ran the worker's bundle, found from the CLI's chunks; nothing from tsc's dist/.
    expect(files).toContain('dist/probe/worker.cjs');
    expect(files.filter((f) => !f.startsWith('dist/bundle/') && f !== 'bin/sockeye.js')).toEqual([
      'dist/probe/worker.cjs',
    ]);
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
  });

  it('cannot write to its own tree', async () => {
    const write = `require('node:fs').writeFileSync(${JSON.stringify(join(app, 'bin', 'x'))}, '')`;
    const result = await runAsUser(['-e', write]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/EACCES/);
  });
});

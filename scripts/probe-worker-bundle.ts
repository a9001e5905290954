// The probe engine's worker thread as one CommonJS file (esbuild): `npm run build` writes it to
// dist/probe/worker.cjs, where src/probe/worker-script.ts finds it; the kubectl plugin's single
// executable (build-plugin.ts) carries the same text inside. A worker loads one file instead of the
// engine's fifteen modules: in `npm run bench:probe` set (a) the run took 0.240 s instead of 0.250 s and
// 0.415 s of CPU instead of 0.435 s (README "Probe engine").
//
//   node scripts/probe-worker-bundle.ts [OUT]      (default dist/probe/worker.cjs)
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin, stop } from 'esbuild';

export const root = fileURLToPath(new URL('../', import.meta.url));

/**
 * src/probe/worker-script.ts, which names the file a probe worker thread runs (src/probe/parallel.ts),
 * replaced by `contents` in a bundle.
 */
export function workerScript(contents: string): Plugin {
  return {
    name: 'sockeye-probe-worker',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]probe[\\/]worker-script\.ts$/ }, () => ({ contents, loader: 'ts' }));
    },
  };
}

/** esbuild of one entry (given as source) into one CommonJS text, with no warning allowed. */
export async function bundleText(entry: string, sourcefile: string, plugins: Plugin[]): Promise<string> {
  const result = await build({
    stdin: { contents: entry, resolveDir: root, sourcefile, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    write: false,
    plugins,
    logLevel: 'silent',
  });
  // Any warning (import.meta left empty, a require esbuild could not follow) would break at run time.
  if (result.warnings.length > 0 || result.errors.length > 0) {
    throw new Error(
      `esbuild: ${[...result.errors, ...result.warnings].map((m) => `${m.location?.file ?? ''}: ${m.text}`).join('; ')}`,
    );
  }
  const [output] = result.outputFiles;
  if (!output) throw new Error(`esbuild gave no output for ${sourcefile}`);
  return output.text;
}

/** The worker's bundle: src/probe/engine.ts, which serves its share when it is a worker's entry. */
export function probeWorkerBundle(): Promise<string> {
  return bundleText("import './src/probe/engine.ts';", 'probe-worker.ts', [
    // A worker never starts workers of its own.
    workerScript(
      "export function probeWorkerScript(): never { throw new Error('a probe worker starts no workers'); }\n",
    ),
  ]);
}

/** Writes the worker's bundle to `file`, and stops esbuild's service process (nothing is left running). */
export async function writeProbeWorkerBundle(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  try {
    await writeFile(file, await probeWorkerBundle());
  } finally {
    await stop();
  }
}

if (import.meta.main)
  await writeProbeWorkerBundle(process.argv[2] ?? join(root, 'dist', 'probe', 'worker.cjs'));

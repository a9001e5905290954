// What an installed sockeye runs, bundled by esbuild. `npm run build` writes them beside tsc's output;
// the image and bin/sockeye.js run them, and the kubectl plugin's single executable (build-plugin.ts)
// makes its own one-file bundle with the same plugins:
//
//   dist/bundle/sockeye.mjs  the CLI with its dependencies, as ES modules split by mode: a run loads
//   dist/bundle/*.mjs        its mode's chunks (the operator: ~3.5 MB of code in ~15 files) instead of
//                            ~900 modules one by one: `sockeye probe HOST:PORT` runs in ~140 ms
//                            instead of ~230, the operator's heap is ~9 MiB smaller (README "The
//                            bundle").
//   dist/bundle/*.mjs.map    source maps, read only under `node --enable-source-maps`.
//   dist/probe/worker.cjs    the probe engine's worker thread (src/probe/worker-script.ts finds it).
//
// Whitespace and syntax are minified (the source text is most of what loaded code keeps in the heap);
// names are not, so a stack trace still names its functions.
//
//   node scripts/bundle.ts [DIST]      (default dist/)
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Plugin, stop } from 'esbuild';
import { leanSource } from '../src/kube/lean-client-node.ts';

export const root = fileURLToPath(new URL('../', import.meta.url));

/**
 * src/probe/worker-script.ts, which names the file a probe worker thread runs (src/probe/parallel.ts),
 * replaced by `contents` in a bundle.
 */
function workerScript(contents: string): Plugin {
  return {
    name: 'sockeye-probe-worker',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]probe[\\/]worker-script\.ts$/ }, () => ({ contents, loader: 'ts' }));
    },
  };
}

/** src/version.ts, replaced in a bundle by the version it would have read from package.json. */
function versionConstant(version: string): Plugin {
  return {
    name: 'sockeye-version',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, () => ({
        contents: `export function version(): string { return ${JSON.stringify(version)}; }\n`,
        loader: 'ts',
      }));
    },
  };
}

/**
 * client-node's whole generated API left out of a bundle, as src/kube/lean-client-node.ts leaves it
 * out of a run from tsc's dist/: the same two imports get the same small modules.
 */
const leanClientNode: Plugin = {
  name: 'sockeye-lean-client-node',
  setup(b) {
    // The substitution is made here, so the runtime hook (registerHooks) would only slow every
    // import and require of the bundle down: src/kube/lean-client-node.ts becomes a no-op.
    b.onLoad({ filter: /[\\/]src[\\/]kube[\\/]lean-client-node\.ts$/ }, () => ({
      contents: 'export function useLeanClientNode(): void {}\n',
      loader: 'ts',
    }));
    b.onResolve({ filter: /^\.\/(gen\/index|serializer)\.js$/ }, (args) => {
      const contents = leanSource(args.path, args.importer);
      return contents === undefined
        ? undefined
        : {
            path: `${args.importer}:${args.path}`,
            namespace: 'sockeye-lean',
            pluginData: { contents, resolveDir: args.resolveDir },
          };
    });
    b.onLoad({ filter: /.*/, namespace: 'sockeye-lean' }, (args) => ({
      ...(args.pluginData as { contents: string; resolveDir: string }),
      loader: 'js',
    }));
  },
};

/**
 * The plugins of a bundle of the CLI: client-node without its generated API, the version as a
 * constant, and `worker` (source) in place of src/probe/worker-script.ts.
 */
export function cliPlugins(version: string, worker: string): Plugin[] {
  return [leanClientNode, versionConstant(version), workerScript(worker)];
}

/** esbuild's settings for every bundle of sockeye. */
const COMMON = { bundle: true, platform: 'node', target: 'node22', logLevel: 'silent' } as const;

/** Any esbuild warning (import.meta left empty, a require it could not follow) would break at run time. */
function mustBeClean(result: { readonly warnings: Message[]; readonly errors: Message[] }): void {
  if (result.warnings.length > 0 || result.errors.length > 0) {
    throw new Error(
      `esbuild: ${[...result.errors, ...result.warnings].map((m) => `${m.location?.file ?? ''}: ${m.text}`).join('; ')}`,
    );
  }
}

/** esbuild of one entry (given as source) into one CommonJS text. */
export async function bundleText(entry: string, sourcefile: string, plugins: Plugin[]): Promise<string> {
  const result = await build({
    ...COMMON,
    stdin: { contents: entry, resolveDir: root, sourcefile, loader: 'ts' },
    format: 'cjs',
    write: false,
    plugins,
  });
  mustBeClean(result);
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

/** This checkout's release, from package.json. */
export async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** dist/bundle/ finds the worker's bundle at dist/probe/worker.cjs. */
const WORKER_BESIDE_BUNDLE =
  "export function probeWorkerScript(): { readonly url: URL } { return { url: new URL('../probe/worker.cjs', import.meta.url) }; }\n";

/** The CLI's entry: dist/bundle/sockeye.mjs exports `main` (src/bin/sockeye.ts). */
const CLI: Readonly<Record<string, string>> = { sockeye: join(root, 'src', 'bin', 'sockeye.ts') };

/** `entries` (output name → source) and what they import, split into shared chunks in `dir` (emptied first). */
async function writeEsmBundle(entries: Readonly<Record<string, string>>, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  const result = await build({
    ...COMMON,
    entryPoints: { ...entries },
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    format: 'esm',
    splitting: true,
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    // The CommonJS dependencies (express, pino, …) require Node's built-ins; an ES module has no
    // `require` of its own.
    banner: {
      js: "import { createRequire as __sockeyeRequire } from 'node:module'; const require = __sockeyeRequire(import.meta.url);",
    },
    plugins: cliPlugins(await packageVersion(), WORKER_BESIDE_BUNDLE),
  });
  mustBeClean(result);
}

/** Writes text files, making their folders. */
async function writeFiles(files: Readonly<Record<string, string>>): Promise<void> {
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
  }
}

/**
 * Writes every bundle into `dist` (the layout above), and stops esbuild's service process. `entries`
 * replaces the CLI's entry (the probe bench bundles its own, which imports the engine).
 */
export async function writeBundles(dist: string, entries = CLI): Promise<void> {
  try {
    await writeFiles({ [join(dist, 'probe', 'worker.cjs')]: await probeWorkerBundle() });
    await writeEsmBundle(entries, join(dist, 'bundle'));
  } finally {
    await stop();
  }
}

if (import.meta.main) await writeBundles(process.argv[2] ?? join(root, 'dist'));

/**
 * `npm run build:plugin [-- --base-url URL] [--force]`: `kubectl-sockeye` as one executable per
 * platform that needs no Node.js on the machine (Node's single executable applications, SEA), the
 * krew archives and the krew manifest, under build/plugin/:
 *
 *   bundle.cjs                            every source and dependency in one CommonJS file (esbuild),
 *                                         with the probe worker thread's own bundle inside as text
 *   sea-prep.blob                         that file as Node's SEA blob
 *   linux_amd64/kubectl-sockeye           the Node 24 binary of each platform with the blob injected
 *   linux_arm64/kubectl-sockeye             (postject), from the npm registry's node-linux-<arch>
 *   kubectl-sockeye_linux_<arch>.tar.gz   the binary (and LICENSE, if the repository has one)
 *   sockeye.yaml                          the krew manifest: one platform per archive, with its sha256
 *
 * Why a bundle: a SEA runs one CommonJS script and can `require` only Node's built-in modules. The lazy
 * `import()`s of src/cli/commands.ts are literal paths, so esbuild bundles them too. It has the
 * plugins of the image's bundle (scripts/bundle.ts): client-node without its generated API, and the
 * version as a constant (src/version.ts reads package.json, which is not there in a SEA). The blob
 * has no V8 code cache or snapshot, so one blob serves both architectures (Node's docs: required
 * when the blob is made on another platform than it runs on).
 *
 * The build is skipped when build/plugin/ already holds the outputs of the same inputs (sources,
 * lockfile, Node version, this script, the base URL); `--force` rebuilds.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { stringify } from 'yaml';
import { cacheDir } from '../cluster/binaries.ts';
import { bundleText, cliPlugins, packageVersion, probeWorkerBundle, root } from './bundle.ts';
import {
  archiveName,
  type BuiltArchive,
  defaultBaseUrl,
  krewManifest,
  PLUGIN_BIN,
  PLUGIN_TARGETS,
  type PluginTarget,
} from './krew-manifest.ts';

const run = promisify(execFile);
export const outDir = join(root, 'build', 'plugin');
/** Node's SEA fuse: the sentinel postject flips so the binary runs the injected blob. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const log = (line: string) => process.stderr.write(`build:plugin: ${line}\n`);

/** The Node version of every binary: the one scripts/ensure-node.sh pins (one place to bump it). */
export async function pinnedNodeVersion(): Promise<string> {
  const script = await readFile(join(root, 'scripts', 'ensure-node.sh'), 'utf8');
  const version = /SOCKEYE_NODE_VERSION:-(\d+\.\d+\.\d+)/.exec(script)?.[1];
  if (!version) throw new Error('scripts/ensure-node.sh does not pin SOCKEYE_NODE_VERSION');
  return version;
}

/** Node's binary for `arch`, from the npm registry's node-linux-<arch>, cached as ensure-node.sh does. */
async function nodeBinary(version: string, arch: PluginTarget['nodeArch']): Promise<string> {
  const dir = join(cacheDir(), 'node', `${version}-${arch}`);
  const binary = join(dir, 'bin', 'node');
  if (existsSync(binary)) return binary;
  log(`fetching node-linux-${arch}@${version} from the npm registry into ${dir}`);
  const tmp = await mkdtemp(join(tmpdir(), 'sockeye-node-'));
  try {
    await run('npm', ['pack', '--silent', `node-linux-${arch}@${version}`], { cwd: tmp });
    const [tgz] = (await readdir(tmp)).filter((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack node-linux-${arch}@${version} gave no archive`);
    await run('tar', ['xzf', tgz], { cwd: tmp });
    await mkdir(dir, { recursive: true });
    await run('cp', ['-r', `${join(tmp, 'package')}/.`, `${dir}/`]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  if (!existsSync(binary)) throw new Error(`node-linux-${arch}@${version} has no bin/node`);
  return binary;
}

async function bundle(version: string, file: string): Promise<void> {
  // In a SEA there is no file for a probe worker to load: the main bundle gets the worker's own
  // bundle as source text, run with `eval` (src/probe/worker-script.ts).
  const worker = await probeWorkerBundle();
  const main = await bundleText(
    // bin/sockeye.js without the top-level await, which CommonJS cannot have.
    [
      "import { main } from './src/bin/sockeye.ts';",
      'main(process.argv.slice(2)).then((code) => { process.exitCode = code; });',
    ].join('\n'),
    'sea-entry.ts',
    cliPlugins(
      version,
      `export function probeWorkerScript(): { readonly source: string } { return { source: ${JSON.stringify(worker)} }; }\n`,
    ),
  );
  await writeFile(file, main);
}

const sha256File = async (file: string): Promise<string> => {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
};

/** Every input of the build, hashed: the cache key of build/plugin/. */
async function inputsHash(nodeVersion: string, baseUrl: string): Promise<string> {
  const hash = createHash('sha256').update(`${nodeVersion}\n${baseUrl}\n`);
  const src = (await readdir(join(root, 'src'), { recursive: true }))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort();
  const files = [
    'package.json',
    'package-lock.json',
    'scripts/build-plugin.ts',
    'scripts/bundle.ts',
    'scripts/krew-manifest.ts',
    ...src.map((f) => `src/${f}`),
  ];
  for (const f of files) hash.update(`${f}\n`).update(await readFile(join(root, f)));
  if (existsSync(join(root, 'LICENSE'))) hash.update(await readFile(join(root, 'LICENSE')));
  return hash.digest('hex');
}

/** A tar.gz of `files` in `dir` with fixed owners, order and times, so a rebuild gives the same digest. */
async function archive(dir: string, files: readonly string[], epoch: number, out: string): Promise<void> {
  const tar = `${out}.tar`;
  await run('tar', [
    '--format=ustar',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    `--mtime=@${epoch}`,
    '-cf',
    tar,
    '-C',
    dir,
    ...files,
  ]);
  await pipeline(createReadStream(tar), createGzip({ level: 9 }), createWriteStream(out));
  await rm(tar);
}

async function sourceDateEpoch(): Promise<number> {
  const fromEnv = process.env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv)) return Number(fromEnv);
  const { stdout } = await run('git', ['log', '-1', '--format=%ct'], { cwd: root }).catch(() => ({
    stdout: '0',
  }));
  return Number(stdout.trim()) || 0;
}

export interface PluginBuild {
  readonly dir: string;
  readonly manifest: string;
  readonly binaries: Readonly<Record<PluginTarget['goArch'], string>>;
  readonly archives: Readonly<Record<PluginTarget['goArch'], string>>;
  readonly cached: boolean;
}

export async function buildPlugin(options: { baseUrl?: string; force?: boolean } = {}): Promise<PluginBuild> {
  const version = await packageVersion();
  const nodeVersion = await pinnedNodeVersion();
  const baseUrl = options.baseUrl ?? defaultBaseUrl(version);
  const binaries = Object.fromEntries(
    PLUGIN_TARGETS.map((t) => [t.goArch, join(outDir, `linux_${t.goArch}`, PLUGIN_BIN)]),
  ) as Record<PluginTarget['goArch'], string>;
  const archives = Object.fromEntries(
    PLUGIN_TARGETS.map((t) => [t.goArch, join(outDir, archiveName(t))]),
  ) as Record<PluginTarget['goArch'], string>;
  const manifest = join(outDir, 'sockeye.yaml');
  const result = { dir: outDir, manifest, binaries, archives };

  const key = await inputsHash(nodeVersion, baseUrl);
  const stamp = join(outDir, '.inputs.sha256');
  const outputs = [manifest, ...Object.values(binaries), ...Object.values(archives)];
  if (
    !options.force &&
    existsSync(stamp) &&
    (await readFile(stamp, 'utf8')) === key &&
    outputs.every((f) => existsSync(f))
  ) {
    log(`up to date in ${outDir} (--force rebuilds)`);
    return { ...result, cached: true };
  }

  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const bundleFile = join(outDir, 'bundle.cjs');
  log(`bundling src/bin/sockeye.ts (sockeye ${version}) into ${bundleFile}`);
  await bundle(version, bundleFile);

  // The blob is made by the same Node version it is injected into (its format is that version's).
  const hostArch = PLUGIN_TARGETS.find((t) => t.nodeArch === process.arch);
  if (!hostArch)
    throw new Error(`cannot make the SEA blob on ${process.arch}: no Node ${nodeVersion} runs here`);
  const blob = join(outDir, 'sea-prep.blob');
  const seaConfig = join(outDir, 'sea-config.json');
  await writeFile(
    seaConfig,
    JSON.stringify({
      main: bundleFile,
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: false,
    }),
  );
  await run(await nodeBinary(nodeVersion, hostArch.nodeArch), ['--experimental-sea-config', seaConfig]);

  const epoch = await sourceDateEpoch();
  const license = existsSync(join(root, 'LICENSE')) ? ['LICENSE'] : [];
  const built: BuiltArchive[] = [];
  for (const target of PLUGIN_TARGETS) {
    const binary = binaries[target.goArch];
    const dir = join(outDir, `linux_${target.goArch}`);
    await mkdir(dir, { recursive: true });
    await copyFile(await nodeBinary(nodeVersion, target.nodeArch), binary);
    await chmod(binary, 0o755);
    log(`injecting the blob into Node ${nodeVersion} linux-${target.nodeArch}: ${binary}`);
    await run(
      process.execPath,
      [
        join(root, 'node_modules', 'postject', 'dist', 'cli.js'),
        binary,
        'NODE_SEA_BLOB',
        blob,
        '--sentinel-fuse',
        SEA_FUSE,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    for (const f of license) await copyFile(join(root, f), join(dir, f));
    const files = [PLUGIN_BIN, ...license];
    await archive(dir, files, epoch, archives[target.goArch]);
    built.push({ target, sha256: await sha256File(archives[target.goArch]), files });
    log(`${archives[target.goArch]}`);
  }
  await writeFile(manifest, stringify(krewManifest({ version, baseUrl, archives: built }), { lineWidth: 0 }));
  await writeFile(stamp, key);
  log(`krew manifest: ${manifest}`);
  return { ...result, cached: false };
}

function parseArgs(argv: readonly string[]): { baseUrl?: string; force?: boolean } {
  const options: { baseUrl?: string; force?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--force') options.force = true;
    else if (arg === '--base-url' && argv[i + 1]) options.baseUrl = argv[++i] as string;
    else if (arg?.startsWith('--base-url=')) options.baseUrl = arg.slice('--base-url='.length);
    else throw new Error(`build:plugin: unknown argument ${arg}; usage: [--base-url URL] [--force]`);
  }
  return options;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = await buildPlugin(parseArgs(process.argv.slice(2)));
  process.stdout.write(`${[...Object.values(built.archives), built.manifest].join('\n')}\n`);
}

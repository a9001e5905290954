// The operator bench measures sockeye as the image runs it: the bundle `npm run build` writes
// (scripts/bundle.ts), started by bin/sockeye.js. A checkout's bin/sockeye.js runs src/ with Node's
// type stripping instead, which loads a WebAssembly TypeScript stripper and keeps each module's
// TypeScript text: ~30 MB more RSS and slower module loading than an installed sockeye, measured
// against the chart's memory limit.
import { copyFile, mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeBundles } from '../scripts/bundle.ts';

const root = join(import.meta.dirname, '..');

/**
 * Bundles src/ as `npm run build` does into `dir` in the image's layout (dir/dist, dir/bin,
 * package.json, node_modules linked) and returns dir/bin/sockeye.js: never a stale dist/ of the
 * checkout, and no src/ beside it, so the launcher takes dist/bundle/ as it does in the image. (tsc's
 * output, which the image also holds, is left out: the launcher never loads it beside the bundle.)
 */
export async function compiledSockeye(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await writeBundles(join(dir, 'dist'));
  await mkdir(join(dir, 'bin'), { recursive: true });
  await copyFile(join(root, 'bin', 'sockeye.js'), join(dir, 'bin', 'sockeye.js'));
  await copyFile(join(root, 'package.json'), join(dir, 'package.json'));
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return join(dir, 'bin', 'sockeye.js');
}

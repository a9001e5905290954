import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where a probe worker's code is (parallel.ts). Compiled (dist/): the worker's own bundle, worker.cjs,
 * which `npm run build` writes beside engine.js (scripts/bundle.ts: one file to load, not the engine's
 * modules one by one), else engine.js itself, which serves a share when it is a worker's entry. From
 * the sources: engine.ts. The CLI's bundles (scripts/bundle.ts) replace this module: dist/bundle/ with
 * the path of worker.cjs, the single executable (scripts/build-plugin.ts) with its source text.
 */
export function probeWorkerScript(): { readonly url: URL } | { readonly source: string } {
  if (!import.meta.url.endsWith('.js')) return { url: new URL('./engine.ts', import.meta.url) };
  const bundle = new URL('./worker.cjs', import.meta.url);
  return { url: existsSync(fileURLToPath(bundle)) ? bundle : new URL('./engine.js', import.meta.url) };
}

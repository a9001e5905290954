/**
 * Where a probe worker's code is (parallel.ts): engine.ts itself, which serves a share when it is a
 * worker's entry; engine.js when compiled (dist/). The single-executable bundle
 * (scripts/build-plugin.ts) replaces this module with the worker's own bundle, as source text.
 */
export function probeWorkerScript(): { readonly url: URL } | { readonly source: string } {
  const compiled = import.meta.url.endsWith('.js');
  return { url: new URL(compiled ? './engine.js' : './engine.ts', import.meta.url) };
}

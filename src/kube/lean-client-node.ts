/**
 * Loads only the parts of @kubernetes/client-node that sockeye runs, not its whole generated API.
 *
 * client-node's `KubeConfig` (dist/config.js) imports the package's generated index for two names
 * (`createConfiguration`, `ServerConfiguration`, used by `makeApiClient` only), and that index
 * imports every API group and model: ~17 MB of source text kept in the heap, ~6 MB of compiled code
 * and ~80 MB of RSS before the operator has done anything. `ListWatch` (dist/cache.js) imports the
 * model serializer (every model class) only to pass its label and field selectors through as strings.
 *
 * A resolve hook (node:module `registerHooks`, in-thread) sends those two imports to small modules
 * (data: URLs) that give the same names from the files that define them (the same module instances the full
 * index would give, so `makeApiClient` still works wherever the index is loaded anyway). Everything
 * else resolves as usual. The bundle that an installed sockeye runs (scripts/bundle.ts) makes the
 * same substitution when it is built. sockeye's own code imports client-node's files directly
 * (`dist/config.js`, `dist/watch.js`, …) or its types only; `test/structure/lean-client-node.test.ts`
 * fails when the operator's entry loads the generated index or API surface again.
 */
import { registerHooks } from 'node:module';

const DIST = '/node_modules/@kubernetes/client-node/dist/';

/**
 * `from` (a client-node file, relative to dist/) importing `specifier` → the source of the module to
 * load instead, given the URL of client-node's dist/ folder.
 */
const REDIRECTS: Readonly<Record<string, Readonly<Record<string, (dist: string) => string>>>> = {
  // What config.js uses of the generated index (makeApiClient), from the files that define it.
  'config.js': {
    './gen/index.js': (dist) =>
      `export { createConfiguration } from '${dist}gen/configuration.js';\n` +
      `export { ServerConfiguration } from '${dist}gen/servers.js';\n`,
  },
  // What cache.js (ListWatch) uses of the model serializer: serialize(selector, 'string'), which
  // gives a string back as it is.
  'cache.js': {
    './serializer.js': () =>
      'export const ObjectSerializer = { serialize(data, type) {\n' +
      "  if (type !== 'string') throw new TypeError('lean ObjectSerializer: cannot serialize a ' + type);\n" +
      '  return data;\n} };\n',
  },
};

/**
 * The source of the module to load instead of `specifier` imported from `parent` (a file URL, or a
 * path when esbuild bundles sockeye: scripts/bundle.ts), if it is one of the above.
 */
export function leanSource(specifier: string, parent: string | undefined): string | undefined {
  const at = parent?.lastIndexOf(DIST) ?? -1;
  if (parent === undefined || at < 0) return undefined;
  return REDIRECTS[parent.slice(at + DIST.length)]?.[specifier]?.(parent.slice(0, at + DIST.length));
}

/** The module (a data: URL) to load instead of `specifier` imported from `parentURL`, if it is one of the above. */
export function leanRedirect(specifier: string, parentURL: string | undefined): string | undefined {
  const source = leanSource(specifier, parentURL);
  return source && `data:text/javascript,${encodeURIComponent(source)}`;
}

let registered = false;

/** Installs the hook once per process; modules imported after it load lean. */
export function useLeanClientNode(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const lean = leanRedirect(specifier, context.parentURL);
      return lean === undefined ? nextResolve(specifier, context) : { url: lean, shortCircuit: true };
    },
  });
}

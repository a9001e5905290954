import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { leanRedirect } from '../../src/kube/lean-client-node.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const DIST = 'node_modules/@kubernetes/client-node/dist/';

/**
 * Runs `sockeye ARGS` in a child process and returns every module URL it loaded (a load hook
 * preloaded with --import records them).
 */
async function modulesLoadedBy(args: readonly string[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'sockeye-modules-'));
  try {
    const out = join(dir, 'loaded.txt');
    const recorder = `data:text/javascript,${encodeURIComponent(`
      import { registerHooks } from 'node:module';
      import { writeFileSync } from 'node:fs';
      const seen = [];
      registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
      process.on('exit', () => writeFileSync(${JSON.stringify(out)}, seen.join('\\n')));
    `)}`;
    await promisify(execFile)(
      process.execPath,
      ['--import', recorder, join(root, 'bin/sockeye.js'), ...args],
      {
        cwd: root,
      },
    );
    return (await readFile(out, 'utf8')).split('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("the operator's entry loads only the parts of client-node it runs", () => {
  it('loads KubeConfig, Watch and ListWatch, but not the generated index, API classes or models', async () => {
    const loaded = await modulesLoadedBy(['operator', '--help']);
    const clientNode = loaded
      .filter((u) => u.includes(DIST))
      .map((u) => u.slice(u.indexOf(DIST) + DIST.length));
    // It does load what it runs (else this test would pass for a process that loaded nothing).
    expect(clientNode).toEqual(expect.arrayContaining(['config.js', 'watch.js', 'cache.js']));
    const heavy = clientNode.filter(
      (f) =>
        f === 'index.js' ||
        f === 'api.js' ||
        f === 'gen/index.js' ||
        (f.startsWith('gen/apis/') && f !== 'gen/apis/exception.js') ||
        f.startsWith('gen/types/') ||
        f.startsWith('gen/models/'),
    );
    expect(heavy).toEqual([]);
  });

  it('redirects only the two imports it replaces', () => {
    const dist = `file://${root}${DIST}`;
    const index = decodeURIComponent(leanRedirect('./gen/index.js', `${dist}config.js`) ?? '');
    expect(index).toContain(`export { createConfiguration } from '${dist}gen/configuration.js'`);
    const serializer = decodeURIComponent(leanRedirect('./serializer.js', `${dist}cache.js`) ?? '');
    expect(serializer).toMatch(/^data:text\/javascript,export const ObjectSerializer/);
    expect(leanRedirect('./gen/index.js', `${dist}api.js`)).toBeUndefined();
    expect(leanRedirect('./serializer.js', `${dist}object.js`)).toBeUndefined();
    expect(leanRedirect('./gen/index.js', undefined)).toBeUndefined();
  });
});

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { leftovers } from '../../cluster/simulator/network.ts';

const exec = promisify(execFile);
const demo = new URL('../../scripts/demo.ts', import.meta.url).pathname;

/**
 * `npm run demo` whose cluster start fails half-way (issue 12): the control plane and network come
 * up, then the simulator's node refuses its options. The demo says `stopping` once (the start's own
 * clean-up), does not tear down a second time, exits non-zero without a stack trace, and leaves no
 * process, namespace, link, route, nft table or directory behind.
 */
describe('npm run demo with a start that fails half-way', () => {
  it('says stopping once, exits non-zero and leaves nothing behind', async () => {
    const result = await exec(process.execPath, [demo], {
      timeout: 300_000,
      env: { ...process.env, SOCKEYE_SIM_NODE_ARGS: '--no-such-node-option' },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({
        code: err.code ?? -1,
        stdout: err.stdout ?? '',
        stderr: err.stderr ?? '',
      }),
    );
    const dir = /\(logs in (\/\S+)\)/.exec(result.stderr)?.[1] ?? '';
    try {
      expect(result.code, result.stderr).toBe(1);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines.at(-1)).toMatch(/^demo: the pod simulator exited; see \/\S+\/simulator\.log$/);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      const stopping = lines.filter((l) => l.startsWith('demo: cluster: stopping'));
      expect(stopping).toHaveLength(1);
      // The start removed what it started: the demo's own teardown has nothing left to say.
      expect(lines.filter((l) => l.includes('tearing down'))).toEqual([]);
      expect(result.stdout).toBe('');

      const id = /cluster: stopping (\w+)/.exec(stopping[0] ?? '')?.[1] ?? '';
      expect(id).toMatch(/^[0-9a-f]{5}$/);
      const range = /nodes in ([\d./]+)\)/.exec(result.stderr)?.[1] ?? '';
      expect(range).toMatch(/^198\.1[89]\./);
      expect(await leftovers(id, range)).toEqual([]);
      expect(dir).toMatch(/sockeye-demo-/);
      expect(existsSync(dir)).toBe(false);
      // No process of that cluster (they all name its directory on their command lines) is left.
      const ps = await exec('ps', ['-eo', 'args']);
      expect(ps.stdout.split('\n').filter((l) => l.includes(dir))).toEqual([]);
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  });
});

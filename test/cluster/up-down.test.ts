import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { clusterAddressPlan, contains, parseCidr } from '../../cluster/addresses.ts';
import { binaryPath } from '../../cluster/binaries.ts';
import { isAlive } from '../../cluster/exec.ts';
import type { LocalClusterState } from '../../cluster/local.ts';
import { leftovers } from '../../cluster/simulator/network.ts';

const exec = promisify(execFile);
const cli = new URL('../../cluster/cli.ts', import.meta.url).pathname;

/** Drives `npm run cluster -- up|status|down` as a user does, with its own state dir and pod range. */
describe('npm run cluster -- up, status, down', () => {
  let dir = '';
  let cidr = '';
  const run = (...args: string[]) =>
    exec(process.execPath, [cli, ...args, '--dir', dir], { timeout: 300_000 });

  afterAll(async () => {
    if (!dir) return;
    await run('down').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('starts a cluster whose kubectl shows the pod addresses, and stops leaving nothing behind', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sockeye-updown-'));
    const up = await run('up', '--cidr', 'auto', '--nodes', '1');
    const lastLine = up.stdout.trim().split('\n').at(-1) ?? '';
    expect(lastLine).toMatch(/^export KUBECONFIG=\/.+\/kubeconfig$/);
    const kubeconfig = lastLine.replace('export KUBECONFIG=', '');
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as LocalClusterState;
    cidr = state.cidr;
    expect(Object.values(state.pids).every(isAlive)).toBe(true);

    const kubectl = (...args: string[]) => exec(binaryPath('kubectl'), ['--kubeconfig', kubeconfig, ...args]);
    await kubectl('create', 'namespace', 'demo');
    await kubectl(
      '-n',
      'demo',
      'run',
      'echo',
      '--image=echo',
      '--labels=app=echo',
      '--annotations=sim.sockeye.dev/listen=80',
    );
    await kubectl('-n', 'demo', 'expose', 'pod', 'echo', '--port=80');
    let shown = '';
    for (let i = 0; i < 150 && !/198\.1[89]\.\d+\.\d+/.test(shown); i++) {
      shown = (await kubectl('get', 'endpointslices', '-A')).stdout;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(shown).toMatch(/demo\s+echo-\w+\s+IPv4\s+80\s+198\.1[89]\.\d+\.\d+/);

    // Beside the suite's own cluster, this one has a Service range and pool of its own, and a
    // kube-proxy in each node namespace (its command line names the namespace).
    const plan = clusterAddressPlan(parseCidr(cidr));
    const clusterIP = (await kubectl('get', 'service', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'))
      .stdout;
    expect(contains(plan.services, clusterIP)).toBe(true);
    const suite = inject('localCluster');
    if (suite) {
      const other = clusterAddressPlan(parseCidr(suite.cidr));
      for (const [a, b] of [
        [plan.services, other.services],
        [plan.lb.pool, other.lb.pool],
      ] as const)
        expect(a.base + a.size <= b.base || b.base + b.size <= a.base).toBe(true);
    }
    const ps = await exec('ps', ['-eo', 'args']);
    expect(ps.stdout).toMatch(new RegExp(`kube-proxy .*sockeye-${state.id}-n0\\.kubeconfig`));

    const status = await run('status');
    expect(status.stdout).toContain('simulator: running');

    await run('down');
    expect(Object.values(state.pids).some(isAlive)).toBe(false);
    expect(await leftovers(state.id, cidr)).toEqual([]);
    await expect(run('status')).rejects.toMatchObject({ stdout: expect.stringContaining('no cluster') });
  });

  it('a start that fails half-way removes what it started and says each step once', async () => {
    const failDir = await mkdtemp(join(tmpdir(), 'sockeye-updown-fail-'));
    try {
      // The control plane and network come up, then the simulator's node refuses its options.
      const failed = await exec(
        process.execPath,
        [cli, 'up', '--cidr', 'auto', '--nodes', '1', '--dir', failDir],
        {
          timeout: 300_000,
          env: { ...process.env, SOCKEYE_SIM_NODE_ARGS: '--no-such-node-option' },
        },
      ).then(
        () => ({ stderr: '', failed: false }),
        (err: { stderr: string }) => ({ stderr: err.stderr, failed: true }),
      );
      expect(failed.failed).toBe(true);
      expect(failed.stderr).toContain('the pod simulator exited');
      const stopping = failed.stderr.split('\n').filter((l) => l.startsWith('cluster: stopping'));
      expect(stopping).toHaveLength(1);
      const id = /cluster: stopping (\w+)/.exec(stopping[0] ?? '')?.[1] ?? '';
      expect(id).toMatch(/^[0-9a-f]{5}$/);
      expect(existsSync(join(failDir, 'state.json'))).toBe(false);
      const range = /nodes in ([\d./]+)\)/.exec(failed.stderr)?.[1] ?? '';
      expect(range).toMatch(/^198\.1[89]\./);
      expect(await leftovers(id, range)).toEqual([]);
      // No process of that cluster (they all name its directory on their command lines) is left.
      const ps = await exec('ps', ['-eo', 'args']);
      expect(ps.stdout.split('\n').filter((l) => l.includes(failDir))).toEqual([]);
    } finally {
      await exec(process.execPath, [cli, 'down', '--dir', failDir]).catch(() => undefined);
      await rm(failDir, { recursive: true, force: true });
    }
  });
});

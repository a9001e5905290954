import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { BINARIES, ensureBinaries } from '../../cluster/binaries.ts';
import { TEST_RANGES } from '../../cluster/local.ts';
import { selectProvider } from '../../cluster/providers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    clusterProvider: string;
    /** Set for the local simulated cluster: its state directory, id and pod range. */
    localCluster: { dir: string; id: string; cidr: string } | null;
  }
}

/**
 * One cluster for the whole integration suite, after every binary the suite needs is there. The local provider (default) takes a free test pod
 * range, so it never collides with `npm run cluster -- up` or another test run on the same machine.
 * The returned teardown runs even when tests fail.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Every upstream binary any test uses (helm and kubectl too, not only the cluster's) is built here,
  // before the first test runs: no test may race a build.
  await ensureBinaries(BINARIES);
  const dir = await mkdtemp(join(tmpdir(), 'sockeye-it-'));
  const provider = await selectProvider(process.env.SOCKEYE_TEST_CLUSTER ?? 'local');
  const cluster = await provider.start({ dir, cidr: TEST_RANGES, nodes: 3 });
  project.provide('kubeconfig', cluster.kubeconfig);
  project.provide('clusterProvider', provider.name);
  project.provide('localCluster', cluster.local ?? null);
  return async () => {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  };
}

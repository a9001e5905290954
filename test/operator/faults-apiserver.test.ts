import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isAlive } from '../../cluster/exec.ts';
import { readState, restartApiServer } from '../../cluster/local.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  patchPodAnnotations,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { CuttableProxy, viaProxy } from '../support/proxy.ts';
import {
  annotationsWhen,
  eventFor,
  listEvents,
  type OperatorProcess,
  podIPs,
  running,
  servicesWithPods,
  showingLogOnFailure,
  slicesCaughtUp,
  spawnOperator,
  stopOperatorProcess,
} from './support.ts';

/**
 * The API server going away under a running `sockeye operator` process: restarted (local cluster
 * only), its connections reset (a dropped watch, through a TCP proxy in front of it) or silent (a
 * peer that died without a reset). Either way
 * the same process must keep its caches current and go on probing and writing. A change the operator
 * can learn only through its watches (a new Service and pod) proves the watches came back; a backend
 * that stops listening proves probing and writing did.
 */

/**
 * Each test waits for five or six things in turn, each bounded by `eventually`; on a loaded 2-CPU CI
 * machine their sum once passed the project's 120 s test bound while every step was still progressing.
 */
const MULTI_STEP = 300_000;

/** The operator under test, as its own process on the suite's cluster (or `kubeconfig`'s proxy). */
function startOperatorProcess(namespace: string, kubeconfig: string): Promise<OperatorProcess> {
  return spawnOperator(
    [
      `--namespace=${namespace}`,
      '--no-leader-elect',
      '--interval=1s',
      '--timeout=500ms',
      '--confirmations=1',
      // Plain HTTP on one port, as the test reads it (secure serving: test/operator/secure-metrics.test.ts).
      '--no-metrics-secure',
      `--pod-name=sockeye-${namespace}`,
      '--pod-namespace=sockeye-system',
    ],
    // Info: a failure shows what the operator did (showingLogOnFailure), its informers' restarts among it.
    { KUBECONFIG: kubeconfig, SOCKEYE_LOG_LEVEL: 'info' },
  );
}

/** The scenario: `web` healthy, `pay` refusing; the operator has listed, probed and written both. */
async function applyAndConverge(kube: TestKube, ns: string): Promise<void> {
  await applyYaml(kube, `${servicesWithPods(['web'])}---${servicesWithPods(['pay'], true)}`, ns);
  await podIPs(kube, ns, 2);
  // Both pods in their slices before the operator starts: a Service judged before the endpointslice
  // controller caught up has no targets at first, and one summary per arrival after.
  await slicesCaughtUp(kube, ns);
}

async function converged(kube: TestKube, ns: string): Promise<void> {
  await annotationsWhen(kube, 'Service', ns, 'web', 'Healthy');
  await annotationsWhen(kube, 'Service', ns, 'pay', 'NoHealthyTargets');
  await eventFor(kube, ns, 'Service', 'pay', 'NoHealthyTargets');
}

/**
 * After the fault: a backend stops listening (probing and writing work), and a new refusing Service
 * appears (the watches work). Both are reported; the Warning from before the fault is not written again.
 */
async function changeAndExpectFindings(kube: TestKube, ns: string, late: string): Promise<void> {
  await patchPodAnnotations(kube, ns, 'web-1', { 'sim.sockeye.dev/listen': null });
  await applyYaml(kube, servicesWithPods([late], true), ns);
  const refused = await eventFor(kube, ns, 'Service', 'web', 'NoHealthyTargets');
  expect(refused.type).toBe('Warning');
  await annotationsWhen(kube, 'Service', ns, 'web', 'NoHealthyTargets');
  await eventFor(kube, ns, 'Service', late, 'NoHealthyTargets');
  await annotationsWhen(kube, 'Service', ns, late, 'NoHealthyTargets');
  const about = (name: string) =>
    listEvents(kube, ns).then((events) =>
      events.filter((e) => e.regarding?.name === name).map((e) => `${e.reason}`),
    );
  expect(await about('pay')).toEqual(['NoHealthyTargets']);
}

describe('sockeye operator: the kube-apiserver restarted under it', { timeout: MULTI_STEP }, () => {
  const local = inject('localCluster');
  let kube: TestKube;
  let op: OperatorProcess | undefined;
  const ns = uniqueNamespace('op-apirestart');

  beforeAll(async () => {
    if (!local) return;
    kube = testKube();
    await createNamespace(kube, ns);
    await applyAndConverge(kube, ns);
  });

  afterAll(async () => {
    await stopOperatorProcess(op);
    if (kube) await deleteNamespace(kube, ns);
  });

  it.skipIf(!local)('recovers and converges without restarting itself', async () => {
    const dir = local?.dir ?? '';
    const operator = await startOperatorProcess(ns, inject('kubeconfig'));
    op = operator;
    await showingLogOnFailure(operator, async () => {
      await converged(kube, ns);
      const pid = operator.child.pid;
      const before = (await readState(dir))?.pids.apiserver;
      try {
        await restartApiServer(dir);
      } finally {
        // Whatever happened, the other test files need an API server: start it if none runs.
        const state = await readState(dir);
        if (state && !isAlive(state.pids.apiserver)) await restartApiServer(dir);
      }
      expect((await readState(dir))?.pids.apiserver).not.toBe(before);
      await changeAndExpectFindings(kube, ns, 'late');
      expect(running(operator)).toBe(true);
      expect(operator.child.pid).toBe(pid);
      expect((await fetch(`http://127.0.0.1:${operator.port}/readyz`)).ok).toBe(true);
    });
  });
});

describe('sockeye operator: its watches dropped', { timeout: MULTI_STEP }, () => {
  let kube: TestKube;
  let op: OperatorProcess | undefined;
  let proxy: CuttableProxy | undefined;
  let tmp = '';
  const ns = uniqueNamespace('op-watchdrop');

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    await applyAndConverge(kube, ns);
    const server = new URL(kube.kc.getCurrentCluster()?.server ?? '');
    proxy = new CuttableProxy({ host: server.hostname, port: Number(server.port || 443) });
    await proxy.open();
    // The operator process talks to the API server only through the proxy (the serving certificate
    // names 127.0.0.1, so TLS does not mind the other port).
    tmp = await mkdtemp(join(tmpdir(), 'sockeye-watchdrop-'));
    const kubeconfig = join(tmp, 'kubeconfig');
    await writeFile(kubeconfig, viaProxy(kube.kc, proxy.port).exportConfig());
    op = await startOperatorProcess(ns, kubeconfig);
  });

  afterAll(async () => {
    await stopOperatorProcess(op);
    await proxy?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    if (kube) await deleteNamespace(kube, ns);
  });

  it('resumes its watches after their connections are reset, in the same process', async () => {
    if (!op || !proxy) throw new Error('the operator did not start');
    const [operator, cuttable] = [op, proxy];
    await showingLogOnFailure(operator, async () => {
      await converged(kube, ns);
      const pid = operator.child.pid;
      // Reset every connection, the watches among them, twice with a pause: a reconnecting watch is
      // dropped again.
      cuttable.cut();
      await new Promise((r) => setTimeout(r, 500));
      cuttable.cut();
      await changeAndExpectFindings(kube, ns, 'late');
      expect(running(operator)).toBe(true);
      expect(operator.child.pid).toBe(pid);
    });
  });

  it('resumes as promptly after each of a long series of resets (a watch that had been served starts the backoff over)', async () => {
    if (!op || !proxy) throw new Error('the operator did not start');
    const [operator, cuttable] = [op, proxy];
    await showingLogOnFailure(operator, async () => {
      // Each reset fails every watch once. Were the failures counted across rounds, the backoff would
      // reach its 30-60 s steps by the sixth round (it did: 1, 2, 5, 11, 18, 36 s); each round waits 30 s.
      // A new Service each round: only the watches can tell the operator of it. Each cut comes when
      // every watch has been back for over a second (1.6 s at most to come back, then 1 s served): a
      // cut sooner would fail watches not yet served, which do count (a server that keeps dropping them).
      for (let round = 0; round < 10; round++) {
        await new Promise((r) => setTimeout(r, 3_000));
        cuttable.cut();
        await applyYaml(kube, servicesWithPods([`round${round}`], true), ns);
        await annotationsWhen(kube, 'Service', ns, `round${round}`, 'NoHealthyTargets', 30_000);
      }
      expect(running(operator)).toBe(true);
    });
  });

  it('catches up after the API server was unreachable for a while', async () => {
    if (!op || !proxy) throw new Error('the operator did not start');
    const [operator, cuttable] = [op, proxy];
    await showingLogOnFailure(operator, async () => {
      await cuttable.close();
      // While it cannot reach the API server: the web backend listens again, a new healthy Service appears.
      await patchPodAnnotations(kube, ns, 'web-1', { 'sim.sockeye.dev/listen': '8080' });
      await applyYaml(kube, servicesWithPods(['later']), ns);
      await new Promise((r) => setTimeout(r, 3_000));
      expect(running(operator)).toBe(true);
      await cuttable.open();
      await eventFor(kube, ns, 'Service', 'web', 'TargetsRecovered');
      await annotationsWhen(kube, 'Service', ns, 'web', 'Healthy');
      await annotationsWhen(kube, 'Service', ns, 'later', 'Healthy');
      expect(running(operator)).toBe(true);
    });
  });

  it('drops a connection that went silent without a reset, and carries on over a new one', async () => {
    if (!op || !proxy) throw new Error('the operator did not start');
    const [operator, cuttable] = [op, proxy];
    await showingLogOnFailure(operator, async () => {
      // Its HTTP/2 connection (watches, writes) stays open and carries nothing: a peer that died.
      expect(cuttable.freeze()).toBeGreaterThan(0);
      await applyYaml(kube, servicesWithPods(['after-freeze'], true), ns);
      // Within the usual 60 s: PINGs every 15 s find it dead within 30 s (undici's own 60 s took 60-120 s).
      await annotationsWhen(kube, 'Service', ns, 'after-freeze', 'NoHealthyTargets');
      await eventFor(kube, ns, 'Service', 'after-freeze', 'NoHealthyTargets');
      // The operator closed the dead connection itself; nothing of it is left open.
      expect(cuttable.frozenOpen()).toBe(0);
      expect(running(operator)).toBe(true);
    });
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoyKubeconfig, eventually } from '../support/kube.ts';
import {
  annotationsWhen,
  type OperatorProcess,
  REFUSING_WEB,
  running,
  scenarioNamespace,
  spawnOperator,
  stopOperatorProcess,
} from './support.ts';

/**
 * `sockeye operator --kubeconfig K --context C --leader-elect=false`, as a process: kubectl's flags.
 * K's current context is a decoy (a loopback port nothing listens on) and $KUBECONFIG names no
 * file, so the operator reaches the API server only through both flags; writing the Service's
 * status shows it did, and no Lease shows --leader-elect=false was heard.
 */
describe('sockeye operator with kubectl-style flags', () => {
  const s = scenarioNamespace('op-flags', REFUSING_WEB, 1);
  let dir: string;
  let op: OperatorProcess | undefined;
  let context: string;
  let kubeconfig: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sockeye-op-flags-'));
    ({ kubeconfig, context } = await decoyKubeconfig(dir));
  });

  afterAll(async () => {
    await stopOperatorProcess(op);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts, reaches the API through --kubeconfig and --context, and runs without a Lease', async () => {
    op = await spawnOperator(
      [
        '--kubeconfig',
        kubeconfig,
        '--context',
        context,
        '--leader-elect=false',
        `--lease-namespace=${s.ns}`,
        `--namespace=${s.ns}`,
        '--interval=1s',
        '--timeout=500ms',
        '--confirmations=1',
        `--pod-name=sockeye-${s.ns}`,
        '--pod-namespace=sockeye-system',
      ],
      { KUBECONFIG: join(dir, 'no-such-kubeconfig') },
    );
    const port = op.port;
    await eventually('operator /readyz 200', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    });
    await annotationsWhen(s.kube, 'Service', s.ns, 'web', 'NoHealthyTargets');
    expect(running(op)).toBe(true);
    const lease = await s.kube.kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: 'sockeye-operator', namespace: s.ns })
      .then(
        () => 'found',
        (err: unknown) => (err instanceof ApiException ? err.code : err),
      );
    expect(lease).toBe(404);
  });
});

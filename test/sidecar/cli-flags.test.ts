import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../cluster/controlplane.ts';
import {
  createNamespace,
  decoyKubeconfig,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { type SidecarStatus, sidecarEvents } from './support.ts';

const sockeye = fileURLToPath(new URL('../../bin/sockeye.js', import.meta.url));

/**
 * `sockeye sidecar --kubeconfig K --context C` as a process on this machine, standing in for a pod
 * whose app declares a loopback port nothing listens on. K's current context is a decoy, $KUBECONFIG
 * names no file and no ServiceAccount token is mounted (KUBERNETES_SERVICE_HOST unset), so the sidecar
 * reaches the API server only through both flags: reading the ports from the pod spec and writing the
 * Event and annotations on the pod show it did.
 */
describe('sockeye sidecar with kubectl-style flags', () => {
  const ns = uniqueNamespace('sidecar-flags');
  let kube: TestKube;
  let dir = '';
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    dir = await mkdtemp(join(tmpdir(), 'sockeye-sidecar-flags-'));
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    if (kube) await deleteNamespace(kube, ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads its pod and writes its Event and annotations through --kubeconfig and --context', async () => {
    const { kubeconfig, context } = await decoyKubeconfig(dir);
    // A loopback port nothing listens on: the app's declared port, refused where this sidecar probes.
    const appPort = await freePort();
    const pod: V1Pod = await kube.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'app' },
        spec: {
          containers: [
            { name: 'app', image: 'example/app:1', ports: [{ name: 'http', containerPort: appPort }] },
          ],
        },
      },
    });
    const httpPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SOCKEYE_LOG_LEVEL: 'warn',
      KUBECONFIG: join(dir, 'no-such-kubeconfig'),
      POD_NAME: 'app',
      POD_NAMESPACE: ns,
      POD_UID: pod.metadata?.uid ?? '',
      POD_IP: '127.0.0.1',
    };
    delete env.KUBERNETES_SERVICE_HOST;
    const started = spawn(
      process.execPath,
      [
        sockeye,
        'sidecar',
        '--kubeconfig',
        kubeconfig,
        '--context',
        context,
        '--interval=1s',
        '--confirmations=1',
        '--host=127.0.0.1',
        `--port=${httpPort}`,
      ],
      { env, stdio: 'ignore' },
    );
    child = started;
    exited = new Promise((resolve) => started.once('exit', resolve));

    const status = await eventually('the sidecar read its pod spec', async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/status`).catch(() => undefined);
      const s = res?.status === 200 ? ((await res.json()) as SidecarStatus) : undefined;
      return s?.portsFrom === 'pod spec' && s.ports.some((p) => p.port === appPort) ? s : undefined;
    });
    expect(status.api).toEqual({ read: 'ok', event: 'ok', patch: 'ok' });
    const annotated = await eventually('the sidecar-status annotation', async () => {
      const p: V1Pod = await kube.core.readNamespacedPod({ name: 'app', namespace: ns });
      return p.metadata?.annotations?.['sockeye.dev/sidecar-status'];
    });
    expect(annotated).toBe('NotListening');
    const event = await eventually('a PortNotListening Event', async () =>
      (await sidecarEvents(kube, ns, 'app')).find((e) => e.reason === 'PortNotListening'),
    );
    expect(event.note).toMatch(new RegExp(`^port http \\(${appPort}/TCP\\) refuses connections on `));
    expect(started.exitCode).toBeNull();
  });
});

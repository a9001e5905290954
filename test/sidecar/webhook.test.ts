import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki } from '../../cluster/pki.ts';
import { logger } from '../../src/log.ts';
import { startWebhook, stopWebhook } from '../../src/webhook/server.ts';
import { createNamespace, eventually, type TestKube, testKube, uniqueNamespace } from '../support/kube.ts';
import { deleteNamespaceAndSidecars, sidecarStatus } from './support.ts';

// The webhook runs in this process on 127.0.0.1; the local kube-apiserver (same host) calls it over
// TLS, trusting a CA made here with openssl. failurePolicy Ignore: a webhook that is down admits pods.
describe('sidecar injection webhook', () => {
  let kube: TestKube;
  let admission: AdmissionregistrationV1Api;
  let dir: string;
  let server: Server | undefined;
  let port = 0;
  const ns = uniqueNamespace('inject');
  const configName = `sockeye-inject-${ns}`;
  const injectedIPs: string[] = [];

  const pod = (name: string, annotations: Record<string, string> = {}): V1Pod => ({
    metadata: { name, annotations: { 'sim.sockeye.dev/listen': '8080', ...annotations } },
    spec: { containers: [{ name: 'app', image: 'example/app:1', ports: [{ containerPort: 8080 }] }] },
  });

  beforeAll(async () => {
    kube = testKube();
    admission = kube.kc.makeApiClient(AdmissionregistrationV1Api);
    dir = await mkdtemp(join(tmpdir(), 'sockeye-webhook-'));
    const pki = await makePki(dir);
    const started = await startWebhook({
      cert: await readFile(pki.serverCert),
      key: await readFile(pki.serverKey),
      host: '127.0.0.1',
      port: 0,
      inject: {
        image: 'ghcr.io/sockeye-dev/sockeye:dev',
        containerName: 'sockeye',
        port: 9876,
        args: ['--interval=1s'],
      },
      logger,
    });
    server = started.server;
    port = started.port;
    await createNamespace(kube, ns);
    await admission.createMutatingWebhookConfiguration({
      body: {
        metadata: { name: configName },
        webhooks: [
          {
            name: 'inject.sockeye.dev',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            failurePolicy: 'Ignore',
            timeoutSeconds: 5,
            clientConfig: {
              url: `https://127.0.0.1:${port}/mutate`,
              caBundle: (await readFile(pki.caCert)).toString('base64'),
            },
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
            rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
          },
        ],
      },
    });
  });

  afterAll(async () => {
    await admission?.deleteMutatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    if (kube) await deleteNamespaceAndSidecars(kube, ns, injectedIPs);
    if (server) await stopWebhook(server);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const containers = (p: V1Pod) => (p.spec?.containers ?? []).map((c) => c.name);

  it('adds the sidecar to an annotated pod, and the sidecar runs in it', async () => {
    // The API server may take a moment to see a new webhook configuration: retry until it injects.
    const created = await eventually('an injected pod', async () => {
      const name = `annotated-${Math.random().toString(36).slice(2, 6)}`;
      const p = await kube.core.createNamespacedPod({
        namespace: ns,
        body: pod(name, { 'sockeye.dev/inject': 'true' }),
      });
      return containers(p).includes('sockeye') ? p : undefined;
    });
    expect(containers(created)).toEqual(['app', 'sockeye']);
    const sidecar = created.spec?.containers?.find((c) => c.name === 'sockeye');
    expect(sidecar?.image).toBe('ghcr.io/sockeye-dev/sockeye:dev');
    expect(sidecar?.args).toEqual(['sidecar', '--port=9876', '--container-name=sockeye', '--interval=1s']);
    const ip = await eventually('the pod IP', async () => {
      const p: V1Pod = await kube.core.readNamespacedPod({ name: created.metadata!.name!, namespace: ns });
      return p.status?.podIP;
    });
    injectedIPs.push(ip);
    const status = await sidecarStatus(ip, 'the injected sidecar', (s) => s.ports.length > 0);
    // The namespace's default ServiceAccount may not read the pod spec, so no port is declared to
    // the sidecar: it still sees the app's socket, as undeclared.
    expect(status.portsFrom).toBe('none');
    expect(status.ports.map((p) => [p.port, p.class])).toEqual([[8080, 'UndeclaredListener']]);
  });

  it('leaves a pod without the annotation alone', async () => {
    const p = await kube.core.createNamespacedPod({ namespace: ns, body: pod('plain') });
    expect(containers(p)).toEqual(['app']);
  });

  it('does not block pod creation when the webhook is down (failurePolicy Ignore)', async () => {
    await stopWebhook(server!);
    server = undefined;
    const p = await kube.core.createNamespacedPod({
      namespace: ns,
      body: pod('while-down', { 'sockeye.dev/inject': 'true' }),
    });
    expect(containers(p)).toEqual(['app']);
  });
});

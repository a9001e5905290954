import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator/operator.ts';
import type { Dialer } from '../../src/probe/dialer.ts';
import { defaultDialer } from '../../src/probe/dialer.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { annotationsWhen, podIPs, startOperator } from './support.ts';

/**
 * docs/design.md "Safety": sockeye dials only pod IPs Kubernetes vouches for. Hand-made EndpointSlices point a
 * selector Service and a selector-less one at another namespace's pod and at a cloud metadata address;
 * a dialer wrapper records every dial and passes on only those to this namespace's own pods, so even a
 * bug could not reach anything else.
 */
describe('sockeye operator: the target policy', () => {
  let kube: TestKube;
  let operator: Operator | undefined;
  const ns = uniqueNamespace('op-safety');
  const other = uniqueNamespace('op-victim');
  const dialled = new Map<string, number>();
  let own = new Set<string>();
  let victimIP = '';

  const dialer: Dialer = {
    name: 'recording',
    dial(ip, port, done) {
      dialled.set(ip, (dialled.get(ip) ?? 0) + 1);
      if (own.has(ip)) return defaultDialer.dial(ip, port, done);
      queueMicrotask(() => done({ kind: 'failed', errno: 'EACCES', message: 'not dialled by the test' }));
      return { abort() {} };
    },
  };

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    await createNamespace(kube, other);
    await applyYaml(
      kube,
      `
apiVersion: v1
kind: Pod
metadata: {name: victim, labels: {app: web}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
`,
      other,
    );
    await applyYaml(
      kube,
      `
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: manual}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
`,
      ns,
    );
    victimIP = (await podIPs(kube, other, 1)).victim ?? '';
    own = new Set(Object.values(await podIPs(kube, ns, 1)));
    const slice = (name: string, service: string, endpoints: object[]) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints,
    });
    const victimRef = { kind: 'Pod', namespace: other, name: 'victim' };
    // Added to the selector Service next to the controller's own slice.
    await kube.objects.create(
      slice('web-extra', 'web', [
        { addresses: [victimIP], targetRef: victimRef, conditions: { ready: true } },
        { addresses: [victimIP], targetRef: { kind: 'Pod', namespace: ns, name: 'web-1' } },
        { addresses: ['100.100.100.200'], conditions: { ready: true } },
      ]),
    );
    await kube.objects.create(
      slice('manual-1', 'manual', [
        { addresses: [victimIP], targetRef: victimRef },
        { addresses: ['100.100.100.200'] },
      ]),
    );
    operator = await startOperator([ns], { dialer });
  });

  afterAll(async () => {
    await operator?.stop(2000);
    if (kube) {
      await deleteNamespace(kube, ns);
      await deleteNamespace(kube, other);
    }
  });

  it('the API server itself refuses a link-local (metadata) address in a slice', async () => {
    await expect(
      kube.objects.create({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'imds', namespace: ns, labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [{ addresses: ['169.254.169.254'] }],
      } as never),
    ).rejects.toMatchObject({ code: 422 });
  });

  it('never dials another namespace’s pod or a metadata address, over several cycles', async () => {
    const [ownIP = ''] = [...own];
    await annotationsWhen(kube, 'Service', ns, 'web', 'Healthy');
    await eventually('three probe cycles of web-1', async () =>
      (dialled.get(ownIP) ?? 0) >= 3 ? true : undefined,
    );
    expect([...dialled.keys()]).toEqual([ownIP]);
    expect(dialled.get(victimIP)).toBeUndefined();
    expect(dialled.get('100.100.100.200')).toBeUndefined();
    // The summary counts only the vouched-for target.
    const svc = await kube.core.readNamespacedService({ name: 'web', namespace: ns });
    expect(svc.metadata?.annotations?.['sockeye.dev/summary']).toBe('http: 1/1 open');
    // The selector-less Service is not judged at all (opt-in), so it gets no annotations.
    const manual = await kube.core.readNamespacedService({ name: 'manual', namespace: ns });
    expect(manual.metadata?.annotations?.['sockeye.dev/status']).toBeUndefined();
  });
});

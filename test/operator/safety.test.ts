import { NetworkingV1Api } from '@kubernetes/client-node';
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
 * A dialer that counts every dial and passes on only those `passes` allows (the test's own pods), so
 * even a bug could not reach anything else.
 */
function recordingDialer(dialled: Map<string, number>, passes: (ip: string) => boolean): Dialer {
  return {
    name: 'recording',
    dial(ip, port, done) {
      dialled.set(ip, (dialled.get(ip) ?? 0) + 1);
      if (passes(ip)) return defaultDialer.dial(ip, port, done);
      queueMicrotask(() => done({ kind: 'failed', errno: 'EACCES', message: 'not dialled by the test' }));
      return { abort() {} };
    },
  };
}

/** A pod the node simulator makes listen on 8080. */
const listeningPod = (name: string, app: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${app}}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {containers: [{name: app, image: ${app}, ports: [{name: http, containerPort: 8080}]}]}`;

/** A selector-less Service: its endpoints are whatever a hand-made EndpointSlice lists. */
const MANUAL = `apiVersion: v1
kind: Service
metadata: {name: manual}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}`;

/** A hand-made IPv4 EndpointSlice of `service` on port 8080. */
const sliceOf = (namespace: string, name: string, service: string, endpoints: object[]) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints,
});

/**
 * docs/design.md "Safety": sockeye dials only pod IPs Kubernetes vouches for. Hand-made EndpointSlices point a
 * selector Service and a selector-less one at another namespace's pod and at a cloud metadata address;
 * the recording dialer passes on only the dials to this namespace's own pods.
 */
describe('sockeye operator: the target policy', () => {
  let kube: TestKube;
  let operator: Operator | undefined;
  const ns = uniqueNamespace('op-safety');
  const other = uniqueNamespace('op-victim');
  const dialled = new Map<string, number>();
  let own = new Set<string>();
  let victimIP = '';

  const dialer = recordingDialer(dialled, (ip) => own.has(ip));

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    await createNamespace(kube, other);
    await applyYaml(kube, listeningPod('victim', 'web'), other);
    await applyYaml(
      kube,
      `
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
${listeningPod('web-1', 'web')}
---
${MANUAL}
`,
      ns,
    );
    victimIP = (await podIPs(kube, other, 1)).victim ?? '';
    own = new Set(Object.values(await podIPs(kube, ns, 1)));
    const slice = (name: string, service: string, endpoints: object[]) =>
      sliceOf(ns, name, service, endpoints);
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

/**
 * The opt-in modes never dial inside the cluster's Service range (docs/design.md "Safety"): a
 * selector-less Service's hand-made slice lists this namespace's pod and an address of the range
 * that no Service holds (a ClusterIP one may be given next). The operator reads the range from the
 * API server's ServiceCIDR objects; the recording dialer passes on only the dials to the own pod.
 */
describe('sockeye operator: the opt-in modes keep out of the Service range', () => {
  let kube: TestKube;
  let operator: Operator | undefined;
  const ns = uniqueNamespace('op-svc-range');
  const dialled = new Map<string, number>();
  let ownIP = '';
  let rangeIP = '';
  let range = '';

  const dialer = recordingDialer(dialled, (ip) => ip === ownIP);

  /** Every ClusterIP Services of the cluster hold now. */
  const heldClusterIPs = async () =>
    new Set((await kube.core.listServiceForAllNamespaces()).items.flatMap((s) => s.spec?.clusterIPs ?? []));

  beforeAll(async () => {
    kube = testKube();
    const cidrs = (await kube.kc.makeApiClient(NetworkingV1Api).listServiceCIDR()).items.flatMap(
      (c) => c.spec?.cidrs ?? [],
    );
    range = cidrs.find((c) => c.includes('.') && c.includes('/')) ?? '';
    expect(range, `the cluster's ServiceCIDRs: ${cidrs.join(', ')}`).not.toBe('');
    const held = await heldClusterIPs();
    // From the top of the range down: the first address no Service holds.
    for (let offset = 2; rangeIP === '' || held.has(rangeIP); offset++) rangeIP = ipv4Below(range, offset);
    await createNamespace(kube, ns);
    await applyYaml(kube, `${listeningPod('backend', 'backend')}\n---\n${MANUAL}`, ns);
    ownIP = (await podIPs(kube, ns, 1)).backend ?? '';
    await kube.objects.create(
      sliceOf(ns, 'manual-1', 'manual', [{ addresses: [ownIP] }, { addresses: [rangeIP] }]) as never,
    );
    operator = await startOperator([ns], { dialer, argv: ['--probe-selectorless-services'] });
  });

  afterAll(async () => {
    await operator?.stop(2000);
    if (kube) await deleteNamespace(kube, ns);
  });

  it('never dials an endpoint inside a ServiceCIDR, though no Service holds it, over several cycles', async () => {
    await eventually('three probe cycles of the selector-less endpoint', async () =>
      (dialled.get(ownIP) ?? 0) >= 3 ? true : undefined,
    );
    expect((await heldClusterIPs()).has(rangeIP), `${rangeIP} is still no Service's ClusterIP`).toBe(false);
    expect(dialled.get(rangeIP), `${rangeIP} in ${range}`).toBeUndefined();
    expect([...dialled.keys()]).toEqual([ownIP]);
  });
});

/** The address `offset` below the end of an IPv4 `cidr` (offset 1: its last address). */
function ipv4Below(cidr: string, offset: number): string {
  const [base = '', bits = '32'] = cidr.split('/');
  const start = base.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const n = start + 2 ** (32 - Number(bits)) - offset;
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

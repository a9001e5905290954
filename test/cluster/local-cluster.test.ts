import type { V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  patchPodAnnotations,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { tcpConnect, untilConnect } from '../support/tcp.ts';

const scenario = `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: admin, port: 9000, targetPort: 9000}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-open
  labels: {app: web}
  annotations: {sim.sockeye.dev/listen: "8080"}
spec:
  containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}, {containerPort: 9000}]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-silent
  labels: {app: web}
spec:
  containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}, {containerPort: 9000}]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-loopback
  labels: {app: web}
  annotations: {sim.sockeye.dev/listen: "8080@loopback"}
spec:
  containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}, {containerPort: 9000}]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: odd
  labels: {app: odd}
  annotations: {sim.sockeye.dev/listen: "8080/drop,8081/reset", sim.sockeye.dev/ready: "false"}
spec:
  containers: [{name: app, image: odd, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: odd}
spec:
  selector: {app: odd}
  ports: [{port: 80, targetPort: 8080}]
`;

describe('the local cluster', () => {
  let kube: TestKube;
  const ns = uniqueNamespace('harness');
  const ips: Record<string, string> = {};

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    await applyYaml(kube, scenario, ns);
    for (const name of ['web-open', 'web-silent', 'web-loopback', 'odd']) {
      const pod = await eventually(`pod ${name} running with an IP`, async () => {
        const p: V1Pod = await kube.core.readNamespacedPod({ name, namespace: ns });
        return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
      });
      ips[name] = pod.status!.podIP!;
    }
  });

  afterAll(async () => {
    if (kube) await deleteNamespace(kube, ns);
  });

  it('gives simulated pods distinct addresses in its pod range on simulated nodes', async () => {
    const local = inject('localCluster');
    expect(local).not.toBeNull();
    expect(new Set(Object.values(ips)).size).toBe(4);
    const { contains, parseCidr } = await import('../../cluster/addresses.ts');
    for (const ip of Object.values(ips)) expect(contains(parseCidr(local!.cidr), ip)).toBe(true);
    const pod = await kube.core.readNamespacedPod({ name: 'web-open', namespace: ns });
    expect(pod.spec?.nodeName).toMatch(/^sim-node-\d$/);
  });

  it('has the real kube-controller-manager write an EndpointSlice with the three pod IPs', async () => {
    const slices = await eventually('an EndpointSlice with three endpoints', async () => {
      const list = await kube.discovery.listNamespacedEndpointSlice({
        namespace: ns,
        labelSelector: 'kubernetes.io/service-name=web',
      });
      const n = list.items.flatMap((s) => s.endpoints ?? []).length;
      return n === 3 ? list.items : undefined;
    });
    const addresses = slices
      .flatMap((s: V1EndpointSlice) => (s.endpoints ?? []).flatMap((e) => e.addresses))
      .sort();
    expect(addresses).toEqual([ips['web-open'], ips['web-silent'], ips['web-loopback']].sort());
    // The named targetPort resolved per pod to the declared containerPort.
    expect(slices[0]?.ports?.find((p) => p.name === 'http')?.port).toBe(8080);
    expect(slices[0]?.ports?.find((p) => p.name === 'admin')?.port).toBe(9000);
  });

  it('answers plain TCP connects as the annotations say: open, refused, refused on the pod IP', async () => {
    expect(await tcpConnect(ips['web-open']!, 8080)).toBe('open');
    expect(await tcpConnect(ips['web-silent']!, 8080)).toBe('refused');
    expect(await tcpConnect(ips['web-loopback']!, 8080)).toBe('refused');
  });

  it('drops SYNs for a drop listener and resets a reset listener', async () => {
    expect(await tcpConnect(ips.odd!, 8080, 700)).toBe('timeout');
    // The RST comes after the handshake: watch the connection for it.
    expect(await tcpConnect(ips.odd!, 8081, 1500, 1000)).toBe('reset');
  });

  it('changes behaviour when the annotation of a live pod changes', async () => {
    await patchPodAnnotations(kube, ns, 'web-silent', { 'sim.sockeye.dev/listen': '8080' });
    await untilConnect(ips['web-silent']!, 8080, 'open');
    await patchPodAnnotations(kube, ns, 'web-silent', { 'sim.sockeye.dev/listen': null });
    await untilConnect(ips['web-silent']!, 8080, 'refused');
  });

  it('shows a pod annotated ready=false as a not-ready endpoint', async () => {
    const endpoint = await eventually('the odd endpoint', async () => {
      const list = await kube.discovery.listNamespacedEndpointSlice({
        namespace: ns,
        labelSelector: 'kubernetes.io/service-name=odd',
      });
      return list.items.flatMap((s) => s.endpoints ?? []).find((e) => e.addresses.includes(ips.odd!));
    });
    expect(endpoint.conditions?.ready).toBe(false);
    const pod = await kube.core.readNamespacedPod({ name: 'odd', namespace: ns });
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
  });

  it('makes a pod whose network is down unreachable, and reachable again', async () => {
    await patchPodAnnotations(kube, ns, 'web-open', { 'sim.sockeye.dev/network': 'down' });
    await untilConnect(ips['web-open']!, 8080, 'unreachable');
    await patchPodAnnotations(kube, ns, 'web-open', { 'sim.sockeye.dev/network': null });
    await untilConnect(ips['web-open']!, 8080, 'open');
  });

  it('removes a deleted pod from the network', async () => {
    await kube.core.deleteNamespacedPod({ name: 'odd', namespace: ns });
    await eventually('pod odd to be gone', async () => {
      try {
        await kube.core.readNamespacedPod({ name: 'odd', namespace: ns });
        return undefined;
      } catch (err) {
        return (err as { code?: number }).code === 404 ? true : undefined;
      }
    });
    // Its address is gone from the node's namespace: the node end forwards nothing, so it times out.
    expect(await tcpConnect(ips.odd!, 8081, 500)).not.toBe('open');
  });
});

describe('dual-stack pods in the local cluster', () => {
  let kube: TestKube;
  const ns = uniqueNamespace('dual');

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
  });

  afterAll(async () => {
    if (kube) await deleteNamespace(kube, ns);
  });

  it('gives a pod annotated ipv6 an IPv6 twin, one slice per family, and binds per family', async () => {
    await applyYaml(
      kube,
      `
apiVersion: v1
kind: Service
metadata: {name: dual}
spec:
  ipFamilyPolicy: RequireDualStack
  selector: {app: dual}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: alt, port: 81, targetPort: 8081}]
---
apiVersion: v1
kind: Pod
metadata:
  name: dual
  labels: {app: dual}
  annotations: {sim.sockeye.dev/ipv6: "true", sim.sockeye.dev/listen: "8080, 8081@ipv4"}
spec:
  containers: [{name: app, image: web, ports: [{containerPort: 8080}, {containerPort: 8081}]}]
`,
      ns,
    );
    const ips = await eventually('the pod to have two addresses', async () => {
      const p: V1Pod = await kube.core.readNamespacedPod({ name: 'dual', namespace: ns });
      const all = (p.status?.podIPs ?? []).map((x) => x.ip);
      return all.length === 2 ? all : undefined;
    });
    const [v4 = '', v6 = ''] = ips;
    expect(v6).toMatch(/^2001:2:0:[0-9a-f]+::[0-9a-f]+$/);
    const families = await eventually('an EndpointSlice per family', async () => {
      const list = await kube.discovery.listNamespacedEndpointSlice({
        namespace: ns,
        labelSelector: 'kubernetes.io/service-name=dual',
      });
      const withEndpoints = list.items.filter((s) => (s.endpoints ?? []).length > 0);
      return withEndpoints.length === 2 ? withEndpoints.map((s) => s.addressType).sort() : undefined;
    });
    expect(families).toEqual(['IPv4', 'IPv6']);
    await untilConnect(v4, 8080, 'open');
    expect(await tcpConnect(v6, 8080)).toBe('open');
    // Bound to IPv4 only: what a dual-stack Service's IPv6 clients meet.
    expect(await tcpConnect(v4, 8081)).toBe('open');
    expect(await tcpConnect(v6, 8081)).toBe('refused');
  });
});

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BENCHMARK_RANGE, clusterAddressPlan, contains, parseCidr } from '../../cluster/addresses.ts';
import { type BrokenNode, breakNodeDataPath, nodeNetns } from '../../cluster/datapath.ts';
import { httpStatus } from '../../cluster/simulator/kube-proxy.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { type ConnectResult, tcpConnect, untilConnect } from '../support/tcp.ts';

const exec = promisify(execFile);

// Two backends, on sim-node-0 and sim-node-1; `local` and `ignored` select only the one on node 0.
const scenario = `
apiVersion: v1
kind: Pod
metadata: {name: web-0, labels: {app: web, only: node0}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {nodeName: sim-node-0, containers: [{name: app, image: web}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {nodeName: sim-node-1, containers: [{name: app, image: web}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web6, labels: {app: web6}, annotations: {sim.sockeye.dev/listen: "8080", sim.sockeye.dev/ipv6: "true"}}
spec: {nodeName: sim-node-1, containers: [{name: app, image: web}]}
---
apiVersion: v1
kind: Service
metadata: {name: web6}
spec: {ipFamilyPolicy: RequireDualStack, selector: {app: web6}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: local}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web, only: node0}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: ignored, annotations: {sim.sockeye.dev/lb-health-checks: ignore}}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web, only: node0}
  ports: [{port: 80, targetPort: 8080}]
`;

/** One TCP connect made from inside a network namespace (a node's, where its pods live). */
async function connectFrom(netns: string, host: string, port: number): Promise<ConnectResult> {
  const script = `const s = require('node:net').connect({host: ${JSON.stringify(host)}, port: ${port}});
const t = setTimeout(() => { console.log('timeout'); process.exit(0); }, 1500);
s.once('connect', () => { console.log('open'); process.exit(0); });
s.once('error', (e) => { console.log(e.code === 'ECONNREFUSED' ? 'refused' : 'error:' + e.code); process.exit(0); });`;
  const { stdout } = await exec('ip', ['netns', 'exec', netns, process.execPath, '-e', script]);
  return stdout.trim() as ConnectResult;
}

async function connects(host: string, port: number, times: number): Promise<ConnectResult[]> {
  const results: ConnectResult[] = [];
  for (let i = 0; i < times; i++) results.push(await tcpConnect(host, port));
  return results;
}

const local = inject('localCluster');

describe.skipIf(local === null)(
  'the local cluster data path: kube-proxy and the load-balancer stand-in',
  () => {
    let kube: TestKube;
    const ns = uniqueNamespace('datapath');
    const services: Record<string, V1Service> = {};
    /** Node name → InternalIP. */
    const nodeIPs = new Map<string, string>();
    let broken: BrokenNode | undefined;

    beforeAll(async () => {
      kube = testKube();
      await createNamespace(kube, ns);
      await applyYaml(kube, scenario, ns);
      for (const name of ['web', 'local', 'ignored']) {
        services[name] = await eventually(`Service ${name} with a load-balancer address`, async () => {
          const svc = await kube.core.readNamespacedService({ name, namespace: ns });
          return svc.status?.loadBalancer?.ingress?.[0]?.ip ? svc : undefined;
        });
      }
      const nodes = await kube.core.listNode();
      for (const node of nodes.items as V1Node[]) {
        const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
        if (node.metadata?.name && ip) nodeIPs.set(node.metadata.name, ip);
      }
      // Both backends serve before any test looks at the path to them.
      await eventually('two ready endpoints of web', async () => {
        const slices = await kube.discovery.listNamespacedEndpointSlice({
          namespace: ns,
          labelSelector: 'kubernetes.io/service-name=web',
        });
        const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
        return ready.length === 2 ? true : undefined;
      });
    });

    afterAll(async () => {
      // Whatever failed, the node gets its kube-proxy back: later test files share this cluster.
      await broken?.restore();
      if (kube) await deleteNamespace(kube, ns);
    });

    const svc = (name: string) => services[name]!;
    const nodePort = (name: string) => svc(name).spec!.ports![0]!.nodePort!;
    const ingress = (name: string) => svc(name).status!.loadBalancer!.ingress![0]!.ip!;

    it('allocates ClusterIPs, node InternalIPs and load-balancer addresses inside 198.18.0.0/15', () => {
      const plan = clusterAddressPlan(parseCidr(local!.cidr));
      const inRange = (ip: string) => contains(BENCHMARK_RANGE, ip);
      for (const s of Object.values(services)) {
        expect(contains(plan.services, s.spec!.clusterIP!)).toBe(true);
        expect(contains(plan.lb.pool, s.status!.loadBalancer!.ingress![0]!.ip!)).toBe(true);
      }
      expect(nodeIPs.size).toBe(3);
      for (const ip of nodeIPs.values()) expect(inRange(ip)).toBe(true);
      expect(Object.values(services).map((s) => s.status?.loadBalancer?.ingress?.[0]?.ipMode)).toEqual([
        'Proxy',
        'Proxy',
        'Proxy',
      ]);
    });

    it('forwards a ClusterIP to the backends, from the host and from a pod on each node', async () => {
      const ip = svc('web').spec!.clusterIP!;
      await untilConnect(ip, 80, 'open');
      expect(await connects(ip, 80, 4)).toEqual(['open', 'open', 'open', 'open']);
      // Each node's kube-proxy syncs on its own: wait for every one of them, then it must hold.
      for (const node of nodeIPs.keys()) {
        const fromNode = (h: string, p: number) => connectFrom(nodeNetns(local!.id, node), h, p);
        await untilConnect(ip, 80, 'open', 60_000, fromNode);
        expect(await fromNode(ip, 80)).toBe('open');
      }
    });

    // The host forwards IPv6 only on its links to the cluster (Linux >= 6.17: force_forwarding).
    it.skipIf(!existsSync('/proc/sys/net/ipv6/conf/default/force_forwarding'))(
      'forwards both ClusterIPs of a dual-stack Service, from the host and from another node',
      async () => {
        const svc6 = await kube.core.readNamespacedService({ name: 'web6', namespace: ns });
        const ips = svc6.spec?.clusterIPs ?? [];
        expect(ips).toHaveLength(2);
        expect(ips[1]).toMatch(/^2001:2:0:/);
        const fromNode2 = (h: string, p: number) => connectFrom(nodeNetns(local!.id, 'sim-node-2'), h, p);
        for (const ip of ips) {
          await untilConnect(ip, 80, 'open');
          await untilConnect(ip, 80, 'open', 60_000, fromNode2);
          expect(await fromNode2(ip, 80)).toBe('open');
        }
      },
    );

    it('answers a NodePort on every node InternalIP', async () => {
      for (const ip of nodeIPs.values()) expect(await tcpConnect(ip, nodePort('web'))).toBe('open');
    });

    it('externalTrafficPolicy Local: only the node with the endpoint takes the NodePort; health checks say so', async () => {
      const port = nodePort('local');
      const check = svc('local').spec!.healthCheckNodePort!;
      expect(check).toBeGreaterThan(0);
      for (const [node, ip] of nodeIPs) {
        const hasEndpoint = node === 'sim-node-0';
        expect(await tcpConnect(ip, port)).toBe(hasEndpoint ? 'open' : 'timeout');
        expect(await httpStatus(ip, check, '/')).toBe(hasEndpoint ? 200 : 503);
      }
    });

    it('the load balancer sends only to nodes whose health check passes, unless told to ignore them', async () => {
      expect(await connects(ingress('web'), 80, 3)).toEqual(['open', 'open', 'open']);
      // Nodes 1 and 2 fail the Service's health check: out of rotation, every connect lands on node 0.
      await eventually('the local Service in rotation on one node', async () =>
        (await tcpConnect(ingress('local'), 80)) === 'open' ? true : undefined,
      );
      expect(await connects(ingress('local'), 80, 4)).toEqual(['open', 'open', 'open', 'open']);
      // Ignoring health checks, it round-robins over all three: two of three connects land on a node
      // without an endpoint, which drops them.
      const ignored = await connects(ingress('ignored'), 80, 6);
      expect(ignored.filter((r) => r === 'open').length).toBeGreaterThanOrEqual(1);
      expect(ignored.filter((r) => r === 'timeout').length).toBeGreaterThanOrEqual(3);
      // A port the Service does not have is refused.
      expect(await tcpConnect(ingress('web'), 81)).toBe('refused');
    });

    it('a node whose kube-proxy is stopped and rules flushed fails its NodePort and ClusterIP; the others work', async () => {
      const ip1 = nodeIPs.get('sim-node-1')!;
      broken = await breakNodeDataPath(local!, 'sim-node-1');
      expect(await tcpConnect(ip1, nodePort('web'))).not.toBe('open');
      expect(await connectFrom(nodeNetns(local!.id, 'sim-node-1'), svc('web').spec!.clusterIP!, 80)).toBe(
        'timeout',
      );
      for (const node of ['sim-node-0', 'sim-node-2']) {
        expect(await tcpConnect(nodeIPs.get(node)!, nodePort('web'))).toBe('open');
        expect(await connectFrom(nodeNetns(local!.id, node), svc('web').spec!.clusterIP!, 80)).toBe('open');
      }
      // Its kube-proxy /healthz is gone, so the load balancer takes it out of rotation for `web`.
      expect(await httpStatus(ip1, 10256, '/healthz')).toBe(0);
      await eventually('web served by the healthy nodes only', async () => {
        const results = await connects(ingress('web'), 80, 3);
        return results.every((r) => r === 'open') ? true : undefined;
      });
      expect(await connects(ingress('web'), 80, 6)).toEqual(Array(6).fill('open'));

      await broken.restore();
      broken = undefined;
      await untilConnect(ip1, nodePort('web'), 'open');
    });
  },
);

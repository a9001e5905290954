/**
 * The Service data path findings, each from a real fault in the local cluster's data path
 * (kube-proxy per node, the load-balancer stand-in): a node's kube-proxy stopped and its rules
 * flushed, endpoints on one node only under externalTrafficPolicy Local with a load balancer that
 * ignores health checks, every backend refusing. Every broken node is restored in `finally` and
 * again in `afterAll`: later test files share the cluster.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { binaryPath } from '../../cluster/binaries.ts';
import type { Operator } from '../../src/operator/operator.ts';
import { lbService, nodeBreaker, nodePod } from '../support/data-path.ts';
import { eventually } from '../support/kube.ts';
import { tcpConnect, untilConnect } from '../support/tcp.ts';
import { annotationsWhen, eventFor, listEvents, scenarioNamespace, startOperator } from './support.ts';

const exec = promisify(execFile);

// web-0..2 answer, one per node; `local` and `ignored` select only web-0 (node 0); down-0 refuses.
const SCENARIO = [
  nodePod('web-0', 0, 'app: web, only: node0', '8080'),
  nodePod('web-1', 1, 'app: web', '8080'),
  nodePod('web-2', 2, 'app: web', '8080'),
  nodePod('down-0', 0, 'app: down', '9999'),
  lbService('web', 'app: web'),
  lbService('local', 'app: web, only: node0', ', externalTrafficPolicy: Local'),
  lbService(
    'ignored',
    'app: web, only: node0',
    ', externalTrafficPolicy: Local',
    '{sim.sockeye.dev/lb-health-checks: ignore}',
  ),
  lbService('down', 'app: down'),
].join('\n');

const local = inject('localCluster');

describe.skipIf(local === null)('the Service data path: ClusterIP, NodePorts, load balancer', () => {
  const s = scenarioNamespace('hops', SCENARIO, 4);
  let operator: Operator | undefined;
  const services: Record<string, V1Service> = {};

  const { withBrokenNode, restoreAll } = nodeBreaker(local!);

  const describeService = async (name: string) =>
    (
      await exec(binaryPath('kubectl'), [
        '--kubeconfig',
        inject('kubeconfig'),
        'describe',
        'service',
        name,
        '-n',
        s.ns,
      ])
    ).stdout;

  const warningsAbout = async (name: string) =>
    (await listEvents(s.kube, s.ns)).filter(
      (e) => e.type === 'Warning' && e.regarding?.kind === 'Service' && e.regarding.name === name,
    );

  beforeAll(async () => {
    for (const name of ['web', 'local', 'ignored', 'down']) {
      services[name] = await eventually(`${name} with a load-balancer address`, async () => {
        const svc = await s.kube.core.readNamespacedService({ name, namespace: s.ns });
        return svc.status?.loadBalancer?.ingress?.[0]?.ip ? svc : undefined;
      });
    }
    // The nodes' kube-proxies have programmed `web` before sockeye looks (each node syncs on its own).
    const web = services.web!;
    await untilConnect(web.spec!.clusterIP!, 80, 'open');
    await untilConnect(web.status!.loadBalancer!.ingress![0]!.ip!, 80, 'open');
    const nodes = (await s.kube.core.listNode()).items;
    for (const n of nodes) {
      const ip = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
      if (ip) await untilConnect(ip, web.spec!.ports![0]!.nodePort!, 'open');
    }
    // The load balancer has taken `local`'s nodes without an endpoint out of rotation (it checks
    // every second): every connect lands on node 0.
    const localLb = services.local!.status!.loadBalancer!.ingress![0]!.ip!;
    await eventually('the local Service served by node 0 only', async () => {
      for (let i = 0; i < 6; i++) if ((await tcpConnect(localLb, 80)) !== 'open') return undefined;
      return true;
    });
    // Host connections to a ClusterIP go through node 0's kube-proxy: sockeye "runs on" sim-node-0.
    operator = await startOperator([s.ns], {
      argv: ['--check-cluster-ip', '--check-node-ports', '--check-load-balancers', '--node-name=sim-node-0'],
    });
  }, 120_000);

  afterAll(async () => {
    await restoreAll();
    await operator?.stop(2000);
  });

  it('sockeye probe svc/NAME walks the hops, one line each', async () => {
    const { stdout } = await exec(
      process.execPath,
      [fileURLToPath(new URL('../../bin/sockeye.js', import.meta.url)), 'probe', 'svc/web:http', '-n', s.ns],
      { env: { ...process.env, KUBECONFIG: inject('kubeconfig'), NO_COLOR: '1' } },
    );
    const web = services.web!;
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`svc/web -n ${s.ns}`);
    const hops = lines.slice(1).map((l) => l.trim().split(/\s{2,}/));
    expect(hops.map(([hop]) => hop)).toEqual([
      'pod web-0',
      'pod web-1',
      'pod web-2',
      'ClusterIP',
      'NodePort sim-node-0',
      'NodePort sim-node-1',
      'NodePort sim-node-2',
      'load balancer',
    ]);
    expect(hops.every(([, , outcome]) => outcome === 'open')).toBe(true);
    expect(hops[3]?.[1]).toBe(`${web.spec!.clusterIP}:80`);
    expect(hops[7]?.[1]).toBe(`${web.status!.loadBalancer!.ingress![0]!.ip}:80`);
  });

  it('LoadBalancerFailing: under eTP Local, a load balancer that ignores health checks sends to nodes without an endpoint', async () => {
    const e = await eventFor(s.kube, s.ns, 'Service', 'ignored', 'LoadBalancerFailing');
    expect(e.type).toBe('Warning');
    const lb = services.ignored!.status!.loadBalancer!.ingress![0]!.ip!;
    expect(e.note).toMatch(
      new RegExp(
        `^port http \\(80/TCP\\): 1/1 pod open on 8080; load balancer ${lb.replaceAll('.', '\\.')}:80 \\(2 of 3 connects\\) times out: it sends to nodes sim-node-1, sim-node-2 without a local endpoint, which drop the NodePort as externalTrafficPolicy Local intends, and their health check \\(port \\d+\\) says so \\(HTTP 503\\): the load balancer does not honour the health checks; `,
      ),
    );
    expect(await describeService('ignored')).toMatch(/Warning\s+LoadBalancerFailing/);
    // The nodes without an endpoint dropping the NodePort is by design: no NodePortFailing.
    expect((await warningsAbout('ignored')).map((w) => w.reason)).not.toContain('NodePortFailing');
  });

  it('a healthy LoadBalancer Service stays silent, eTP Local with a load balancer that honours health checks too', async () => {
    await annotationsWhen(s.kube, 'Service', s.ns, 'web', 'Healthy');
    await annotationsWhen(s.kube, 'Service', s.ns, 'local', 'Healthy');
    // Past the grace a new Service's data path gets (LoadBalancerFailing on `ignored`, created with
    // them, came after it), a few more rounds (1 s interval): still nothing.
    await new Promise((r) => setTimeout(r, 4000));
    expect(await warningsAbout('web')).toEqual([]);
    expect(await warningsAbout('local')).toEqual([]);
    // Every hop of `web` answers, as /metrics tells per hop kind.
    const metrics = await (await fetch(`http://127.0.0.1:${operator!.port}/metrics`)).text();
    const hop = (name: string, kind: string) =>
      new RegExp(
        `^${name}\\{namespace="${s.ns}",service="web",port="http",hop="${kind}"\\} (\\d+)$`,
        'm',
      ).exec(metrics)?.[1];
    expect(
      ['cluster-ip', 'node-port', 'load-balancer'].map((k) => hop('sockeye_service_hop_open_targets', k)),
    ).toEqual(['1', '3', '1']);
    expect(hop('sockeye_service_hop_targets', 'node-port')).toBe('3');
  });

  it("NoHealthyTargets: every backend refuses, and the finding carries the load balancer's evidence", async () => {
    const e = await eventFor(s.kube, s.ns, 'Service', 'down', 'NoHealthyTargets');
    const lb = services.down!.status!.loadBalancer!.ingress![0]!.ip!;
    expect(e.note).toMatch(
      new RegExp(
        `^port http \\(80/TCP\\): 1 ready target fails \\(1 refused: down-0\\); load balancer ${lb.replaceAll('.', '\\.')}:80 (refuses|times out) too; `,
      ),
    );
    expect(await describeService('down')).toMatch(/Warning\s+NoHealthyTargets/);
  });

  it('NodePortFailing: a node whose kube-proxy is stopped and rules flushed fails the NodePort; the others answer', async () => {
    const nodePort = services.web!.spec!.ports![0]!.nodePort!;
    await withBrokenNode('sim-node-1', async () => {
      const e = await eventFor(s.kube, s.ns, 'Service', 'web', 'NodePortFailing');
      expect(e.note).toMatch(
        new RegExp(
          `^port http \\(80/TCP\\): 3/3 pods open on 8080; NodePort ${nodePort} (times out|refuses) on node sim-node-1, answers on sim-node-0, sim-node-2: kube-proxy \\(or the CNI\\) on that node does not forward it; `,
        ),
      );
      expect(await describeService('web')).toMatch(/Warning\s+NodePortFailing/);
      // `local` has no endpoint on node 1: its NodePort there is dropped by design.
      expect((await warningsAbout('local')).map((w) => w.reason)).not.toContain('NodePortFailing');
    });
    await eventFor(s.kube, s.ns, 'Service', 'web', 'TargetsRecovered');
  });

  it("ServiceIPNotForwarding: the ClusterIP does not forward from sockeye's node while the pods answer", async () => {
    const ip = services.web!.spec!.clusterIP!;
    await withBrokenNode('sim-node-0', async () => {
      const e = await eventFor(s.kube, s.ns, 'Service', 'web', 'ServiceIPNotForwarding');
      expect(e.note).toMatch(
        new RegExp(
          `^port http \\(80/TCP\\): 3/3 pods open on 8080; ClusterIP ${ip.replaceAll('.', '\\.')}:80 (times out|refuses|is unreachable) from node sim-node-0: the node's Service data path \\(kube-proxy or the CNI\\) does not forward; `,
        ),
      );
      expect(await describeService('web')).toMatch(/Warning\s+ServiceIPNotForwarding/);
    });
  });
});

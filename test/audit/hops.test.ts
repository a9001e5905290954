/**
 * `sockeye audit` on the Service data path, from the test host: outside the cluster, like a
 * workstation (the host reaches the nodes, the load-balancer pool, and the Service network through
 * node 0's kube-proxy). Real faults: a node's kube-proxy stopped and its rules flushed
 * (breakNodeDataPath), a load balancer told to ignore health checks (the LB stand-in), a user who may
 * not list Nodes. Every broken node is restored in `finally` and again in `afterAll`: later test
 * files share the cluster.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, RbacAuthorizationV1Api, type V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubeconfigYaml } from '../../cluster/controlplane.ts';
import { makeClientCert, type Pki } from '../../cluster/pki.ts';
import type { AuditReport } from '../../src/audit/report.ts';
import { main } from '../../src/bin/sockeye.ts';
import { LAST_CHANGE_TRIGGER_TIME } from '../../src/kube/convert.ts';
import { captureIO } from '../net/cli-io.ts';
import { scenarioNamespace } from '../operator/support.ts';
import { lbService, nodeBreaker, nodePod } from '../support/data-path.ts';
import { eventually } from '../support/kube.ts';
import { tcpConnect, untilConnect } from '../support/tcp.ts';
import { checkJUnit } from './junit.ts';
import { type SarifLog, sarifValidator } from './sarif.ts';

// web-0..2 answer, one per node. `web` is healthy; `ignored` (eTP Local, web-0 on node 0 only) sits
// behind a load balancer that ignores health checks, so it sends to nodes that drop the NodePort.
const SCENARIO = [
  nodePod('web-0', 0, 'app: web, only: node0', '8080'),
  nodePod('web-1', 1, 'app: web', '8080'),
  nodePod('web-2', 2, 'app: web', '8080'),
  lbService('web', 'app: web'),
  lbService(
    'ignored',
    'app: web, only: node0',
    ', externalTrafficPolicy: Local',
    '{sim.sockeye.dev/lb-health-checks: ignore}',
  ),
].join('\n');

/** The hop grace of the rules (RuleOptions.startupGraceMs), and a second for clock steps. */
const GRACE_MS = 31_000;

const local = inject('localCluster');

describe.skipIf(local === null)('sockeye audit on the Service data path, from outside the cluster', () => {
  const s = scenarioNamespace('audit-hops', SCENARIO, 3);
  const kubeconfig = inject('kubeconfig');
  const services: Record<string, V1Service> = {};
  const names: [string, string][] = [];

  async function audit(
    args: readonly string[],
    env: Readonly<Record<string, string>> = {},
  ): Promise<{ code: number; out: string; err: string }> {
    const c = captureIO();
    const code = await main(['audit', '-n', s.ns, '--timeout', '1s', ...args], { ...c.io, env });
    return { code, out: c.out(), err: c.err() };
  }

  const report = async (args: readonly string[] = [], env: Readonly<Record<string, string>> = {}) => {
    const run = await audit(['--kubeconfig', kubeconfig, '-o', 'json', ...args], env);
    return JSON.parse(run.out) as AuditReport;
  };

  /** Output that varies between runs (namespace, addresses, node ports) made stable. */
  function normalise(text: string): string {
    let out = text.replaceAll(s.ns, 'hops-ns');
    for (const [value, name] of [...names].sort(([a], [b]) => b.length - a.length))
      out = out.replaceAll(value, name);
    return out;
  }

  const { withBrokenNode, restoreAll } = nodeBreaker(local!);

  beforeAll(async () => {
    for (const name of ['web', 'ignored']) {
      services[name] = await eventually(`${name} with a load-balancer address`, async () => {
        const svc = await s.kube.core.readNamespacedService({ name, namespace: s.ns });
        return svc.status?.loadBalancer?.ingress?.[0]?.ip ? svc : undefined;
      });
    }
    const nodes = (await s.kube.core.listNode()).items;
    const web = services.web!;
    await untilConnect(web.spec!.clusterIP!, 80, 'open');
    await untilConnect(web.status!.loadBalancer!.ingress![0]!.ip!, 80, 'open');
    for (const n of nodes) {
      const ip = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
      if (ip) await untilConnect(ip, web.spec!.ports![0]!.nodePort!, 'open');
      if (ip) names.push([ip, `<${n.metadata!.name}-ip>`]);
    }
    for (const [name, svc] of Object.entries(services)) {
      names.push([svc.spec!.clusterIP!, `<${name}-cluster-ip>`]);
      names.push([svc.status!.loadBalancer!.ingress![0]!.ip!, `<${name}-lb-ip>`]);
      names.push([String(svc.spec!.ports![0]!.nodePort!), `<${name}-node-port>`]);
      if (svc.spec!.healthCheckNodePort)
        names.push([String(svc.spec!.healthCheckNodePort), `<${name}-hc-port>`]);
    }
    for (const [name, ip] of Object.entries(s.ips)) names.push([ip, `<${name}-ip>`]);
    // Past the rules' grace for a data path to follow a change: the Services' creation and their
    // endpoints' last change (the pods becoming ready).
    const slices = await s.kube.discovery.listNamespacedEndpointSlice({ namespace: s.ns });
    const times = [
      ...Object.values(services).map((svc) => new Date(svc.metadata!.creationTimestamp!).getTime()),
      ...slices.items.map((sl) =>
        new Date(sl.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME] ?? 0).getTime(),
      ),
    ];
    const wait = Math.max(...times) + GRACE_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }, 180_000);

  afterAll(async () => {
    await restoreAll();
  });

  it('checks every hop from here: the healthy LoadBalancer Service has no finding, the one ignoring health checks has', async () => {
    const run = await audit(['--kubeconfig', kubeconfig]);
    expect(run.err).toBe('');
    expect(run.code).toBe(1);
    await expect(normalise(run.out)).toMatchFileSnapshot('testdata/hops.table.golden');
    const r = await report();
    expect(r.findings.filter((f) => f.object.name === 'web')).toEqual([]);
    expect(r.objects.find((o) => o.kind === 'Service' && o.name === 'web')?.status).toBe('Healthy');
    const lb = r.findings.find((f) => f.object.name === 'ignored');
    expect(lb?.reason).toBe('LoadBalancerFailing');
    // Round robin over three nodes of which one has the endpoint: two connects of three time out.
    expect(lb?.message).toMatch(
      /load balancer [\d.]+:80 \(2 of 3 connects\) times out: it sends to nodes sim-node-1, sim-node-2/,
    );
    expect(r.hops.map((h) => `${h.hop} ${h.checked}/${h.planned} ${h.why ?? '-'}`)).toEqual([
      'cluster-ip 2/2 -',
      'node-port 6/6 -',
      'health-check 3/3 -',
      'load-balancer 2/2 -',
    ]);
  });

  it('finds NodePortFailing on a node whose kube-proxy is stopped, and says the ClusterIPs could not be checked from here', async () => {
    const nodePort = services.web!.spec!.ports![0]!.nodePort!;
    // The host reaches the Service network through node 0: breaking it leaves no ClusterIP answering.
    await withBrokenNode('sim-node-0', async () => {
      // The load balancer checks kube-proxy's /healthz every second: once it has taken node 0 out of
      // `web`'s rotation, its address answers every connect again (before, one in three fails: a
      // LoadBalancerFailing as real as the NodePort's, but not this test's).
      const lb = services.web!.status!.loadBalancer!.ingress![0]!.ip!;
      await eventually('the load balancer to leave sim-node-0 out', async () => {
        for (let i = 0; i < 6; i++) if ((await tcpConnect(lb, 80)) !== 'open') return undefined;
        return true;
      });
      const run = await audit(['--kubeconfig', kubeconfig]);
      expect(run.out).toMatch(
        /^ {2}- 2 ClusterIP addresses not checked from here: no ClusterIP answered this machine/m,
      );
      expect(run.out).not.toContain('ServiceIPNotForwarding');
      const r = await report();
      const web = r.findings.filter((f) => f.object.name === 'web').map((f) => f.reason);
      expect(web).toEqual(['NodePortFailing']);
      const np = r.findings.find((f) => f.object.name === 'web');
      expect(np?.message).toMatch(
        new RegExp(
          `NodePort ${nodePort} (refuses|times out) on node sim-node-0, answers on sim-node-1, sim-node-2`,
        ),
      );
      expect(np?.caveat).toMatch(/judged from outside the cluster/);
      expect(r.hops.find((h) => h.hop === 'cluster-ip')).toMatchObject({
        checked: 0,
        notChecked: 2,
        why: 'no-answer-from-here',
      });
      // The CI formats carry it too: a skipped JUnit case, a SARIF note that validates.
      const junit = checkJUnit((await audit(['--kubeconfig', kubeconfig, '-o', 'junit'])).out);
      const hopCases = junit
        .find((suite) => suite.name === 'sockeye')
        ?.cases.filter((c) => c.classname === 'sockeye.hops');
      expect(hopCases?.map((c) => `${c.name} ${c.skipped}`)).toEqual([
        'ClusterIP hops true',
        'NodePort hops false',
        'health check hops false',
        'load balancer hops false',
      ]);
      const sarif = JSON.parse((await audit(['--kubeconfig', kubeconfig, '-o', 'sarif'])).out) as SarifLog & {
        runs: {
          invocations: { toolExecutionNotifications: { level: string; message: { text: string } }[] }[];
        }[];
      };
      const validate = sarifValidator();
      expect(validate(sarif), JSON.stringify(validate.errors, null, 2)).toBe(true);
      const notes = sarif.runs[0]?.invocations[0]?.toolExecutionNotifications.filter(
        (n) => n.level === 'note',
      );
      expect(notes?.map((n) => n.message.text)).toEqual([
        expect.stringMatching(/^2 ClusterIP addresses not checked from here/),
      ]);
      // In a pod (the chart's audit Job), the same failure is the data path's: judged as the operator does.
      const inside = await report([], {
        KUBERNETES_SERVICE_HOST: '198.19.128.1',
        SOCKEYE_NODE_NAME: 'sim-node-0',
      });
      expect(
        inside.findings.find((f) => f.reason === 'ServiceIPNotForwarding' && f.object.name === 'web')
          ?.message,
      ).toMatch(
        /ClusterIP [\d.]+:80 (times out|refuses|is unreachable) from node sim-node-0: the node's Service data path/,
      );
      expect(
        inside.findings
          .filter((f) => f.object.name === 'web')
          .map((f) => f.reason)
          .sort(),
      ).toEqual(['NodePortFailing', 'ServiceIPNotForwarding']);
      expect(inside.hops.every((h) => h.notChecked === 0)).toBe(true);
    });
  });

  it('turns each hop check off with the operator flags', async () => {
    const r = await report(['--no-check-node-ports', '--no-check-load-balancers', '--no-check-cluster-ip']);
    expect(r.hops.map((h) => `${h.hop} ${h.why}`)).toEqual([
      'cluster-ip off',
      'node-port off',
      'health-check off',
      'load-balancer off',
    ]);
    expect(r.findings).toEqual([]);
  });

  describe('by a user who may not list Nodes', () => {
    let dir: string;
    let limited: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sockeye-audit-hops-rbac-'));
      const rbac = s.kube.kc.makeApiClient(RbacAuthorizationV1Api);
      const user = `hops-auditor-${s.ns}`;
      await rbac.createNamespacedRole({
        namespace: s.ns,
        body: {
          metadata: { name: 'auditor' },
          rules: [
            { apiGroups: [''], resources: ['services', 'pods'], verbs: ['get', 'list'] },
            { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list'] },
            { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list'] },
          ],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: s.ns,
        body: {
          metadata: { name: 'auditor' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'auditor' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
        },
      });
      const pki = { caCert: join(local!.dir, 'pki/ca.crt'), caKey: join(local!.dir, 'pki/ca.key') } as Pki;
      const { cert, key } = await makeClientCert(pki, dir, user);
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfig);
      limited = join(dir, 'limited.yaml');
      await writeFile(limited, kubeconfigYaml(kc.getCurrentCluster()!.server, pki, user, cert, key));
      // RBAC reaches the authorizer through an informer: wait until the Role applies.
      await eventually('the Role to apply', async () =>
        (await audit(['--kubeconfig', limited])).code !== 2 ? true : undefined,
      );
    }, 60_000);

    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('says once that the NodePort hops are not checked, and checks the others', async () => {
      const run = await audit(['--kubeconfig', limited]);
      expect(run.out.match(/cannot read nodes/g)?.length).toBe(1);
      expect(run.out).toContain(
        'cannot read nodes cluster-wide (Forbidden): the NodePort and health-check hops are not checked (they go to node InternalIPs)',
      );
      expect(run.out).toMatch(
        /^ {2}Hops {6}ClusterIP 2\/2 checked, load balancer 2\/2 checked; Nodes unreadable: NodePort, health check$/m,
      );
      const json = await audit(['--kubeconfig', limited, '-o', 'json']);
      expect(json.err.match(/cannot read nodes/g)?.length).toBe(1);
      const r = JSON.parse(json.out) as AuditReport;
      expect(r.hops.find((h) => h.hop === 'node-port')).toMatchObject({
        why: 'nodes-unreadable',
        planned: 0,
      });
      expect(r.findings.find((f) => f.object.name === 'ignored')?.reason).toBe('LoadBalancerFailing');
    });
  });
});

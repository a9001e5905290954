import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig, RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { kubeconfigYaml } from '../../cluster/controlplane.ts';
import { makeClientCert, type Pki } from '../../cluster/pki.ts';
import type { AuditReport } from '../../src/audit/report.ts';
import { main } from '../../src/bin/sockeye.ts';
import { captureIO } from '../net/cli-io.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { tcpConnect } from '../support/tcp.ts';
import { checkJUnit } from './junit.ts';
import { type SarifLog, sarifValidator } from './sarif.ts';

const exec = promisify(execFile);
const here = new URL('.', import.meta.url).pathname;
// The scenario's Services are ClusterIP ones whose backends partly refuse: kube-proxy picks a backend
// at random, so their ClusterIPs' outcomes (and the status summaries naming them) would change from
// run to run. The data path has its own test and goldens (hops.test.ts).
const FAST = ['--timeout', '500ms', '--no-check-cluster-ip'];

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function audit(...args: string[]): Promise<Run> {
  const c = captureIO();
  const code = await main(['audit', ...args], c.io);
  return { code, out: c.out(), err: c.err() };
}

/** Waits until every pod runs with an IP and every Service's slice lists its pods. */
async function settle(
  kube: TestKube,
  ns: string,
  endpoints: Readonly<Record<string, number>>,
): Promise<V1Pod[]> {
  const pods = await eventually(`pods of ${ns} running`, async () => {
    const list = await kube.core.listNamespacedPod({ namespace: ns });
    return list.items.every((p) => p.status?.phase === 'Running' && p.status.podIP) ? list.items : undefined;
  });
  for (const [service, n] of Object.entries(endpoints)) {
    await eventually(`${n} endpoints of ${ns}/${service}`, async () => {
      const list = await kube.discovery.listNamespacedEndpointSlice({
        namespace: ns,
        labelSelector: `kubernetes.io/service-name=${service}`,
      });
      return list.items.flatMap((s) => s.endpoints ?? []).length === n ? true : undefined;
    });
  }
  return pods;
}

describe('sockeye audit on the local cluster', () => {
  let kube: TestKube;
  const ns = uniqueNamespace('audit');
  const kubeconfig = inject('kubeconfig');
  const base = ['--kubeconfig', kubeconfig, '-n', ns, ...FAST];
  let ips: [string, string][] = [];

  /** Output that varies between runs (namespace, pod IPs, API server port) made stable. */
  function normalise(text: string): string {
    let out = text.replaceAll(ns, 'audit-ns');
    // Longest first, so 198.18.0.1 does not eat into 198.18.0.12.
    for (const [name, ip] of [...ips].sort(([, a], [, b]) => b.length - a.length)) {
      out = out.replaceAll(ip, `<${name}-ip>`);
    }
    return out.replace(/https:\/\/127\.0\.0\.1:\d+/g, 'https://127.0.0.1:PORT');
  }

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    await applyYaml(kube, await readFile(join(here, 'testdata/scenario.yaml'), 'utf8'), ns);
    const pods = await settle(kube, ns, { web: 1, 'web-canary': 1, warming: 1, api: 2, shop: 3, metrics: 1 });
    ips = pods.map((p) => [p.metadata!.name!, p.status!.podIP!]);
    const ip = Object.fromEntries(ips);
    // The simulator has applied the annotations once these hold.
    const expectations: [string, number, string][] = [
      ['web-1', 8080, 'open'],
      ['shop-3', 8080, 'unreachable'],
      ['vault', 8200, 'timeout'],
    ];
    for (const [pod, port, want] of expectations) {
      await eventually(`${pod}:${port} ${want}`, async () => {
        const got = await tcpConnect(ip[pod]!, port, 300);
        if (got !== want) throw new Error(`${pod} ${ip[pod]}:${port} ${got}`);
        return true;
      });
    }
  });

  afterAll(async () => {
    if (kube) await deleteNamespace(kube, ns);
  });

  it('prints the table, grouped and worst first, and exits 1 on warnings', async () => {
    const run = await audit(...base);
    expect(run.err).toBe('');
    expect(run.code).toBe(1);
    await expect(normalise(run.out)).toMatchFileSnapshot('testdata/audit.table.golden');
    expect(run.out).not.toContain('\u001b[');
    // On a terminal the same table is coloured (and progress would go to a terminal stderr only).
    const tty = captureIO('', true);
    expect(await main(['audit', ...base], tty.io)).toBe(1);
    expect(tty.out()).toContain('\u001b[33mWarning\u001b[0m');
    expect(tty.err()).toBe('');
  });

  it('writes the versioned JSON report, with every reason the audit can see', async () => {
    const run = await audit(...base, '-o', 'json');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.out) as AuditReport;
    expect(report.schemaVersion).toBe('sockeye.dev/audit/v1');
    expect(Object.keys(report.summary.findings.byReason).sort()).toEqual(
      [
        'ConnectTimeout',
        'InvalidConfiguration',
        'NoEndpoints',
        'NoHealthyTargets',
        'NoReadyEndpoints',
        'PortNotListening',
        'ReadyButRefusing',
        'TargetPortMismatch',
        'TargetsRefusing',
      ].sort(),
    );
    const timeouts = report.findings.filter((f) => f.reason === 'ConnectTimeout');
    expect(timeouts.map((f) => [f.object.name, f.evidence.policies])).toEqual([
      ['batch', []],
      ['vault', [`${ns}/vault-deny-all`]],
    ]);
    expect(report.findings.some((f) => f.object.name === 'legacy' || f.object.name === 'upstream')).toBe(
      false,
    );
    await expect(normalise(run.out)).toMatchFileSnapshot('testdata/audit.json.golden');
  });

  it('writes Markdown for tickets', async () => {
    const run = await audit(...base, '-o', 'markdown');
    expect(run.code).toBe(1);
    await expect(normalise(run.out)).toMatchFileSnapshot('testdata/audit.md.golden');
  });

  it('writes JUnit XML a CI system reads: a suite per namespace, a failing case per broken object', async () => {
    const run = await audit(...base, '-o', 'junit');
    expect(run.code).toBe(1);
    const suites = checkJUnit(run.out);
    const suite = suites.find((s) => s.name === ns);
    expect(suite).toBeDefined();
    const failed = suite!.cases.filter((c) => c.failures > 0).map((c) => `${c.classname}/${c.name}`);
    expect(failed).toEqual(
      expect.arrayContaining([
        `${ns}.Service/api`,
        `${ns}.Pod/api-1`,
        `${ns}.Service/ghost`,
        `${ns}.Pod/vault`,
      ]),
    );
    expect(suite!.cases.find((c) => c.name === 'web' && c.classname === `${ns}.Service`)?.failures).toBe(0);
  });

  it('writes SARIF 2.1.0 that validates against the full schema, every result located in a file', async () => {
    const validate = sarifValidator();
    const run = await audit(...base, '-o', 'sarif');
    expect(run.code).toBe(1);
    const log = JSON.parse(run.out) as SarifLog;
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);
    const results = log.runs[0]?.results ?? [];
    expect(results.length).toBe(JSON.parse((await audit(...base, '-o', 'json')).out).findings.length);
    for (const r of results) {
      expect(r.locations[0]?.physicalLocation?.artifactLocation.uri).toMatch(
        new RegExp(`^kubernetes/${ns}/(service|pod)/[a-z0-9-]+\\.yaml$`),
      );
    }
    // With the folder the scenario was applied from, results point at the file and line defining them.
    const located = await audit(...base, '-o', 'sarif', '--manifests', join(here, 'testdata'));
    const withManifests = JSON.parse(located.out) as SarifLog;
    expect(validate(withManifests), JSON.stringify(validate.errors, null, 2)).toBe(true);
    const api = withManifests.runs[0]?.results.find((r) => r.ruleId === 'NoHealthyTargets')?.locations[0]
      ?.physicalLocation;
    expect(api?.artifactLocation.uri).toBe('test/audit/testdata/scenario.yaml');
    const scenario = (await readFile(join(here, 'testdata/scenario.yaml'), 'utf8')).split('\n');
    const line = api?.region?.startLine ?? 0;
    expect(scenario.slice(line - 1, line + 2)).toContain('metadata: {name: api}');
  });

  it("writes -o yaml as the JSON report in YAML, and -o wide with each target's pod IP and outcome", async () => {
    const yaml = await audit(...base, '-o', 'yaml');
    expect(yaml.code).toBe(1);
    expect(parseYaml(yaml.out)).toEqual(JSON.parse((await audit(...base, '-o', 'json')).out));
    const wide = await audit(...base, '-o', 'wide');
    expect(wide.code).toBe(1);
    expect(wide.err).toBe('');
    const ip = Object.fromEntries(ips);
    const row = wide.out.split('\n').find((l) => l.includes('Pod/api-1 '));
    expect(
      row
        ?.trim()
        .split(/\s{2,}/)
        .slice(4, 6),
    ).toEqual([ip['api-1'], 'refused']);
  });

  it('audits every namespace with -A, and refuses -A with -n', async () => {
    const run = await audit('--kubeconfig', kubeconfig, '-A', '-l', 'tier=front', ...FAST, '-o', 'json');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.out) as AuditReport;
    expect(report.scope.allNamespaces).toBe(true);
    expect(report.scope.namespaces).toEqual(expect.arrayContaining([ns, 'kube-system']));
    expect(report.objects.find((o) => o.kind === 'Service' && o.namespace === ns)?.name).toBe('web');
    const both = await audit(...base, '-A');
    expect(both.code).toBe(2);
    expect(both.err).toMatch(
      /^sockeye: audit: -A\/--all-namespaces and -n\/--namespace cannot be used together\n$/,
    );
    expect(both.out).toBe('');
  });

  it('exits 0 when nothing reaches --fail-on, and for a selector that picks only healthy Services', async () => {
    expect((await audit(...base, '--fail-on', 'never')).code).toBe(0);
    const run = await audit(...base, '-l', 'tier=front', '-o', 'json');
    const report = JSON.parse(run.out) as AuditReport;
    expect(report.summary.services).toBe(1);
    expect(report.findings).toEqual([]);
    expect(run.code).toBe(0);
  });

  it('audits opted-out objects with --include-opted-out', async () => {
    const run = await audit(...base, '--include-opted-out', '-o', 'json');
    const report = JSON.parse(run.out) as AuditReport;
    expect(report.findings.find((f) => f.object.name === 'legacy')?.reason).toBe('NoEndpoints');
  });

  it('exits 2 on a bad flag, a missing kubeconfig or an unknown context', async () => {
    expect((await audit('--output', 'xml')).code).toBe(2);
    const manifests = await audit('--kubeconfig', kubeconfig, '--manifests', join(here, 'no-such-dir'));
    expect(manifests.code).toBe(2);
    expect(manifests.err).toMatch(/^sockeye: audit: --manifests .*no-such-dir: ENOENT/);
    expect((await audit('--timeout', 'soon')).code).toBe(2);
    const missing = await audit('--kubeconfig', join(here, 'no-such-kubeconfig'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot load kubeconfig/);
    const context = await audit('--kubeconfig', kubeconfig, '--context', 'nope');
    expect(context.code).toBe(2);
    expect(context.err).toMatch(/no context "nope"/);
  });

  it('as `kubectl sockeye audit`, piped: the report on stdout, nothing on stderr, exit code by severity', async () => {
    const bin = join(here, '../../bin/kubectl-sockeye.js');
    const failed = await exec(process.execPath, [bin, 'audit', ...base, '-o', 'json'], {
      timeout: 60_000,
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect('code' in failed ? failed.code : 0).toBe(1);
    expect(failed.stderr).toBe('');
    expect((JSON.parse(failed.stdout) as AuditReport).exitCode).toBe(1);
  });

  describe('with namespace-only permissions', () => {
    let dir: string;
    let limited: string;
    let contextual: string;

    beforeAll(async () => {
      const local = inject('localCluster');
      if (!local) return;
      dir = await mkdtemp(join(tmpdir(), 'sockeye-audit-rbac-'));
      const rbac = kube.kc.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: ns,
        body: {
          metadata: { name: 'auditor' },
          rules: [
            { apiGroups: [''], resources: ['services', 'pods'], verbs: ['get', 'list'] },
            { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list'] },
          ],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: 'auditor' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'auditor' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'ns-auditor' }],
        },
      });
      const pki = { caCert: join(local.dir, 'pki/ca.crt'), caKey: join(local.dir, 'pki/ca.key') } as Pki;
      const { cert, key } = await makeClientCert(pki, dir, 'ns-auditor');
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfig);
      const yaml = kubeconfigYaml(kc.getCurrentCluster()!.server, pki, 'ns-auditor', cert, key);
      limited = join(dir, 'limited.yaml');
      contextual = join(dir, 'contextual.yaml');
      await writeFile(limited, yaml);
      await writeFile(contextual, yaml.replace('user: ns-auditor}', `user: ns-auditor, namespace: ${ns}}`));
      // RBAC reaches the authorizer through an informer: wait until the Role applies.
      await eventually('the Role to apply', async () =>
        (await audit('--kubeconfig', limited, '-n', ns, ...FAST)).code === 1 ? true : undefined,
      );
    });

    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('audits what it can read and says once what it could not', async (ctx) => {
      if (!inject('localCluster')) ctx.skip();
      const run = await audit('--kubeconfig', limited, '-n', ns, '-n', 'kube-system', ...FAST, '-o', 'json');
      expect(run.code).toBe(1);
      const report = JSON.parse(run.out) as AuditReport;
      const access = report.access.map((a) => `${a.resource} ${a.namespaces.join(',')} ${a.reason}`);
      expect(access.sort()).toEqual(
        [
          `namespaces ${['kube-system', ns].sort().join(',')} Forbidden`,
          `services kube-system Forbidden`,
          `endpointslices kube-system Forbidden`,
          `pods kube-system Forbidden`,
          `networkpolicies ${['kube-system', ns].sort().join(',')} Forbidden`,
        ].sort(),
      );
      // Said once each, on stderr, since stdout carries JSON.
      const lines = run.err.trim().split('\n');
      expect(lines.filter((l) => l.includes('cannot read networkpolicies')).length).toBe(1);
      expect(run.err).toMatch(/timeouts there are not attributed to NetworkPolicies/);
      // The same problems are still found; the vault timeout is no longer blamed on its policy.
      expect(report.findings.find((f) => f.reason === 'NoHealthyTargets')?.object.name).toBe('api');
      const vault = report.findings.find((f) => f.object.name === 'vault');
      expect(vault?.evidence.policies).toEqual([]);
      expect(vault?.caveat).toMatch(/NetworkPolicies in namespace .* could not be read/);
    });

    it('falls back to the context namespace when namespaces cannot be listed', async (ctx) => {
      if (!inject('localCluster')) ctx.skip();
      const run = await audit('--kubeconfig', contextual, ...FAST);
      expect(run.code).toBe(1);
      expect(run.err).toBe('');
      expect(run.out).toContain(`only namespace "${ns}" (the kubeconfig context's) was audited`);
      expect(run.out.match(/cannot read networkpolicies/g)?.length).toBe(1);
      expect(run.out).toContain(`NAMESPACE ${ns}`);
    });

    it('exits 2 with a clear message when it can read no Service at all', async (ctx) => {
      if (!inject('localCluster')) ctx.skip();
      const run = await audit('--kubeconfig', limited, '-n', 'kube-system', ...FAST);
      expect(run.code).toBe(2);
      expect(run.err).toMatch(/cannot list Services in any namespace in scope \(kube-system\)/);
    });
  });
});

describe('sockeye audit where pod IPs are not routable', () => {
  let kube: TestKube;
  const ns = uniqueNamespace('audit-unroutable');
  const pods = ['a', 'b', 'c', 'd'].map(
    (n) => `apiVersion: v1
kind: Pod
metadata:
  name: far-${n}
  labels: {app: far}
  annotations: {sim.sockeye.dev/listen: "8080", sim.sockeye.dev/network: down}
spec:
  containers: [{name: app, image: far, ports: [{containerPort: 8080}]}]
`,
  );

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    const service = `apiVersion: v1
kind: Service
metadata: {name: far}
spec:
  selector: {app: far}
  ports: [{port: 80, targetPort: 8080}]
`;
    await applyYaml(kube, [service, ...pods].join('---\n'), ns);
    const running = await settle(kube, ns, { far: 4 });
    for (const p of running) {
      await eventually(`${p.metadata?.name} unreachable`, async () =>
        (await tcpConnect(p.status!.podIP!, 8080)) === 'unreachable' ? true : undefined,
      );
    }
  });

  afterAll(async () => {
    if (kube) await deleteNamespace(kube, ns);
  });

  it('says so once, blames no target, tells how to run inside the cluster, and exits 2', async () => {
    const run = await audit('--kubeconfig', inject('kubeconfig'), '-n', ns, ...FAST);
    expect(run.code).toBe(2);
    expect(run.out.match(/not routable from this machine/g)?.length).toBe(1);
    expect(run.out).toContain("the Helm chart's audit Job");
    expect(run.out).not.toMatch(/NoHealthyTargets|PortNotListening|ReadyButRefusing/);
    const json = await audit('--kubeconfig', inject('kubeconfig'), '-n', ns, ...FAST, '-o', 'json');
    const report = JSON.parse(json.out) as AuditReport;
    expect(report.reachability).toMatchObject({ routable: false, pods: 4, outcomes: { unreachable: 4 } });
    expect(report.findings).toEqual([]);
    expect(json.err.match(/not routable/g)?.length).toBe(1);
  });
});

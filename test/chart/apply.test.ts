import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { binaryPath } from '../../cluster/binaries.ts';
import { deleteNamespace, testKube, uniqueNamespace } from '../support/kube.ts';
import {
  chartDir,
  ciDir,
  ciValuesFiles,
  exec,
  helm,
  mustExec,
  parseObjects,
  type Result,
  renderChart,
} from './helm.ts';

const crds = fileURLToPath(new URL('./fixtures/monitoring-crds.yaml', import.meta.url));

/**
 * Every ci/ render, applied with `kubectl apply --dry-run=server` to the suite's kube-apiserver:
 * schema, strict field validation, RBAC escalation checks and Pod Security admission judge it, in a
 * namespace that enforces (and warns about) the `restricted` standard.
 */
describe('charts/sockeye against the API server', () => {
  const kube = testKube();
  const kubeconfig = inject('kubeconfig');
  const created: string[] = [];
  let createdCrds = false;
  const kubectl = (args: readonly string[], input?: string): Promise<Result> =>
    exec(binaryPath('kubectl'), ['--kubeconfig', kubeconfig, ...args], input);

  /** A namespace that enforces `restricted` Pod Security and warns about every violation. */
  async function restrictedNamespace(name: string): Promise<void> {
    await kube.core.createNamespace({
      body: {
        metadata: {
          name,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/audit': 'restricted',
          },
        },
      },
    });
    created.push(name);
  }

  /** Creates the namespaces a render puts objects in that do not exist yet (e.g. namespace-scoped Roles). */
  async function ensureNamespaces(yaml: string): Promise<void> {
    const names = new Set(
      parseObjects(yaml).flatMap((o) => (o.metadata.namespace ? [o.metadata.namespace] : [])),
    );
    for (const name of names) {
      const exists = await kube.core.readNamespace({ name }).then(
        () => true,
        () => false,
      );
      if (!exists) await restrictedNamespace(name);
    }
  }

  async function dryRun(yaml: string): Promise<Result> {
    await ensureNamespaces(yaml);
    return kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], yaml);
  }

  beforeAll(async () => {
    const existing = await kubectl(['get', 'crd', 'servicemonitors.monitoring.coreos.com']);
    if (existing.code !== 0) {
      await mustExec(binaryPath('kubectl'), ['--kubeconfig', kubeconfig, 'apply', '-f', crds]);
      createdCrds = true;
      const wait = ['wait', '--for=condition=Established', '--timeout=60s', '-f', crds];
      await mustExec(binaryPath('kubectl'), ['--kubeconfig', kubeconfig, ...wait]);
    }
  });

  afterAll(async () => {
    for (const name of created) await deleteNamespace(kube, name);
    if (createdCrds) await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', crds]);
  });

  it.each(ciValuesFiles())('accepts the render of ci/%s, with no Pod Security warning', async (file) => {
    const namespace = uniqueNamespace('sockeye-chart');
    await restrictedNamespace(namespace);
    const yaml = await renderChart({ namespace, valuesFiles: [`${ciDir}${file}`] });
    const result = await dryRun(yaml);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // One "(server dry run)" line per object: nothing was skipped.
    const applied = result.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'));
    expect(applied).toHaveLength(parseObjects(yaml).length);
  });

  it('flags a pod that breaks the restricted standard (the check above can fail)', async () => {
    const namespace = uniqueNamespace('sockeye-chart');
    await restrictedNamespace(namespace);
    const yaml = await renderChart({
      namespace,
      set: ['securityContext.allowPrivilegeEscalation=true', 'podSecurityContext.runAsUser=0'],
    });
    const result = await dryRun(yaml);
    expect(result.stderr).toMatch(/would violate PodSecurity "restricted:latest"/);
    expect(result.stderr).toMatch(/allowPrivilegeEscalation/);
  });

  it('rejects a field the API does not know (strict field validation)', async () => {
    const namespace = uniqueNamespace('sockeye-chart');
    await restrictedNamespace(namespace);
    const yaml = await renderChart({ namespace });
    const broken = yaml.replace(
      'enableServiceLinks: false',
      'enableServiceLinks: false\n      enableServiceLinkz: false',
    );
    expect(broken).not.toBe(yaml);
    const result = await dryRun(broken);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/enableServiceLinkz/);
  });

  it('installs with helm (server dry-run) and its notes tell how to see findings', async () => {
    const namespace = uniqueNamespace('sockeye-chart');
    await restrictedNamespace(namespace);
    const result = await helm([
      'install',
      'sockeye',
      chartDir,
      '--namespace',
      namespace,
      '--dry-run=server',
      '--kubeconfig',
      kubeconfig,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const notes = result.stdout.slice(result.stdout.indexOf('NOTES:'));
    expect(notes).toContain('kubectl describe service');
    expect(notes).toContain('sockeye.dev/status');
    expect(notes).toContain('/metrics');
    expect(notes).toContain(`kubectl -n ${namespace} port-forward service/sockeye-metrics 8443`);
    expect(notes).toContain('--clusterrole=sockeye-metrics-reader');
    expect(notes).toContain('https://localhost:8443/metrics');
    expect(notes).toContain('sockeye explain');
  });
});

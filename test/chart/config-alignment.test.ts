import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { OUTPUTS } from '../../src/audit/render.ts';
import { FAIL_ON } from '../../src/audit/report.ts';
import { parseAuditFlags } from '../../src/cli/audit.ts';
import { loadOperatorConfig, OPERATOR_OPTIONS } from '../../src/config/operator.ts';
import { METRIC_LABELS } from '../../src/operator/metrics.ts';
import { REASON_NAMES } from '../../src/rules/catalog.ts';
import {
  chartDir,
  ciDir,
  ciValuesFiles,
  type K8sObject,
  parseObjects,
  podSpecs,
  renderChart,
} from './helm.ts';

const NAMESPACE = 'sockeye-system';
const POD_NAME = 'sockeye-operator-7d9f8-abcde';
const NODE_NAME = 'worker-2';

interface Container {
  readonly args: readonly string[];
  readonly env: readonly { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}
interface DeploymentSpec {
  readonly template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
}

async function operatorOf(
  valuesFile: string,
): Promise<{ container: Container; podLabels: Record<string, string> }> {
  const objects: K8sObject[] = parseObjects(
    await renderChart({ namespace: NAMESPACE, valuesFiles: [`${ciDir}${valuesFile}`] }),
  );
  const spec = objects.find((o) => o.kind === 'Deployment')?.spec as DeploymentSpec | undefined;
  const container = spec?.template.spec.containers.find((c) => c.args[0] === 'operator');
  if (!spec || !container) throw new Error(`ci/${valuesFile} renders no operator container`);
  return { container, podLabels: spec.template.metadata.labels };
}

/** The environment the kubelet would give the container: literal values and the downward API. */
function resolveEnv(container: Container): Record<string, string> {
  const fields: Record<string, string> = {
    'metadata.name': POD_NAME,
    'metadata.namespace': NAMESPACE,
    'spec.nodeName': NODE_NAME,
  };
  const env: Record<string, string> = { HOSTNAME: POD_NAME };
  for (const e of container.env) {
    const value = e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath ?? ''];
    if (value === undefined) throw new Error(`${e.name}: no value the test can resolve`);
    env[e.name] = value;
  }
  return env;
}

/**
 * The chart hands the operator its settings as SOCKEYE_* variables (templates/_config.tpl); these
 * tests parse what the chart renders with the operator's own loader, so a renamed or retyped setting
 * on either side fails here instead of in a crash-looping pod.
 */
describe('charts/sockeye and sockeye operator agree on the configuration', () => {
  it('sets every operator setting through the variable the operator reads, and no other', async () => {
    const { container } = await operatorOf('default-values.yaml');
    const set = new Set(container.env.map((e) => e.name).filter((n) => n.startsWith('SOCKEYE_')));
    const known = OPERATOR_OPTIONS.map((o) => o.env);
    expect([...set].filter((n) => !known.includes(n))).toEqual([]);
    // The namespace lists are set only when they list something (empty means "all" / "none"), the
    // shard only when there are shards (one shard renders the objects of an unsharded install).
    expect(known.filter((n) => !set.has(n)).sort()).toEqual([
      'SOCKEYE_EXCLUDE_NAMESPACES',
      'SOCKEYE_NAMESPACES',
      'SOCKEYE_SERVICE_CIDRS',
      'SOCKEYE_SHARD',
      'SOCKEYE_SHARDS',
    ]);
    const sharded = await operatorOf('sharded-values.yaml');
    expect(known.filter((n) => !sharded.container.env.some((e) => e.name === n)).sort()).toEqual([
      'SOCKEYE_EXCLUDE_NAMESPACES',
      'SOCKEYE_NAMESPACES',
      'SOCKEYE_SERVICE_CIDRS',
    ]);
  });

  it.each(ciValuesFiles())('renders, with ci/%s, a configuration the operator accepts', async (file) => {
    const { container, podLabels } = await operatorOf(file);
    const config = loadOperatorConfig({
      argv: container.args.slice(1),
      env: resolveEnv(container),
      readFile: () => {
        throw new Error('the chart passes no config file');
      },
    });
    expect(config.prober).toEqual({
      podName: POD_NAME,
      nodeName: NODE_NAME,
      namespace: NAMESPACE,
      labels: podLabels,
    });
    expect(config.leaderElection.leaseNamespace).toBe(NAMESPACE);
    expect(config.http.port).toBe(8080);
    expect(config.metrics).toEqual({ secure: true, port: 8443 });
  });

  it('turns the defaults into the operator settings the chart documents', async () => {
    const { container } = await operatorOf('default-values.yaml');
    const config = loadOperatorConfig({ argv: [], env: resolveEnv(container), readFile: () => '' });
    expect(config).toMatchObject({
      intervalMs: 30_000,
      intervalJitter: 0.1,
      timeoutMs: 2000,
      concurrency: 64,
      confirmations: 2,
      namespaces: { include: [], exclude: [] },
      leaderElection: {
        enabled: true,
        leaseName: 'sockeye-operator',
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2000,
      },
      writeAnnotations: true,
      writeEvents: true,
      writeReports: false,
      optIn: { selectorlessServices: false, hostNetworkPods: false, serviceCIDRs: [] },
      hops: { checkClusterIP: true, checkNodePorts: true, checkLoadBalancers: true },
    });
  });

  it('gives each shard Deployment its shard, its Lease and its pod labels', async () => {
    const objects = parseObjects(
      await renderChart({ namespace: NAMESPACE, valuesFiles: [`${ciDir}sharded-values.yaml`] }),
    );
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments).toHaveLength(3);
    deployments.forEach((d, index) => {
      const spec = d.spec as DeploymentSpec;
      const container = spec.template.spec.containers.find((c) => c.args[0] === 'operator');
      if (!container) throw new Error(`${d.metadata.name}: no operator container`);
      const config = loadOperatorConfig({ argv: [], env: resolveEnv(container), readFile: () => '' });
      expect(config.shard).toEqual({ index, count: 3 });
      expect(config.leaderElection.leaseName).toBe(`sockeye-operator-${index}`);
      expect(config.prober.labels).toEqual(spec.template.metadata.labels);
    });
  });

  it('passes the namespace-scoped mode, the report-only mode and the opt-in modes through', async () => {
    const namespaced = await operatorOf('namespaced-values.yaml');
    const scoped = loadOperatorConfig({
      argv: [],
      env: resolveEnv(namespaced.container),
      readFile: () => '',
    });
    expect(scoped.namespaces.include).toEqual(['sockeye-ci-team-a', 'sockeye-ci-team-b']);
    const reportOnly = await operatorOf('report-only-values.yaml');
    const quiet = loadOperatorConfig({ argv: [], env: resolveEnv(reportOnly.container), readFile: () => '' });
    expect(quiet.writeEvents).toBe(false);
    expect(quiet.writeAnnotations).toBe(false);
    const optIn = await operatorOf('opt-in-values.yaml');
    const open = loadOperatorConfig({ argv: [], env: resolveEnv(optIn.container), readFile: () => '' });
    expect(open.optIn).toEqual({
      selectorlessServices: true,
      hostNetworkPods: true,
      serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/108'],
    });
  });
});

describe('charts/sockeye and sockeye audit agree on the flags', () => {
  it.each(['audit-job-values.yaml', 'audit-cronjob-values.yaml'])(
    'renders, with ci/%s, flags the audit accepts',
    async (file) => {
      const objects = parseObjects(
        await renderChart({ namespace: NAMESPACE, valuesFiles: [`${ciDir}${file}`] }),
      );
      const pod = podSpecs(objects).find((p) => p.owner.includes('audit'))?.spec as
        | { containers: Container[] }
        | undefined;
      const [command, ...args] = pod?.containers[0]?.args ?? [];
      expect(command).toBe('audit');
      // The hop switches come as the operator's variables, set from the same chart values (beside
      // Node's memory flags, which are not sockeye's settings).
      const env = Object.fromEntries(
        (pod?.containers[0]?.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])),
      );
      expect(Object.keys(env).sort()).toEqual([
        'MALLOC_ARENA_MAX',
        'NODE_OPTIONS',
        'SOCKEYE_CHECK_CLUSTER_IP',
        'SOCKEYE_CHECK_LOAD_BALANCERS',
        'SOCKEYE_CHECK_NODE_PORTS',
      ]);
      expect(() => parseAuditFlags(args, env)).not.toThrow();
      expect(parseAuditFlags(args, { ...env, SOCKEYE_CHECK_NODE_PORTS: 'false' })).toMatchObject({
        checkNodePorts: false,
      });
    },
  );

  it('offers exactly the output formats and --fail-on levels in values.schema.json', async () => {
    const schema = JSON.parse(await readFile(`${chartDir}values.schema.json`, 'utf8')) as {
      properties: { auditJob: { properties: { output: { enum: string[] }; failOn: { enum: string[] } } } };
    };
    expect(schema.properties.auditJob.properties.output.enum).toEqual([...OUTPUTS]);
    expect(schema.properties.auditJob.properties.failOn.enum).toEqual([...FAIL_ON]);
  });
});

describe('charts/sockeye alerts and the operator /metrics agree', () => {
  it('reads only metrics and labels the operator exports, and alerts only on real reasons', async () => {
    const objects = parseObjects(
      await renderChart({ namespace: NAMESPACE, valuesFiles: [`${ciDir}monitoring-values.yaml`] }),
    );
    const spec = objects.find((o) => o.kind === 'PrometheusRule')?.spec as
      | { groups: { rules: { alert?: string; expr: string }[] }[] }
      | undefined;
    const alerts = (spec?.groups[0]?.rules ?? []).filter((r) => r.alert !== undefined);
    expect(alerts.length).toBeGreaterThan(0);
    for (const rule of alerts) {
      for (const [, metric, matchers] of rule.expr.matchAll(/\b(sockeye_[a-z_]+)(\{[^}]*\})?/g)) {
        const labels = METRIC_LABELS[metric ?? ''];
        expect(labels, `${rule.alert}: ${metric} is not one of the operator's metrics`).toBeDefined();
        for (const [, label] of (matchers ?? '').matchAll(/(\w+)\s*(?:=|!=|=~|!~)/g)) {
          expect(labels, `${rule.alert}: ${metric} has no label ${label}`).toContain(label);
        }
      }
      for (const [, by] of rule.expr.matchAll(/by \(([^)]*)\)/g)) {
        const grouped = (by ?? '').split(',').map((l) => l.trim());
        const all = new Set(Object.values(METRIC_LABELS).flat());
        for (const label of grouped) expect(all, `${rule.alert}: by ${label}`).toContain(label);
      }
      const reason = /reason="(\w+)"/.exec(rule.expr)?.[1];
      if (reason !== undefined) expect(REASON_NAMES).toContain(reason);
    }
  });
});

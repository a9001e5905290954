import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chartDir,
  ciDir,
  ciValuesFiles,
  grantedVerbs,
  helm,
  type K8sObject,
  KUBE_VERSION,
  parseObjects,
  podSpecs,
  rbacRules,
  renderChart,
  tryTemplate,
  VAP_API,
} from './helm.ts';

const NAMESPACE = 'sockeye-system';
const render = async (valuesFile?: string, set: readonly string[] = []): Promise<K8sObject[]> =>
  parseObjects(
    await renderChart({
      namespace: NAMESPACE,
      valuesFiles: valuesFile ? [`${ciDir}${valuesFile}`] : [],
      set,
    }),
  );
const find = (objects: readonly K8sObject[], kind: string): K8sObject[] =>
  objects.filter((o) => o.kind === kind);

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'max', 'min', 'sum', 'rate', 'absent', 'by', 'without']);

/** The spec of the first object of `kind`, typed as the test reads it; throws when there is none. */
function specOf<T>(objects: readonly K8sObject[], kind: string): T {
  const spec = find(objects, kind)[0]?.spec;
  if (spec === undefined) throw new Error(`the render has no ${kind} with a spec`);
  return spec as T;
}

describe('charts/sockeye', () => {
  it('has a ci/ values file for every supported mode', () => {
    expect(ciValuesFiles()).toEqual(
      expect.arrayContaining([
        'default-values.yaml',
        'namespaced-values.yaml',
        'monitoring-values.yaml',
        'audit-job-values.yaml',
        'audit-cronjob-values.yaml',
        'report-only-values.yaml',
        'single-replica-values.yaml',
      ]),
    );
  });

  it.each(ciValuesFiles())('passes helm lint --strict with ci/%s', async (file) => {
    const result = await helm([
      'lint',
      chartDir,
      '--strict',
      '--kube-version',
      KUBE_VERSION,
      '--values',
      `${ciDir}${file}`,
    ]);
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });

  it('rejects a misspelt value (values.schema.json: additionalProperties false)', async () => {
    const result = await tryTemplate(['replicas=2', 'replicaCountt=1']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/additional properties 'replicaCountt' not allowed/);
  });

  it.each([
    ['a nested typo', 'operator.intervall=10s', /intervall/],
    ['a bad duration', 'operator.timeout=2 seconds', /timeout/],
    ['an unknown finding reason', 'metrics.prometheusRule.alerts.findings.reasons={NoSuchReason}', /reasons/],
    ['an invalid namespace name', 'watch.namespaces={Team_A}', /namespaces/],
  ])('rejects %s', async (_what, set, message) => {
    const result = await tryTemplate([set]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it.each([
    ['replicas > 1 without leader election', ['leaderElection.enabled=false'], /leaderElection/],
    [
      'excludeNamespaces in namespace-scoped mode',
      ['watch.namespaces={a}', 'watch.excludeNamespaces={b}'],
      /cluster-wide mode only/,
    ],
  ])('refuses %s', async (_what, set, message) => {
    const result = await tryTemplate(set);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it('closes every object of values.schema.json (additionalProperties false, or a typed map)', async () => {
    const schema = JSON.parse(await readFile(`${chartDir}values.schema.json`, 'utf8')) as unknown;
    const open: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const n = node as Record<string, unknown>;
      const isObject = n.type === 'object' || (Array.isArray(n.type) && n.type.includes('object'));
      const passthrough = typeof n.$comment === 'string' && n.$comment.startsWith('Kubernetes ');
      if (
        isObject &&
        !passthrough &&
        n.additionalProperties !== false &&
        typeof n.additionalProperties !== 'object'
      ) {
        open.push(path || '(root)');
      }
      for (const [key, value] of Object.entries(n)) walk(value, `${path}/${key}`);
    };
    walk(schema, '');
    expect(open).toEqual([]);
  });

  it('documents every value of values.yaml in values.schema.json and in a comment', async () => {
    const valuesText = await readFile(`${chartDir}values.yaml`, 'utf8');
    const schema = JSON.parse(await readFile(`${chartDir}values.schema.json`, 'utf8')) as SchemaNode;
    const { parse } = await import('yaml');
    const values = parse(valuesText) as Record<string, unknown>;
    const missing: string[] = [];
    // A described object (e.g. securityContext, a Kubernetes type) describes its fields too.
    const walk = (
      value: Record<string, unknown>,
      node: SchemaNode,
      path: string,
      described: boolean,
    ): void => {
      for (const [key, child] of Object.entries(value)) {
        const childNode = node.properties?.[key];
        if (!childNode) {
          missing.push(`${path}${key}`);
          continue;
        }
        const own = Boolean(childNode.description || childNode.$comment);
        if (!own && !described) missing.push(`${path}${key} (no description)`);
        if (child && typeof child === 'object' && !Array.isArray(child) && childNode.properties) {
          walk(child as Record<string, unknown>, childNode, `${path}${key}.`, own || described);
        }
      }
    };
    walk(values, schema, '', false);
    expect(missing).toEqual([]);
    expect(undocumentedLeaves(valuesText)).toEqual([]);
  });

  it.each(ciValuesFiles())('renders ci/%s with least-privilege RBAC', async (file) => {
    const objects = await render(file);
    const rules = rbacRules(objects);
    expect(rules.length).toBeGreaterThan(0);
    for (const { role, rule } of rules) {
      const where = `${role.kind}/${role.metadata.name} ${JSON.stringify(rule)}`;
      expect(rule.verbs, where).not.toContain('*');
      expect(rule.resources ?? [], where).not.toContain('*');
      expect(rule.apiGroups ?? [], where).not.toContain('*');
      // Non-resource URLs only in the metrics reader role: get on what sockeye serves.
      if (rule.nonResourceURLs) {
        expect(role.metadata.name, where).toBe('sockeye-metrics-reader');
        expect(rule, where).toEqual({
          nonResourceURLs: ['/metrics', '/sockeye/v1/findings'],
          verbs: ['get'],
        });
      }
      // Nothing that holds credentials or configuration, and no workload controllers.
      for (const forbidden of ['secrets', 'configmaps', 'serviceaccounts', 'nodes/proxy', 'pods/exec']) {
        expect(rule.resources ?? [], where).not.toContain(forbidden);
      }
      expect(rule.apiGroups ?? [], where).not.toContain('apps');
      expect(rule.apiGroups ?? [], where).not.toContain('batch');
      // Deleting: only the operator's own policy report, by name (reports.enabled).
      const ownReport =
        rule.apiGroups?.join() === 'openreports.io' &&
        rule.resources?.join() === 'reports' &&
        rule.resourceNames?.join() === 'sockeye';
      for (const verb of ['delete', 'deletecollection', 'escalate', 'bind', 'impersonate']) {
        if (verb === 'delete' && ownReport) continue;
        expect(rule.verbs, where).not.toContain(verb);
      }
    }
    for (const resource of ['deployments', 'statefulsets', 'daemonsets', 'replicasets']) {
      expect(grantedVerbs(objects, 'operator', 'apps', resource)).toEqual(new Set());
    }
    // The audit never writes.
    for (const { role, rule } of rules) {
      if (role.metadata.labels?.['app.kubernetes.io/component'] !== 'audit') continue;
      expect(rule.verbs.filter((v) => !['get', 'list', 'watch'].includes(v))).toEqual([]);
    }
  });

  it('grants the default operator exactly what its features need, cluster-wide', async () => {
    const objects = await render('default-values.yaml');
    // sockeye-test: the helm test hook's read-only Role (test/chart/helm-test-hook.test.ts).
    expect(find(objects, 'Role').map((r) => r.metadata.name)).toEqual([
      'sockeye-operator-leader-election',
      'sockeye-test',
    ]);
    expect(
      find(objects, 'ClusterRole')
        .map((r) => r.metadata.name)
        .sort(),
    ).toEqual([
      'sockeye-metrics-reader',
      'sockeye-operator',
      'sockeye-operator-delegated-auth',
      'sockeye-operator-nodes',
    ]);
    const verbs = (group: string, resource: string) =>
      [...grantedVerbs(objects, 'operator', group, resource)].sort();
    // Read through informers (list, watch) and a labelled pod list; never one object by name: no get.
    expect(verbs('', 'services')).toEqual(['list', 'patch', 'watch']);
    expect(verbs('', 'pods')).toEqual(['list', 'patch', 'watch']);
    expect(verbs('discovery.k8s.io', 'endpointslices')).toEqual(['list', 'watch']);
    expect(verbs('networking.k8s.io', 'networkpolicies')).toEqual(['list', 'watch']);
    expect(verbs('', 'namespaces')).toEqual(['list', 'watch']);
    // The NodePort checks read each Node's InternalIPs; nothing else of Nodes.
    expect(verbs('', 'nodes')).toEqual(['list', 'watch']);
    expect(verbs('', 'nodes/proxy')).toEqual([]);
    expect(verbs('events.k8s.io', 'events')).toEqual(['create', 'list', 'patch']);
    // sockeye writes events.k8s.io/v1 only (src/kube/events.ts): no grant on core Events.
    expect(verbs('', 'events')).toEqual([]);
    // Secure metrics: a TokenReview and a SubjectAccessReview per caller.
    expect(verbs('authentication.k8s.io', 'tokenreviews')).toEqual(['create']);
    expect(verbs('authorization.k8s.io', 'subjectaccessreviews')).toEqual(['create']);
    expect(verbs('coordination.k8s.io', 'leases')).toEqual(['create', 'get', 'update']);
    expect(verbs('', 'secrets')).toEqual([]);
    // Policy reports are opt-in (reports.enabled): no grant on them by default.
    expect(verbs('openreports.io', 'reports')).toEqual([]);
    // ServiceCIDRs only with an opt-in mode on (below).
    expect(verbs('networking.k8s.io', 'servicecidrs')).toEqual([]);
    // The Lease Role lives in the release namespace and names its Lease for get/update.
    const lease = find(objects, 'Role')[0];
    expect(lease?.metadata.namespace).toBe(NAMESPACE);
    expect(lease?.rules).toContainEqual({
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      resourceNames: ['sockeye-operator'],
      verbs: ['get', 'update'],
    });
    const binding = find(objects, 'ClusterRoleBinding')[0];
    expect(binding?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'sockeye', namespace: NAMESPACE }]);
  });

  it('grants list/watch on ServiceCIDRs, and nothing else more, only with an opt-in mode on', async () => {
    const objects = await render('opt-in-values.yaml');
    const defaults = await render('default-values.yaml');
    const names = (o: typeof objects) => find(o, 'ClusterRole').map((r) => r.metadata.name);
    expect(names(objects).filter((n) => !names(defaults).includes(n))).toEqual([
      'sockeye-operator-service-cidrs',
    ]);
    expect([...grantedVerbs(objects, 'operator', 'networking.k8s.io', 'servicecidrs')].sort()).toEqual([
      'list',
      'watch',
    ]);
    expect(rbacRules(objects).length).toBe(rbacRules(defaults).length + 1);
    expect(operatorEnv(objects).SOCKEYE_SERVICE_CIDRS).toBe('10.96.0.0/12,fd00:10:96::/108');
    expect(operatorEnv(defaults).SOCKEYE_SERVICE_CIDRS).toBeUndefined();
    for (const mode of ['probeSelectorlessServices', 'probeHostNetworkPods']) {
      const one = await render('default-values.yaml', [`operator.${mode}=true`]);
      expect(names(one), mode).toContain('sockeye-operator-service-cidrs');
    }
  });

  it('writes nothing to workload namespaces when Events and annotations are off', async () => {
    const objects = await render('report-only-values.yaml');
    // The token and access reviews of secure metrics create nothing that is stored.
    const reviews = ['tokenreviews', 'subjectaccessreviews'];
    const writes = rbacRules(objects)
      .filter(({ role }) => role.kind === 'ClusterRole')
      .filter(({ rule }) => !rule.resources?.every((r) => reviews.includes(r)))
      .flatMap(({ rule }) => rule.verbs.filter((v) => !['get', 'list', 'watch'].includes(v)));
    expect(writes).toEqual([]);
    const env = operatorEnv(objects);
    expect(env.SOCKEYE_EVENTS).toBe('false');
    expect(env.SOCKEYE_ANNOTATIONS).toBe('false');
  });

  it('uses Roles in the listed namespaces, and no ClusterRole on namespaced objects, in namespace-scoped mode', async () => {
    const objects = await render('namespaced-values.yaml');
    // Cluster-wide, only the reviews of secure metrics and the Nodes of the NodePort checks
    // (cluster-scoped), and the metrics reader role: nothing on any namespaced object.
    expect(
      rbacRules(find(objects, 'ClusterRole'))
        .flatMap(({ rule }) => rule.resources ?? rule.nonResourceURLs ?? [])
        .sort(),
    ).toEqual(['/metrics', '/sockeye/v1/findings', 'nodes', 'subjectaccessreviews', 'tokenreviews']);
    expect(find(objects, 'ClusterRoleBinding').map((b) => b.metadata.name)).toEqual([
      'sockeye-operator-delegated-auth',
      'sockeye-operator-nodes',
    ]);
    const roles = find(objects, 'Role').map((r) => `${r.metadata.namespace}/${r.metadata.name}`);
    expect(roles.sort()).toEqual(
      [
        `${NAMESPACE}/sockeye-operator-leader-election`,
        `${NAMESPACE}/sockeye-test`,
        'sockeye-ci-team-a/sockeye-operator',
        'sockeye-ci-team-b/sockeye-operator',
      ].sort(),
    );
    const teamA = find(objects, 'Role').find((r) => r.metadata.namespace === 'sockeye-ci-team-a');
    // A Role can only grant its own Namespace object, by name.
    expect(teamA?.rules).toContainEqual({
      apiGroups: [''],
      resources: ['namespaces'],
      resourceNames: ['sockeye-ci-team-a'],
      verbs: ['get'],
    });
    // The operator's bindings; the helm test hook's binds its own ServiceAccount (helm-test-hook.test.ts).
    for (const binding of find(objects, 'RoleBinding').filter((b) => b.metadata.name !== 'sockeye-test')) {
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'sockeye', namespace: NAMESPACE }]);
    }
    expect(operatorEnv(objects).SOCKEYE_NAMESPACES).toBe('sockeye-ci-team-a,sockeye-ci-team-b');
  });

  it('runs one replica without a Lease Role or PodDisruptionBudget when leader election is off', async () => {
    const objects = await render('single-replica-values.yaml');
    expect(find(objects, 'PodDisruptionBudget')).toEqual([]);
    expect(grantedVerbs(objects, 'operator', 'coordination.k8s.io', 'leases')).toEqual(new Set());
    expect(operatorEnv(objects).SOCKEYE_LEADER_ELECT).toBe('false');
  });

  it('renders one shard as an unsharded install: one Deployment, no shard label or setting', async () => {
    const [one, unset] = await Promise.all([
      renderChart({ namespace: NAMESPACE, set: ['sharding.shards=1'] }),
      renderChart({ namespace: NAMESPACE }),
    ]);
    expect(one).toBe(unset);
    expect(one).not.toContain('sockeye.dev/shard');
    expect(one).not.toContain('SOCKEYE_SHARD');
  });

  it('runs sharding.shards=3 as 3 Deployments of `replicas` each, with a Lease, PDB and spread per shard', async () => {
    const objects = await render('sharded-values.yaml', ['replicas=3']);
    type Spec = {
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: {
        metadata: { labels: Record<string, string> };
        spec: { topologySpreadConstraints: { labelSelector: { matchLabels: Record<string, string> } }[] };
      };
    };
    const deployments = find(objects, 'Deployment');
    expect(deployments.map((d) => d.metadata.name)).toEqual([0, 1, 2].map((i) => `sockeye-operator-${i}`));
    const selectors = deployments.map((d, i) => {
      const spec = d.spec as Spec;
      expect(spec.replicas).toBe(3);
      expect(spec.selector.matchLabels['sockeye.dev/shard']).toBe(String(i));
      expect(d.metadata.labels?.['sockeye.dev/shard']).toBe(String(i));
      // The pods match their own Deployment only, and spread among themselves.
      for (const [k, v] of Object.entries(spec.selector.matchLabels))
        expect(spec.template.metadata.labels[k]).toBe(v);
      for (const c of spec.template.spec.topologySpreadConstraints)
        expect(c.labelSelector.matchLabels).toEqual(spec.selector.matchLabels);
      return spec.selector.matchLabels;
    });
    expect(new Set(selectors.map((s) => JSON.stringify(s))).size).toBe(3);
    // One PDB per shard, so a drain keeps every shard's standby.
    const pdbs = find(objects, 'PodDisruptionBudget');
    expect(pdbs.map((p) => (p.spec as { selector: { matchLabels: unknown } }).selector.matchLabels)).toEqual(
      selectors,
    );
    // Each shard's Lease, and no other, may be read and renewed.
    const leases = rbacRules(objects).filter(
      ({ rule }) => rule.resources?.includes('leases') && rule.resourceNames !== undefined,
    );
    expect(leases.map(({ rule }) => rule.resourceNames)).toEqual([
      ['sockeye-operator-0', 'sockeye-operator-1', 'sockeye-operator-2'],
    ]);
    // One metrics Service over every shard's pods (the ServiceMonitor scrapes them all).
    const services = find(objects, 'Service').filter((o) => o.metadata.name === 'sockeye-metrics');
    expect(services).toHaveLength(1);
    const serviceSelector =
      (services[0]?.spec as { selector: Record<string, string> } | undefined)?.selector ?? {};
    expect(Object.keys(serviceSelector).length).toBeGreaterThan(0);
    expect(serviceSelector['sockeye.dev/shard']).toBeUndefined();
    for (const s of selectors) for (const [k, v] of Object.entries(serviceSelector)) expect(s[k]).toBe(v);
    // Other objects carry no shard label.
    for (const o of objects)
      if (o.kind !== 'Deployment' && o.kind !== 'PodDisruptionBudget')
        expect(o.metadata.labels?.['sockeye.dev/shard'], `${o.kind}/${o.metadata.name}`).toBeUndefined();
  });

  it.each([['0'], ['-1'], ['two']])('refuses sharding.shards=%s', async (value) => {
    const result = await tryTemplate([`sharding.shards=${value}`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/sharding/);
  });

  it('runs the operator highly available: 2 replicas, leader election, PDB, topology spread, probes', async () => {
    const objects = await render('default-values.yaml');
    const spec = specOf<{
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    }>(objects, 'Deployment');
    expect(spec.replicas).toBe(2);
    const env = operatorEnv(objects);
    expect(env.SOCKEYE_LEADER_ELECT).toBe('true');
    expect(env.SOCKEYE_LEASE_NAME).toBe('sockeye-operator');
    expect(env.SOCKEYE_LEASE_NAMESPACE).toBe(NAMESPACE);
    expect(specOf<{ selector: unknown }>(objects, 'PodDisruptionBudget').selector).toEqual(spec.selector);
    const pod = podSpecs(objects)[0]?.spec as {
      topologySpreadConstraints: { topologyKey: string; labelSelector: unknown }[];
      containers: {
        args: string[];
        livenessProbe: { httpGet: { path: string; port: string } };
        readinessProbe: { httpGet: { path: string; port: string } };
        ports: { name: string; containerPort: number }[];
      }[];
    };
    expect(pod.topologySpreadConstraints.map((c) => c.topologyKey)).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ]);
    expect(pod.topologySpreadConstraints[0]?.labelSelector).toEqual({
      matchLabels: spec.selector.matchLabels,
    });
    const container = pod.containers[0];
    expect(container?.args).toEqual(['operator']);
    expect(container?.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(container?.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(container?.ports).toEqual([
      { name: 'health', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 8443, protocol: 'TCP' },
    ]);
    expect(env.SOCKEYE_HTTP_PORT).toBe('8080');
    expect(env.SOCKEYE_HTTP_HOST).toBe('::');
    expect(env.SOCKEYE_METRICS_SECURE).toBe('true');
    expect(env.SOCKEYE_METRICS_PORT).toBe('8443');
    expect(specOf<{ ports: unknown[] }>(objects, 'Service').ports).toEqual([
      { name: 'https-metrics', port: 8443, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    expect(specOf<{ selector: unknown }>(objects, 'Service').selector).toEqual(spec.selector.matchLabels);
    // The pod labels the operator is told about are the ones its pods carry (NetworkPolicy checks).
    const podLabels = spec.template.metadata.labels;
    expect(Object.fromEntries((env.SOCKEYE_POD_LABELS ?? '').split(',').map((p) => p.split('=')))).toEqual(
      podLabels,
    );
  });

  it.each(ciValuesFiles())('sets a restricted security context on every pod of ci/%s', async (file) => {
    for (const { owner, spec } of podSpecs(await render(file))) {
      const pod = spec as {
        securityContext: Record<string, unknown>;
        hostNetwork?: boolean;
        hostPID?: boolean;
        containers: { name: string; securityContext: Record<string, unknown> }[];
      };
      expect(pod.securityContext, owner).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.hostNetwork, owner).toBeUndefined();
      expect(pod.hostPID, owner).toBeUndefined();
      for (const c of pod.containers) {
        expect(c.securityContext, `${owner} ${c.name}`).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
      }
    }
  });

  it('renders the ServiceMonitor and the NoHealthyTargets alerts on sockeye_ metrics', async () => {
    const objects = await render('monitoring-values.yaml');
    const monitor = find(objects, 'ServiceMonitor')[0];
    expect(monitor?.metadata.labels?.release).toBe('prometheus');
    const servicePort = specOf<{ ports: { name: string }[] }>(objects, 'Service').ports[0]?.name;
    const endpoints = specOf<{ endpoints: { port: string; path: string }[] }>(
      objects,
      'ServiceMonitor',
    ).endpoints;
    expect(endpoints[0]).toMatchObject({
      port: servicePort,
      path: '/metrics',
      honorLabels: true,
      scheme: 'https',
      bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      tlsConfig: { insecureSkipVerify: true },
    });
    // The reader role is bound to the Prometheus ServiceAccount the values name.
    const reader = find(objects, 'ClusterRoleBinding').find(
      (b) => b.metadata.name === 'sockeye-metrics-reader',
    );
    expect(reader?.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' },
    ]);
    const rules = specOf<{ groups: { rules: { alert?: string; record?: string; expr: string }[] }[] }>(
      objects,
      'PrometheusRule',
    ).groups[0]?.rules;
    const alerts = (rules ?? []).flatMap((r) => (r.alert ? [r.alert] : []));
    expect(alerts).toEqual(
      expect.arrayContaining([
        'SockeyeNoHealthyTargets',
        'SockeyeTargetsRefusing',
        'SockeyeNoEndpoints',
        'SockeyeTargetPortMismatch',
        'SockeyeOperatorDown',
      ]),
    );
    for (const r of rules ?? []) {
      if (r.alert === 'SockeyeOperatorDown') continue;
      // Every metric an alert reads is one of sockeye's (docs/design.md: prefix sockeye_).
      const tokens = r.expr
        .replace(/\b(by|without)\s*\([^)]*\)/g, ' ')
        .replace(/\{[^}]*\}/g, ' ')
        .replace(/\[[^\]]*\]/g, ' ')
        .match(/\b[a-z_:][a-z0-9_:]*\b/gi);
      const own = (tokens ?? []).filter((t) => !PROMQL_WORDS.has(t));
      expect(own.length, r.alert ?? r.record).toBeGreaterThan(0);
      for (const m of own) expect(m, r.expr).toMatch(/^sockeye[_:]/);
    }
    expect(rules?.at(-1)).toMatchObject({ record: 'sockeye:service_open_ratio' });
  });

  it('grants nothing on Nodes when the NodePort checks are off, and says so to the operator', async () => {
    const objects = await render('default-values.yaml', [
      'operator.checkNodePorts=false',
      'operator.checkClusterIP=false',
    ]);
    expect(grantedVerbs(objects, 'operator', '', 'nodes')).toEqual(new Set());
    expect(operatorEnv(objects).SOCKEYE_CHECK_NODE_PORTS).toBe('false');
    expect(operatorEnv(objects).SOCKEYE_CHECK_CLUSTER_IP).toBe('false');
    expect(operatorEnv(objects).SOCKEYE_CHECK_LOAD_BALANCERS).toBe('true');
  });

  it('grants the Reports sockeye keeps only with reports.enabled, in the watched namespaces', async () => {
    const objects = await render('reports-values.yaml');
    // No get: the writer lists, applies (server-side apply: a patch) and deletes, never reads one by name.
    expect([...grantedVerbs(objects, 'operator', 'openreports.io', 'reports')].sort()).toEqual([
      'create',
      'delete',
      'list',
      'patch',
    ]);
    // Everything but list on its own Report only (server-side apply creates with a name).
    const named = rbacRules(objects).filter(
      ({ rule }) => rule.apiGroups?.includes('openreports.io') && rule.verbs.includes('delete'),
    );
    expect(named.map(({ rule }) => rule.resourceNames)).toEqual([['sockeye']]);
    expect(grantedVerbs(objects, 'operator', 'openreports.io', 'clusterreports')).toEqual(new Set());
    expect(operatorEnv(objects).SOCKEYE_REPORTS).toBe('true');
    expect(operatorEnv(await render('default-values.yaml')).SOCKEYE_REPORTS).toBe('false');
    const scoped = await render('namespaced-values.yaml', ['reports.enabled=true']);
    const roles = find(scoped, 'Role').filter((r) =>
      (r.rules as { apiGroups: string[] }[] | undefined)?.some((rule) =>
        rule.apiGroups.includes('openreports.io'),
      ),
    );
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['sockeye-ci-team-a', 'sockeye-ci-team-b']);
    expect(find(scoped, 'ClusterRole').flatMap((r) => JSON.stringify(r.rules))).not.toContain('openreports');
  });

  it('scrapes plain HTTP without tokens when metrics.secure is off, and grants no reviews', async () => {
    const objects = await render('default-values.yaml', [
      'metrics.secure=false',
      'metrics.serviceMonitor.enabled=true',
    ]);
    expect(grantedVerbs(objects, 'operator', 'authentication.k8s.io', 'tokenreviews')).toEqual(new Set());
    expect(operatorEnv(objects).SOCKEYE_METRICS_SECURE).toBe('false');
    const endpoint = specOf<{ endpoints: Record<string, unknown>[] }>(objects, 'ServiceMonitor').endpoints[0];
    expect(endpoint).toMatchObject({ port: 'http-metrics', scheme: 'http' });
    expect(endpoint).not.toHaveProperty('bearerTokenFile');
  });

  it('lets only the listed namespaces reach the metrics port, anyone the health port, and egress out', async () => {
    const policy = specOf<{
      podSelector: unknown;
      policyTypes: string[];
      ingress: { ports: { port: string }[]; from?: unknown[] }[];
      egress: unknown[];
    }>(await render('default-values.yaml'), 'NetworkPolicy');
    const deployment = specOf<{ selector: unknown }>(await render('default-values.yaml'), 'Deployment');
    expect(policy.podSelector).toEqual(deployment.selector);
    expect(policy.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.ingress).toEqual([
      { ports: [{ port: 'health', protocol: 'TCP' }] },
      {
        ports: [{ port: 'metrics', protocol: 'TCP' }],
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
      },
    ]);
    expect(policy.egress).toEqual([{}]);
    const custom = await render('default-values.yaml', [
      'networkPolicy.metricsNamespaceSelectors[0].matchLabels.team=observability',
    ]);
    expect(specOf<{ ingress: { from?: unknown[] }[] }>(custom, 'NetworkPolicy').ingress[1]?.from).toEqual([
      { namespaceSelector: { matchLabels: { team: 'observability' } } },
    ]);
    expect(
      find(await render('default-values.yaml', ['networkPolicy.enabled=false']), 'NetworkPolicy'),
    ).toEqual([]);
  });

  it('renders the admission policy only where the API server serves it, for the operator ServiceAccount', async () => {
    expect(find(await render('default-values.yaml'), 'ValidatingAdmissionPolicy')).toEqual([]);
    const objects = parseObjects(
      await renderChart({
        namespace: NAMESPACE,
        valuesFiles: [`${ciDir}default-values.yaml`],
        apiVersions: [VAP_API],
      }),
    );
    const policy = specOf<{ matchConditions: { expression: string }[]; failurePolicy: string }>(
      objects,
      'ValidatingAdmissionPolicy',
    );
    expect(policy.failurePolicy).toBe('Fail');
    expect(policy.matchConditions[0]?.expression).toBe(
      `request.userInfo.username == "system:serviceaccount:${NAMESPACE}:sockeye"`,
    );
    expect(
      specOf<{ policyName: string; validationActions: string[] }>(
        objects,
        'ValidatingAdmissionPolicyBinding',
      ),
    ).toEqual({
      policyName: 'sockeye-operator-writes',
      validationActions: ['Deny'],
    });
    const off = parseObjects(
      await renderChart({
        namespace: NAMESPACE,
        set: ['admissionPolicy.enabled=false'],
        apiVersions: [VAP_API],
      }),
    );
    expect(find(off, 'ValidatingAdmissionPolicy')).toEqual([]);
  });

  it('renders the audit as a read-only Job per revision, or as a CronJob', async () => {
    const job = await render('audit-job-values.yaml');
    const [auditJob] = find(job, 'Job');
    expect(auditJob?.metadata.name).toBe('sockeye-audit-1');
    const auditPod = podSpecs(job).find((p) => p.owner.startsWith('Job/'))?.spec as {
      serviceAccountName: string;
      restartPolicy: string;
      containers: { args: string[] }[];
    };
    expect(auditPod.serviceAccountName).toBe('sockeye-audit');
    expect(auditPod.restartPolicy).toBe('Never');
    expect(auditPod.containers[0]?.args).toEqual([
      'audit',
      '--output=json',
      '--fail-on=warning',
      '--timeout=2s',
      '--concurrency=64',
    ]);
    // The audit lists (src/audit/gather.ts), never reads one object by name; cluster-wide, Namespaces too.
    for (const [group, resource] of [
      ['', 'namespaces'],
      ['', 'services'],
      ['', 'pods'],
      ['discovery.k8s.io', 'endpointslices'],
      ['networking.k8s.io', 'networkpolicies'],
    ] as const)
      expect([...grantedVerbs(job, 'audit', group, resource)], resource).toEqual(['list']);

    const cron = await render('audit-cronjob-values.yaml');
    expect(specOf<{ schedule: string }>(cron, 'CronJob').schedule).toBe('0 6 * * *');
    const cronPod = podSpecs(cron).find((p) => p.owner.startsWith('CronJob/'))?.spec as {
      containers: { args: string[] }[];
    };
    expect(cronPod.containers[0]?.args).toContain('--namespace=sockeye-ci-team-a');
    // Namespace-scoped, the audit's only cluster-wide right is listing Nodes (its NodePort hops), as the operator's.
    const clusterRoles = find(cron, 'ClusterRole').filter(
      (r) => r.metadata.labels?.['app.kubernetes.io/component'] === 'audit',
    );
    expect(clusterRoles.map((r) => [r.metadata.name, (r as { rules?: unknown }).rules])).toEqual([
      ['sockeye-audit-nodes', [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }]],
    ]);
    const noNodePorts = await render('audit-cronjob-values.yaml', ['operator.checkNodePorts=false']);
    expect(find(noNodePorts, 'ClusterRole').filter((r) => r.metadata.name.includes('audit'))).toEqual([]);
  });

  describe("derives Node's heap limit from the operator's memory limit", () => {
    it.each([
      ['256Mi, the default', [], '--max-old-space-size=192 --max-semi-space-size=4'],
      ['1Gi', ['resources.limits.memory=1Gi'], '--max-old-space-size=768 --max-semi-space-size=16'],
      ['0.5Gi', ['resources.limits.memory=0.5Gi'], '--max-old-space-size=384 --max-semi-space-size=8'],
      [
        '500M (decimal)',
        ['resources.limits.memory=500M'],
        '--max-old-space-size=357 --max-semi-space-size=7',
      ],
      [
        '268435456 (bytes)',
        ['resources.limits.memory=268435456'],
        '--max-old-space-size=192 --max-semi-space-size=4',
      ],
      ['1e9 (bytes)', ['resources.limits.memory=1e9'], '--max-old-space-size=714 --max-semi-space-size=14'],
      [
        '256Mi at heapLimitPercent 50',
        ['operator.heapLimitPercent=50'],
        '--max-old-space-size=128 --max-semi-space-size=4',
      ],
      [
        '32Mi: semi-spaces of at least 1 MiB',
        ['resources.limits.memory=32Mi'],
        '--max-old-space-size=24 --max-semi-space-size=1',
      ],
      ['no memory limit: no flag', ['resources.limits=null'], undefined],
      ['heapLimitPercent 0: no flag', ['operator.heapLimitPercent=0'], undefined],
    ])('%s', async (_case, set, flag) => {
      const env = operatorEnv(await render(undefined, set));
      expect(env.NODE_OPTIONS).toBe(flag);
      expect(env.MALLOC_ARENA_MAX).toBe('2');
    });

    /** The chart rendered with `yaml` as a values file. */
    const renderYaml = async (yaml: string): Promise<K8sObject[]> => {
      const dir = await mkdtemp(join(tmpdir(), 'sockeye-chart-'));
      try {
        const file = join(dir, 'values.yaml');
        await writeFile(file, yaml);
        return parseObjects(await renderChart({ namespace: NAMESPACE, valuesFiles: [file] }));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };

    it('gives the webhook and the audit Job the same flags, each from its own memory limit', async () => {
      const objects = await render(undefined, [
        'webhook.enabled=true',
        'auditJob.enabled=true',
        'webhook.resources.limits.memory=200Mi',
        'auditJob.resources.limits.memory=1Gi',
        'operator.heapLimitPercent=50',
      ]);
      const envOf = (owner: RegExp) => {
        const spec = podSpecs(objects).find((p) => owner.test(p.owner))?.spec as
          | { containers: { env?: { name: string; value?: string }[] }[] }
          | undefined;
        expect(spec, String(owner)).toBeDefined();
        return Object.fromEntries((spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
      };
      expect(envOf(/^Deployment\/.*webhook/)).toMatchObject({
        NODE_OPTIONS: '--max-old-space-size=100 --max-semi-space-size=3',
        MALLOC_ARENA_MAX: '2',
      });
      expect(envOf(/^Job\//)).toMatchObject({
        NODE_OPTIONS: '--max-old-space-size=512 --max-semi-space-size=16',
        MALLOC_ARENA_MAX: '2',
      });
      // Still only the operator's own: its 256Mi default at 50%.
      expect(operatorEnv(objects).NODE_OPTIONS).toBe('--max-old-space-size=128 --max-semi-space-size=4');
      const noLimit = await render(undefined, ['webhook.enabled=true', 'webhook.resources.limits=null']);
      const webhook = podSpecs(noLimit).find((p) => /webhook/.test(p.owner))?.spec as {
        containers: { env?: { name: string }[] }[];
      };
      // No limit: no heap flag, the arena bound alone.
      expect(webhook.containers[0]?.env?.map((e) => e.name)).toEqual(['MALLOC_ARENA_MAX']);
    });

    it('reads a limit written as a YAML number (helm reads it as a float)', async () => {
      const objects = await renderYaml('resources:\n  limits:\n    memory: 1073741824\n');
      expect(operatorEnv(objects).NODE_OPTIONS).toBe('--max-old-space-size=768 --max-semi-space-size=16');
    });

    it('leaves NODE_OPTIONS and MALLOC_ARENA_MAX to operator.extraEnv when it sets them', async () => {
      const env = operatorEnvList(
        await renderYaml(`operator:
  extraEnv:
    - {name: NODE_OPTIONS, value: --max-old-space-size=300}
    - {name: MALLOC_ARENA_MAX, value: "4"}
`),
      );
      expect(env.filter((e) => ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'].includes(e.name))).toEqual([
        { name: 'NODE_OPTIONS', value: '--max-old-space-size=300' },
        { name: 'MALLOC_ARENA_MAX', value: '4' },
      ]);
    });

    it('refuses a memory limit that is not a quantity, naming it', async () => {
      const result = await tryTemplate(['resources.limits.memory=lots']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('resources.limits.memory "lots" is not a memory quantity');
    });
  });

  it('pins the image by digest when one is given', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const objects = await render(undefined, [`image.digest=${digest}`]);
    const pod = podSpecs(objects)[0]?.spec as { containers: { image: string }[] };
    expect(pod.containers[0]?.image).toBe(`ghcr.io/sockeye-dev/sockeye@${digest}`);
    const tagged = podSpecs(await render())[0]?.spec as { containers: { image: string }[] };
    expect(tagged.containers[0]?.image).toMatch(/^ghcr\.io\/sockeye-dev\/sockeye:\d+\.\d+\.\d+/);
  });
});

interface SchemaNode {
  readonly description?: string;
  readonly $comment?: string;
  readonly properties?: Record<string, SchemaNode>;
}

/**
 * The keys of values.yaml that hold a value but have no `# --` comment above them, neither their own
 * nor one above an enclosing key (a documented block such as securityContext covers its fields).
 */
function undocumentedLeaves(valuesText: string): string[] {
  const lines = valuesText.split('\n');
  const stack: { indent: number; documented: boolean }[] = [];
  const out: string[] = [];
  lines.forEach((line, i) => {
    const key = /^(\s*)([A-Za-z][\w.-]*):(.*)$/.exec(line);
    if (!key) return;
    const indent = key[1]?.length ?? 0;
    while ((stack.at(-1)?.indent ?? -1) >= indent) stack.pop();
    let j = i - 1;
    let own = false;
    while (j >= 0 && /^\s*#/.test(lines[j] ?? '')) {
      if (/^\s*# --/.test(lines[j] ?? '')) own = true;
      j--;
    }
    const documented = own || stack.some((s) => s.documented);
    const isLeaf = (key[3] ?? '').trim() !== '' || /^\s*- /.test(lines[i + 1] ?? '');
    if (isLeaf && !documented) out.push(`${key[2]} (line ${i + 1})`);
    stack.push({ indent, documented });
  });
  return out;
}

/** The literal environment of the operator container. */
/** The operator container's environment, in order. */
function operatorEnvList(objects: readonly K8sObject[]): { name: string; value?: string }[] {
  const { containers } = specOf<{
    template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
  }>(objects, 'Deployment').template.spec;
  return containers[0]?.env ?? [];
}

function operatorEnv(objects: readonly K8sObject[]): Record<string, string> {
  return Object.fromEntries(
    operatorEnvList(objects).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])),
  );
}

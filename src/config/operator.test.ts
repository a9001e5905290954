import { describe, expect, it } from 'vitest';
import { configFailure } from './fixtures.ts';
import { loadOperatorConfig, OPERATOR_OPTIONS, operatorHelp } from './operator.ts';

function load(argv: string[] = [], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  return loadOperatorConfig({
    argv,
    env,
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file ${path}`);
      return text;
    },
  });
}

describe('defaults', () => {
  it('match DESIGN and client-go', () => {
    const c = load([], { HOSTNAME: 'sockeye-7d9-abc' });
    expect(c).toEqual({
      intervalMs: 30_000,
      intervalJitter: 0.1,
      timeoutMs: 2000,
      concurrency: 64,
      probeThread: false,
      namespaces: { include: [], exclude: [] },
      confirmations: 2,
      shard: { index: 0, count: 1 },
      leaderElection: {
        enabled: true,
        leaseName: 'sockeye-operator',
        leaseNamespace: 'default',
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      },
      prober: { podName: 'sockeye-7d9-abc', nodeName: undefined, namespace: 'default', labels: {} },
      http: { host: '::', port: 8080 },
      metrics: { secure: true, port: 8443 },
      writeAnnotations: true,
      writeEvents: true,
      writeReports: false,
      optIn: { selectorlessServices: false, hostNetworkPods: false, serviceCIDRs: [] },
      hops: { checkClusterIP: true, checkNodePorts: true, checkLoadBalancers: true },
      cluster: {},
    });
  });

  it('turn each Service data path check off by flag or variable, and take the node name', () => {
    expect(load(['--no-check-cluster-ip']).hops).toEqual({
      checkClusterIP: false,
      checkNodePorts: true,
      checkLoadBalancers: true,
    });
    const env = { SOCKEYE_CHECK_NODE_PORTS: 'false', SOCKEYE_CHECK_LOAD_BALANCERS: 'false' };
    expect(load([], env).hops).toEqual({
      checkClusterIP: true,
      checkNodePorts: false,
      checkLoadBalancers: false,
    });
    expect(load([], { SOCKEYE_NODE_NAME: 'sim-node-0' }).prober.nodeName).toBe('sim-node-0');
    expect(configFailure(() => load(['--node-name', 'Not_A_Node']))).toMatch(/node-name/);
  });

  it('take the Service ranges the opt-in modes never dial from a flag, the variable or the file', () => {
    const both = ['10.96.0.0/12', 'fd00:10:96::/108'];
    expect(load(['--service-cidrs', '10.96.0.0/12,fd00:10:96::/108']).optIn.serviceCIDRs).toEqual(both);
    expect(
      load(['--service-cidrs', '10.96.0.0/12', '--service-cidrs', 'fd00:10:96::/108']).optIn.serviceCIDRs,
    ).toEqual(both);
    expect(
      load([], { SOCKEYE_SERVICE_CIDRS: ' 10.96.0.0/12 , fd00:10:96::/108' }).optIn.serviceCIDRs,
    ).toEqual(both);
    const file = { '/c.yaml': 'serviceCIDRs: [10.96.0.0/12, "fd00:10:96::/108"]' };
    expect(load(['--config', '/c.yaml'], {}, file).optIn.serviceCIDRs).toEqual(both);
  });

  it('serve metrics on a port of their own when secure, on the health port when not', () => {
    expect(load(['--metrics-port=9443']).metrics).toEqual({ secure: true, port: 9443 });
    expect(load(['--no-metrics-secure']).metrics).toEqual({ secure: false, port: undefined });
    expect(load([], { SOCKEYE_METRICS_SECURE: 'false', SOCKEYE_METRICS_PORT: '9090' }).metrics).toEqual({
      secure: false,
      port: 9090,
    });
    expect(configFailure(() => load(['--metrics-port=8080']))).toMatch(/metrics-port 8080 is the http-port/);
  });

  it('put the Lease in the prober namespace unless told otherwise', () => {
    expect(load([], { SOCKEYE_POD_NAMESPACE: 'sockeye' }).leaderElection.leaseNamespace).toBe('sockeye');
    expect(
      load(['--lease-namespace', 'ops'], { SOCKEYE_POD_NAMESPACE: 'sockeye' }).leaderElection.leaseNamespace,
    ).toBe('ops');
  });
});

describe('sharding', () => {
  it('serves shard I of N from flags, variables or the file, with a Lease of its own', () => {
    const c = load(['--shards=3', '--shard=2', '--lease-name=sockeye-operator']);
    expect(c.shard).toEqual({ index: 2, count: 3 });
    expect(c.leaderElection.leaseName).toBe('sockeye-operator-2');
    expect(load([], { SOCKEYE_SHARDS: '4', SOCKEYE_SHARD: '0' }).shard).toEqual({ index: 0, count: 4 });
    const file = { '/c.yaml': 'sharding:\n  shards: 2\n  shard: 1\n' };
    expect(load(['--config', '/c.yaml'], {}, file).shard).toEqual({ index: 1, count: 2 });
    // One shard: the Lease keeps its name (today's installs are unchanged).
    expect(load(['--shards=1']).leaderElection.leaseName).toBe('sockeye-operator');
  });

  it('names the bad setting: a shard outside 0..N-1, a count below 1', () => {
    expect(configFailure(() => load(['--shards=3', '--shard=3']))).toMatch(
      /shard 3 is not one of the 3 shards: want --shard from 0 to 2/,
    );
    expect(configFailure(() => load(['--shard=1']))).toMatch(/--shard from 0 to 0/);
    expect(configFailure(() => load(['--shards=0']))).toMatch(/--shards: want at least 1/);
    expect(configFailure(() => load(['--shard=-1', '--shards=2']))).toMatch(/--shard: want at least 0/);
    expect(configFailure(() => load([], { SOCKEYE_SHARDS: 'two' }))).toMatch(
      /SOCKEYE_SHARDS: want a whole number/,
    );
  });

  it('cuts a long Lease name to leave room for the shard', () => {
    const long = 'a'.repeat(253);
    const name = load(['--shards=12', '--shard=11', `--lease-name=${long}`]).leaderElection.leaseName;
    expect(name).toHaveLength(253);
    expect(name.endsWith('a-11')).toBe(true);
  });
});

describe('flags', () => {
  it('read values, repeats, comma lists and negations', () => {
    const c = load([
      '--interval=1m',
      '--timeout',
      '500ms',
      '--namespace',
      'shop',
      '--namespace=payments,orders',
      '--no-leader-elect',
      '--probe-host-network-pods',
      '--pod-labels',
      'app.kubernetes.io/name=sockeye,tier=ops',
      '--http-port',
      '9090',
    ]);
    expect(c.intervalMs).toBe(60_000);
    expect(c.timeoutMs).toBe(500);
    expect(c.namespaces.include).toEqual(['shop', 'payments', 'orders']);
    expect(c.leaderElection.enabled).toBe(false);
    expect(c.optIn.hostNetworkPods).toBe(true);
    expect(c.prober.labels).toEqual({ 'app.kubernetes.io/name': 'sockeye', tier: 'ops' });
    expect(c.http.port).toBe(9090);
  });

  it('take the cluster as kubectl does: --kubeconfig and --context, flags only', () => {
    expect(load(['--kubeconfig', '/k.yaml', '--context=staging']).cluster).toEqual({
      kubeconfig: '/k.yaml',
      context: 'staging',
    });
    expect(load([], { SOCKEYE_CONTEXT: 'x', SOCKEYE_KUBECONFIG: '/y' }).cluster).toEqual({});
  });

  it('reject unknown flags', () => {
    expect(configFailure(() => load(['--intervall', '1s']))).toMatch(/--intervall/);
  });
});

describe('env', () => {
  it('reads SOCKEYE_* variables', () => {
    const c = load([], {
      SOCKEYE_INTERVAL: '45s',
      SOCKEYE_CONCURRENCY: '8',
      SOCKEYE_EXCLUDE_NAMESPACES: 'kube-system, kube-public',
      SOCKEYE_EVENTS: 'false',
      SOCKEYE_CONFIRMATIONS: '1',
      SOCKEYE_REPORTS: 'true',
    });
    expect(c.writeReports).toBe(true);
    expect(c.intervalMs).toBe(45_000);
    expect(c.concurrency).toBe(8);
    expect(c.namespaces.exclude).toEqual(['kube-system', 'kube-public']);
    expect(c.writeEvents).toBe(false);
    expect(c.confirmations).toBe(1);
  });

  it('ignores empty variables', () => {
    expect(load([], { SOCKEYE_INTERVAL: '' }).intervalMs).toBe(30_000);
  });
});

describe('file', () => {
  const yaml = [
    'interval: 20s',
    'concurrency: 16',
    'namespaces: [shop]',
    'leaderElection:',
    '  enabled: false',
    '  leaseName: my-lease',
    'prober:',
    '  labels: {app: sockeye}',
    'http: {port: 9000}',
  ].join('\n');

  it('reads nested YAML keys from --config', () => {
    const c = load(['--config', '/etc/sockeye.yaml'], {}, { '/etc/sockeye.yaml': yaml });
    expect(c.intervalMs).toBe(20_000);
    expect(c.concurrency).toBe(16);
    expect(c.namespaces.include).toEqual(['shop']);
    expect(c.leaderElection).toMatchObject({ enabled: false, leaseName: 'my-lease' });
    expect(c.prober.labels).toEqual({ app: 'sockeye' });
    expect(c.http.port).toBe(9000);
  });

  it('reads JSON, and SOCKEYE_CONFIG names the file', () => {
    const c = load([], { SOCKEYE_CONFIG: '/c.json' }, { '/c.json': '{"timeout": "750ms"}' });
    expect(c.timeoutMs).toBe(750);
  });

  it('ranks flags over env over file over defaults', () => {
    const files = { '/c.yaml': 'interval: 20s\ntimeout: 3s\nconcurrency: 5' };
    const c = load(
      ['--config', '/c.yaml', '--interval', '10s'],
      { SOCKEYE_INTERVAL: '15s', SOCKEYE_TIMEOUT: '4s' },
      files,
    );
    expect([c.intervalMs, c.timeoutMs, c.concurrency, c.confirmations]).toEqual([10_000, 4_000, 5, 2]);
  });

  it('fails on unknown keys, unreadable files and bad YAML, naming them', () => {
    expect(configFailure(() => load(['--config', '/c.yaml'], {}, { '/c.yaml': 'intervall: 5s' }))).toBe(
      '/c.yaml: unknown key "intervall"',
    );
    expect(
      configFailure(() => load(['--config', '/c.yaml'], {}, { '/c.yaml': 'leaderElection:\n  leaseNme: x' })),
    ).toMatch(/unknown key "leaderElection.leaseNme"/);
    expect(configFailure(() => load(['--config', '/missing.yaml']))).toMatch(
      /^--config \/missing.yaml: cannot read it/,
    );
    expect(configFailure(() => load(['--config', '/c.yaml'], {}, { '/c.yaml': 'a: [' }))).toMatch(
      /^\/c.yaml: not valid YAML/,
    );
    expect(configFailure(() => load(['--config', '/c.yaml'], {}, { '/c.yaml': '- 1' }))).toMatch(
      /should be a mapping/,
    );
  });
});

describe('error messages name the source', () => {
  it.each([
    [['--interval', 'soon'], {}, '--interval: want a duration such as 1500ms, 2s or 1m (got "soon")'],
    [[], { SOCKEYE_TIMEOUT: '2 s' }, 'SOCKEYE_TIMEOUT: want a duration such as 1500ms, 2s or 1m (got "2 s")'],
    [['--timeout', '90s'], {}, '--timeout: want a duration from 1ms to 1m (got "90s")'],
    [['--concurrency', '0'], {}, '--concurrency: want at least 1 (got "0")'],
    [['--concurrency', '2.5'], {}, '--concurrency: want a whole number (got "2.5")'],
    [[], { SOCKEYE_PROBE_THREAD: 'auto' }, 'SOCKEYE_PROBE_THREAD: want true or false (got "auto")'],
    [[], { SOCKEYE_CONFIRMATIONS: '11' }, 'SOCKEYE_CONFIRMATIONS: want at most 10 (got "11")'],
    [[], { SOCKEYE_LEADER_ELECT: 'yes' }, 'SOCKEYE_LEADER_ELECT: want true or false (got "yes")'],
    [
      ['--namespace', 'Shop'],
      {},
      '--namespace: want namespace names (lowercase letters, digits and -) (got "Shop")',
    ],
    [['--pod-labels', 'app'], {}, '--pod-labels: want labels as key=value,key=value (got "app")'],
    [['--http-port', '70000'], {}, '--http-port: want at most 65535 (got "70000")'],
    [['--pod-labels', 'a=b c'], {}, '--pod-labels: bad label value "b c" for "a" (got "a=b c")'],
    [['--interval-jitter', '2'], {}, '--interval-jitter: want a number from 0 to 1 (got "2")'],
    [
      ['--service-cidrs', '10.96.0.0/12,10.96.0.0'],
      {},
      '--service-cidrs: "10.96.0.0" is not a CIDR such as 10.96.0.0/12 (got "10.96.0.0/12,10.96.0.0")',
    ],
    [
      [],
      { SOCKEYE_SERVICE_CIDRS: '10.96.0.0/33' },
      'SOCKEYE_SERVICE_CIDRS: "10.96.0.0/33" is not a CIDR such as 10.96.0.0/12 (got "10.96.0.0/33")',
    ],
    [
      ['--service-cidrs', 'services.local/12'],
      {},
      '--service-cidrs: "services.local/12" is not a CIDR such as 10.96.0.0/12 (got "services.local/12")',
    ],
  ] as const)('%j %j', (argv, env, message) => {
    expect(configFailure(() => load([...argv], env))).toBe(message);
  });

  it('names the file key', () => {
    const message = configFailure(() =>
      load(['--config', '/c.yaml'], {}, { '/c.yaml': 'leaderElection:\n  retryPeriod: 2' }),
    );
    expect(message).toBe(
      '/c.yaml: leaderElection.retryPeriod: want a duration such as 1500ms, 2s or 1m (got 2)',
    );
  });

  it('checks settings that constrain each other', () => {
    expect(configFailure(() => load(['--lease-duration', '10s']))).toMatch(
      /lease-duration must be longer than renew-deadline/,
    );
    expect(configFailure(() => load(['--retry-period', '9s']))).toMatch(/renew-deadline must be longer/);
    expect(configFailure(() => load(['--timeout', '5s', '--interval', '5s']))).toMatch(
      /timeout \(5s\) must be shorter/,
    );
    expect(configFailure(() => load(['--namespace', 'a', '--exclude-namespace', 'a']))).toMatch(
      /both included/,
    );
    // Without leader election its timings do not matter.
    expect(load(['--no-leader-elect', '--lease-duration', '10s']).leaderElection.enabled).toBe(false);
  });
});

describe('help', () => {
  it('lists every flag with its env var', () => {
    const help = operatorHelp();
    for (const option of OPERATOR_OPTIONS) {
      expect(help).toMatch(new RegExp(`--(\\[no-\\])?${option.flag} `));
      expect(help).toContain(option.env);
    }
  });
});

/**
 * The `sockeye operator` configuration: flags > env (`SOCKEYE_*`) > file (`--config`, YAML or JSON) >
 * defaults, read by the settings loader (settings.ts) from one table, `OPERATOR_SETTINGS` (flag, env
 * var, file key, kind, default, help), so the three sources and `--help` cannot drift apart. What is
 * particular to the operator lives here: Kubernetes label values, the defaults derived from other
 * settings, and the checks of settings that constrain each other.
 */
import { z } from 'zod';
import type { Shard } from '../model/shard.ts';
import { DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS } from './annotations.ts';
import {
  boolean,
  CLUSTER_SETTINGS,
  type ClusterChoice,
  ConfigError,
  type ConfigFileSetting,
  cidrs,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  duration,
  fmtMs,
  fraction,
  HOP_SETTINGS,
  integer,
  type Kind,
  loadSettings,
  NODE_NAME_SETTING,
  name,
  namespaces,
  type Setting,
  setting,
  settingsHelp,
  text,
  type Values,
} from './settings.ts';

export { ConfigError };

export interface OperatorConfig {
  /** How often every Service is probed, plus up to `intervalJitter` of it at random. */
  readonly intervalMs: number;
  readonly intervalJitter: number;
  readonly timeoutMs: number;
  /** Connects in flight at most, for the whole operator (fair between namespaces: probe/slots.ts). */
  readonly concurrency: number;
  /**
   * Make the connects in a worker thread of their own (probe/thread-dialer.ts), not in the thread
   * that lists, judges and writes: for a process with a core to spare (README "Operator").
   */
  readonly probeThread: boolean;
  /** Namespaces to watch (empty: all) and to leave alone. */
  readonly namespaces: { readonly include: readonly string[]; readonly exclude: readonly string[] };
  /** Probes that must agree before a failure is reported (1: report the first). */
  readonly confirmations: number;
  /**
   * The part of the Services this replica serves (docs/design.md "Sharding"): shard `index` of
   * `count`; one shard of one (the default) is every Service.
   */
  readonly shard: Shard;
  readonly leaderElection: {
    readonly enabled: boolean;
    /** The Lease of this replica's shard: the name given, with `-INDEX` appended when there are shards. */
    readonly leaseName: string;
    readonly leaseNamespace: string;
    readonly leaseDurationMs: number;
    readonly renewDeadlineMs: number;
    readonly retryPeriodMs: number;
  };
  /** Who sockeye is: the Event reporting instance, the lease holder, and the source NetworkPolicies see. */
  readonly prober: {
    readonly podName: string;
    /** The node this pod runs on (downward API): named when a ClusterIP does not forward from it. */
    readonly nodeName: string | undefined;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
  };
  readonly http: { readonly host: string; readonly port: number };
  /**
   * /metrics and /sockeye/v1/findings: over HTTPS behind a TokenReview and a SubjectAccessReview when
   * `secure`, on `port`; not secure and without a port, on the health listener (`http.port`).
   */
  readonly metrics: { readonly secure: boolean; readonly port: number | undefined };
  readonly writeAnnotations: boolean;
  readonly writeEvents: boolean;
  /** Keep an OpenReports Report per namespace with findings (docs/design.md "Policy reports"). */
  readonly writeReports: boolean;
  readonly optIn: {
    readonly selectorlessServices: boolean;
    readonly hostNetworkPods: boolean;
    /**
     * Service ranges the opt-in modes never dial inside, beside the cluster's ServiceCIDR objects
     * (for clusters that do not serve them).
     */
    readonly serviceCIDRs: readonly string[];
  };
  /**
   * The Service data path hops probed beside the pods (docs/design.md "Safety"), named as the rules'
   * options name them (rules/types.ts HopChecks), so the operator hands them on as they are.
   */
  readonly hops: {
    readonly checkClusterIP: boolean;
    readonly checkNodePorts: boolean;
    readonly checkLoadBalancers: boolean;
  };
  /**
   * `--kubeconfig` and `--context`, as kubectl takes them: flags only (kubectl's `$KUBECONFIG` is the
   * variable), so neither is in the option table, the chart's environment or the config file.
   */
  readonly cluster: ClusterChoice;
}

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

const labels: Kind<Record<string, string>> = {
  schema: z
    .union(
      [
        z.record(z.string(), z.string(), { error: 'want labels as key=value,key=value' }),
        z.string().transform((s, ctx) => {
          const out: Record<string, string> = {};
          for (const pair of s.split(',').filter((p) => p.trim() !== '')) {
            const eq = pair.indexOf('=');
            if (eq < 0) {
              ctx.addIssue({ code: 'custom', message: 'want labels as key=value,key=value' });
              return z.NEVER;
            }
            out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
          }
          return out;
        }),
      ],
      { error: 'want labels as key=value,key=value' },
    )
    .superRefine((map, ctx) => {
      for (const [key, value] of Object.entries(map)) {
        if (!LABEL_KEY.test(key) || key.length > 317)
          ctx.addIssue({ code: 'custom', message: `bad label key "${key}"` });
        if (!LABEL_VALUE.test(value) || value.length > 63) {
          ctx.addIssue({ code: 'custom', message: `bad label value "${value}" for "${key}"` });
        }
      }
    }),
  arg: 'value',
  metavar: 'LABELS',
  show: (map) =>
    Object.entries(map)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
};

// ---- the settings table ----------------------------------------------------------------------------

/** Every setting: flag, `SOCKEYE_*` variable and `--config` key (the table's key). */
export const OPERATOR_SETTINGS = {
  interval: setting({
    file: 'interval',
    flag: 'interval',
    env: 'SOCKEYE_INTERVAL',
    kind: duration(1000, 24 * 3_600_000),
    default: 30_000,
    help: 'time between two probes of a Service',
  }),
  intervalJitter: setting({
    file: 'intervalJitter',
    flag: 'interval-jitter',
    env: 'SOCKEYE_INTERVAL_JITTER',
    kind: fraction,
    default: 0.1,
    help: 'random extra delay, as a fraction of the interval, so probes spread out',
  }),
  timeout: setting({
    file: 'timeout',
    flag: 'timeout',
    env: 'SOCKEYE_TIMEOUT',
    kind: duration(1, MAX_TIMEOUT_MS),
    default: DEFAULT_TIMEOUT_MS,
    help: 'connect timeout of one probe',
  }),
  concurrency: setting({
    file: 'concurrency',
    flag: 'concurrency',
    env: 'SOCKEYE_CONCURRENCY',
    kind: integer(1, 10_000),
    default: 64,
    help: 'connects in flight at most, for the whole operator (every worker, timeout and confirmation); a namespace holds at most half',
  }),
  probeThread: setting({
    file: 'probeThread',
    flag: 'probe-thread',
    env: 'SOCKEYE_PROBE_THREAD',
    kind: boolean,
    default: false,
    help: 'make the connects in a worker thread of their own (for a process with a core to spare)',
  }),
  namespaces: setting({
    file: 'namespaces',
    flag: 'namespace',
    env: 'SOCKEYE_NAMESPACES',
    kind: namespaces,
    default: [],
    help: 'namespaces to watch (repeat or comma list; default all)',
  }),
  excludeNamespaces: setting({
    file: 'excludeNamespaces',
    flag: 'exclude-namespace',
    env: 'SOCKEYE_EXCLUDE_NAMESPACES',
    kind: namespaces,
    default: [],
    help: 'namespaces never to watch (repeat or comma list)',
  }),
  confirmations: setting({
    file: 'confirmations',
    flag: 'confirmations',
    env: 'SOCKEYE_CONFIRMATIONS',
    kind: integer(1, 10),
    default: 2,
    help: 'probes that must fail in a row before a failure is reported',
  }),
  'sharding.shards': setting({
    file: 'sharding.shards',
    flag: 'shards',
    env: 'SOCKEYE_SHARDS',
    kind: integer(1, 1000),
    default: 1,
    help: 'number of shards the Services are split into; each shard runs its own replicas and Lease',
  }),
  'sharding.shard': setting({
    file: 'sharding.shard',
    flag: 'shard',
    env: 'SOCKEYE_SHARD',
    kind: integer(0, 999),
    default: 0,
    help: 'the shard this replica serves, from 0 to --shards minus 1',
  }),
  'leaderElection.enabled': setting({
    file: 'leaderElection.enabled',
    flag: 'leader-elect',
    env: 'SOCKEYE_LEADER_ELECT',
    kind: boolean,
    default: true,
    help: 'run leader election so that only one replica probes and writes',
  }),
  'leaderElection.leaseName': setting({
    file: 'leaderElection.leaseName',
    flag: 'lease-name',
    env: 'SOCKEYE_LEASE_NAME',
    kind: name(DNS_SUBDOMAIN, 'a Lease name (lowercase letters, digits, - and .)'),
    default: 'sockeye-operator',
    help: 'name of the leader election Lease',
  }),
  'leaderElection.leaseNamespace': setting({
    file: 'leaderElection.leaseNamespace',
    flag: 'lease-namespace',
    env: 'SOCKEYE_LEASE_NAMESPACE',
    kind: name(DNS_LABEL, 'a namespace name'),
    default: undefined,
    help: "namespace of the Lease (default: the prober's namespace)",
  }),
  'leaderElection.leaseDuration': setting({
    file: 'leaderElection.leaseDuration',
    flag: 'lease-duration',
    env: 'SOCKEYE_LEASE_DURATION',
    kind: duration(2000, 600_000),
    default: 15_000,
    help: 'how long a Lease holds without renewal',
  }),
  'leaderElection.renewDeadline': setting({
    file: 'leaderElection.renewDeadline',
    flag: 'renew-deadline',
    env: 'SOCKEYE_RENEW_DEADLINE',
    kind: duration(1000, 600_000),
    default: 10_000,
    help: 'how long the leader keeps trying to renew before it gives up',
  }),
  'leaderElection.retryPeriod': setting({
    file: 'leaderElection.retryPeriod',
    flag: 'retry-period',
    env: 'SOCKEYE_RETRY_PERIOD',
    kind: duration(100, 600_000),
    default: 2_000,
    help: 'time between two lease actions',
  }),
  'prober.podName': setting({
    file: 'prober.podName',
    flag: 'pod-name',
    env: 'SOCKEYE_POD_NAME',
    kind: name(DNS_SUBDOMAIN, 'a pod name'),
    default: undefined,
    help: 'this pod (downward API); default $HOSTNAME',
  }),
  'prober.nodeName': NODE_NAME_SETTING,
  'prober.namespace': setting({
    file: 'prober.namespace',
    flag: 'pod-namespace',
    env: 'SOCKEYE_POD_NAMESPACE',
    kind: name(DNS_LABEL, 'a namespace name'),
    default: 'default',
    help: "this pod's namespace (downward API), for NetworkPolicy checks",
  }),
  'prober.labels': setting({
    file: 'prober.labels',
    flag: 'pod-labels',
    env: 'SOCKEYE_POD_LABELS',
    kind: labels,
    default: {},
    help: "this pod's labels as key=value,…, for NetworkPolicy checks",
  }),
  'http.host': setting({
    file: 'http.host',
    flag: 'http-host',
    env: 'SOCKEYE_HTTP_HOST',
    kind: text('a listen address'),
    metavar: 'ADDR',
    default: '::',
    help: 'listen address of every listener (:: takes IPv4 too; 0.0.0.0 when the host has no IPv6)',
  }),
  'http.port': setting({
    file: 'http.port',
    flag: 'http-port',
    env: 'SOCKEYE_HTTP_PORT',
    kind: integer(0, 65_535),
    default: 8080,
    help: 'plain HTTP port of /healthz /readyz, open (0: any free port)',
  }),
  'metrics.secure': setting({
    file: 'metrics.secure',
    flag: 'metrics-secure',
    env: 'SOCKEYE_METRICS_SECURE',
    kind: boolean,
    default: true,
    help: 'serve /metrics and /sockeye/v1/findings over HTTPS to callers whose token RBAC allows get on the path',
  }),
  'metrics.port': setting({
    file: 'metrics.port',
    flag: 'metrics-port',
    env: 'SOCKEYE_METRICS_PORT',
    kind: integer(0, 65_535),
    default: undefined,
    help: 'port of /metrics and /sockeye/v1/findings (default 8443; without --metrics-secure: the http port)',
  }),
  writeAnnotations: setting({
    file: 'writeAnnotations',
    flag: 'annotations',
    env: 'SOCKEYE_ANNOTATIONS',
    kind: boolean,
    default: true,
    help: 'write sockeye.dev/status, summary and since on Services and Pods',
  }),
  writeEvents: setting({
    file: 'writeEvents',
    flag: 'events',
    env: 'SOCKEYE_EVENTS',
    kind: boolean,
    default: true,
    help: 'write Events (kubectl describe)',
  }),
  writeReports: setting({
    file: 'writeReports',
    flag: 'reports',
    env: 'SOCKEYE_REPORTS',
    kind: boolean,
    default: false,
    help: 'keep an OpenReports Report (openreports.io/v1alpha1) per namespace with findings; needs its CRD',
  }),
  probeSelectorlessServices: setting({
    file: 'probeSelectorlessServices',
    flag: 'probe-selectorless-services',
    env: 'SOCKEYE_PROBE_SELECTORLESS_SERVICES',
    kind: boolean,
    default: false,
    help: 'also probe Services without a selector (hand-made EndpointSlices)',
  }),
  probeHostNetworkPods: setting({
    file: 'probeHostNetworkPods',
    flag: 'probe-host-network-pods',
    env: 'SOCKEYE_PROBE_HOST_NETWORK_PODS',
    kind: boolean,
    default: false,
    help: 'also probe hostNetwork pods (their IP is the node)',
  }),
  serviceCIDRs: setting({
    file: 'serviceCIDRs',
    flag: 'service-cidrs',
    env: 'SOCKEYE_SERVICE_CIDRS',
    kind: cidrs,
    default: [],
    help: "the cluster's Service ranges (kube-apiserver --service-cluster-ip-range), which the opt-in modes never dial; needed where the API server serves no ServiceCIDR objects (before Kubernetes 1.33)",
  }),
  ...HOP_SETTINGS,
} as const;

/** The table as a list: every setting the chart may set through its variable. */
export const OPERATOR_OPTIONS = Object.values(OPERATOR_SETTINGS) as readonly OperatorSetting[];

/** Every operator setting has a variable (the chart's way in) and a file key. */
interface OperatorSetting extends Setting {
  readonly env: string;
  readonly file: string;
}

const TABLE = { ...CLUSTER_SETTINGS, ...OPERATOR_SETTINGS };

const CONFIG_FILE: ConfigFileSetting = {
  flag: 'config',
  env: 'SOCKEYE_CONFIG',
  help: 'YAML or JSON file with the settings below (camelCase keys)',
};

export interface OperatorConfigSources {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads the `--config` file (injected for tests). */
  readonly readFile: (path: string) => string;
}

/** Builds the operator configuration, or throws `ConfigError` naming the first bad setting. */
export function loadOperatorConfig(sources: OperatorConfigSources): OperatorConfig {
  const { values } = loadSettings(TABLE, sources, { configFile: CONFIG_FILE });
  const { kubeconfig, context } = values;
  return {
    ...derive(values, sources.env),
    cluster: {
      ...(kubeconfig === undefined ? {} : { kubeconfig }),
      ...(context === undefined ? {} : { context }),
    },
  };
}

/** Fills the settings whose defaults depend on others and checks the ones that constrain each other. */
function derive(
  v: Values<typeof TABLE>,
  env: Readonly<Record<string, string | undefined>>,
): Omit<OperatorConfig, 'cluster'> {
  const proberNamespace = v['prober.namespace'];
  const podName = v['prober.podName'] ?? (env.HOSTNAME?.trim() || 'sockeye');
  const shard = { index: v['sharding.shard'], count: v['sharding.shards'] };
  if (shard.index >= shard.count) {
    throw new ConfigError(
      `shard ${shard.index} is not one of the ${shard.count} shards: want --shard from 0 to ${shard.count - 1} (--shards ${shard.count})`,
    );
  }
  const leaseName = v['leaderElection.leaseName'];
  const config: Omit<OperatorConfig, 'cluster'> = {
    intervalMs: v.interval,
    intervalJitter: v.intervalJitter,
    timeoutMs: v.timeout,
    concurrency: v.concurrency,
    probeThread: v.probeThread,
    namespaces: { include: v.namespaces, exclude: v.excludeNamespaces },
    confirmations: v.confirmations,
    shard,
    leaderElection: {
      enabled: v['leaderElection.enabled'],
      leaseName: shard.count === 1 ? leaseName : shardLeaseName(leaseName, shard.index),
      leaseNamespace: v['leaderElection.leaseNamespace'] ?? proberNamespace,
      leaseDurationMs: v['leaderElection.leaseDuration'],
      renewDeadlineMs: v['leaderElection.renewDeadline'],
      retryPeriodMs: v['leaderElection.retryPeriod'],
    },
    prober: {
      podName,
      nodeName: v['prober.nodeName'],
      namespace: proberNamespace,
      labels: v['prober.labels'],
    },
    http: { host: v['http.host'], port: v['http.port'] },
    metrics: {
      secure: v['metrics.secure'],
      port: v['metrics.port'] ?? (v['metrics.secure'] ? 8443 : undefined),
    },
    writeAnnotations: v.writeAnnotations,
    writeEvents: v.writeEvents,
    writeReports: v.writeReports,
    optIn: {
      selectorlessServices: v.probeSelectorlessServices,
      hostNetworkPods: v.probeHostNetworkPods,
      serviceCIDRs: v.serviceCIDRs,
    },
    hops: {
      checkClusterIP: v.checkClusterIP,
      checkNodePorts: v.checkNodePorts,
      checkLoadBalancers: v.checkLoadBalancers,
    },
  };
  if (
    config.metrics.port !== undefined &&
    config.metrics.port !== 0 &&
    config.metrics.port === config.http.port
  ) {
    throw new ConfigError(
      `metrics-port ${config.metrics.port} is the http-port: give /metrics a port of its own, or leave it unset with --no-metrics-secure`,
    );
  }
  const le = config.leaderElection;
  if (le.enabled) {
    if (le.leaseDurationMs <= le.renewDeadlineMs) {
      throw new ConfigError('lease-duration must be longer than renew-deadline');
    }
    if (le.renewDeadlineMs <= 1.2 * le.retryPeriodMs) {
      throw new ConfigError('renew-deadline must be longer than 1.2 × retry-period');
    }
    if (le.leaseDurationMs % 1000 !== 0) throw new ConfigError('lease-duration must be whole seconds');
  }
  if (config.timeoutMs >= config.intervalMs) {
    throw new ConfigError(
      `timeout (${fmtMs(config.timeoutMs)}) must be shorter than interval (${fmtMs(config.intervalMs)})`,
    );
  }
  const both = config.namespaces.include.filter((ns) => config.namespaces.exclude.includes(ns));
  if (both.length > 0) {
    throw new ConfigError(
      `namespace ${both.join(', ')} is both included (--namespace) and excluded (--exclude-namespace)`,
    );
  }
  return config;
}

/**
 * The Lease of shard `index`: the name given with `-INDEX` appended (Lease names are DNS subdomains of
 * at most 253 characters; the base is cut to leave room).
 */
export function shardLeaseName(base: string, index: number): string {
  const suffix = `-${index}`;
  return `${base.slice(0, 253 - suffix.length).replace(/[-.]+$/, '')}${suffix}`;
}

/** The flags table for `sockeye operator --help`. */
export function operatorHelp(): string {
  return settingsHelp(TABLE, { configFile: CONFIG_FILE });
}

import { renderJUnit, renderSarif } from '../audit/ci.ts';
import { GatherError } from '../audit/gather.ts';
import { indexManifests, type ManifestIndex, readManifests } from '../audit/manifests.ts';
import {
  notices,
  OUTPUTS,
  renderJson,
  renderMarkdown,
  renderTable,
  renderWide,
  renderYaml,
} from '../audit/render.ts';
import { buildReport, FAIL_ON } from '../audit/report.ts';
import { type Progress, runAudit } from '../audit/run.ts';
import { DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS } from '../config/annotations.ts';
import {
  boolean,
  CLUSTER_SETTINGS,
  CONCURRENCY_SETTING,
  duration,
  HOP_SETTINGS,
  NODE_NAME_SETTING,
  namespaces,
  oneOf,
  setting,
  settingsHelp,
  text,
} from '../config/settings.ts';
import { loadKubeConfig } from '../kube/kubeconfig.ts';
import { clusterListers } from '../kube/list.ts';
import { version } from '../version.ts';
import { type CommandFlags, readCommandFlags } from './command-flags.ts';
import { type Command, type CommandIO, ExitCode, UsageError } from './io.ts';

const help = (program: string) => `Usage: ${program} audit [flags]

Lists the Services, EndpointSlices, Pods and NetworkPolicies the current kubeconfig can read, probes
every backend once (TCP connect, no payload), and reports which Services would refuse a connection
right now, and why. It also probes each Service's data path (ClusterIPs, NodePorts on every node,
load-balancer addresses) where it can reach them: outside the cluster, a part of the path that
answers nothing from here is said "not checked from here", never blamed. Progress goes to stderr
(a bar on a terminal, nothing when piped).

Flags:
${settingsHelp(AUDIT_SETTINGS)}

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 the audit could not run (no cluster,
no permission to read any Service, pod IPs not routable from here, or a bad flag).
A boolean flag is also written --no-FLAG, --FLAG=true or --FLAG=false.`;

const AUDIT_SETTINGS = {
  namespace: setting({
    kind: namespaces,
    flag: 'namespace',
    short: 'n',
    default: [],
    help: 'audit this namespace (repeatable; default: all namespaces)',
  }),
  'all-namespaces': setting({
    kind: boolean,
    flag: 'all-namespaces',
    short: 'A',
    default: false,
    help: 'audit every namespace (the default without -n; not with -n)',
  }),
  selector: setting({
    kind: text('a label selector'),
    flag: 'selector',
    short: 'l',
    metavar: 'SELECTOR',
    default: undefined,
    help: 'only Services (and pods) matching this label selector, e.g. app=web,tier!=db',
  }),
  ...CLUSTER_SETTINGS,
  timeout: setting({
    kind: duration(1, MAX_TIMEOUT_MS),
    flag: 'timeout',
    short: 't',
    default: DEFAULT_TIMEOUT_MS,
    help: 'connect deadline per target without a sockeye.dev/timeout annotation',
  }),
  concurrency: CONCURRENCY_SETTING,
  'include-opted-out': setting({
    kind: boolean,
    flag: 'include-opted-out',
    default: false,
    help: 'also audit objects annotated sockeye.dev/probe: "false"',
  }),
  output: setting({
    kind: oneOf(OUTPUTS),
    flag: 'output',
    short: 'o',
    metavar: 'FORMAT',
    default: 'table',
    help: 'table, wide, json, yaml, markdown, junit or sarif',
  }),
  manifests: setting({
    kind: text('a folder'),
    flag: 'manifests',
    metavar: 'DIR',
    default: undefined,
    help: 'folder of the YAML manifests: SARIF results point at the file and line that defines each object (default: kubernetes/NAMESPACE/KIND/NAME.yaml)',
  }),
  'fail-on': setting({
    kind: oneOf(FAIL_ON),
    flag: 'fail-on',
    metavar: 'SEVERITY',
    default: 'warning',
    help: 'exit 1 on findings at or above: warning, normal, never',
  }),
  // The operator's rows: the same flags and variables turn each data path check off in both.
  ...HOP_SETTINGS,
  'node-name': NODE_NAME_SETTING,
} as const;

type Flags = CommandFlags<typeof AUDIT_SETTINGS>;

export function parseAuditFlags(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): Flags {
  const { flags } = readCommandFlags(AUDIT_SETTINGS, argv, { command: 'audit' }, env);
  // kubectl's rule: -A already means every namespace, so a -n beside it contradicts it.
  if (flags['all-namespaces'] && flags.namespace.length > 0) {
    throw new UsageError('audit: -A/--all-namespaces and -n/--namespace cannot be used together');
  }
  return flags;
}

async function manifestIndex(dir: string): Promise<ManifestIndex> {
  try {
    return indexManifests(await readManifests(dir, process.cwd()));
  } catch (err) {
    throw new UsageError(`audit: --manifests ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Progress on a terminal: one line redrawn in place, at most every 100 ms. */
function progressBar(io: CommandIO): { update(p: Progress): void; clear(): void } {
  if (io.stderr.isTTY !== true) return { update: () => undefined, clear: () => undefined };
  let last = 0;
  let drawn = false;
  const draw = (text: string) => {
    io.stderr.write(`\r\u001b[K${text}`);
    drawn = true;
  };
  return {
    update(p) {
      const now = performance.now();
      const final = p.phase === 'probe' && p.done === p.total;
      if (now - last < 100 && !final) return;
      last = now;
      if (p.phase === 'list') {
        draw(`listing ${p.resource}… ${p.items}`);
      } else {
        const width = 30;
        const filled = p.total === 0 ? width : Math.round((p.done / p.total) * width);
        draw(`probing [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.done}/${p.total}`);
      }
    },
    clear() {
      if (drawn) io.stderr.write('\r\u001b[K');
    },
  };
}

export const auditCommand: Command = async (argv, io) => {
  const flags = parseAuditFlags(argv, io.env);
  if (flags.help) {
    io.stdout.write(`${help(io.program)}\n`);
    return ExitCode.ok;
  }
  // Read before the cluster is touched: a wrong folder is a usage error, found before minutes of probing.
  const manifests = flags.manifests === undefined ? undefined : await manifestIndex(flags.manifests);
  const target = loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context });
  if (typeof target === 'string') {
    io.stderr.write(`${io.program}: audit: ${target}\n`);
    return ExitCode.usage;
  }
  const bar = progressBar(io);
  let result: Awaited<ReturnType<typeof runAudit>>;
  try {
    result = await runAudit(clusterListers(target.kc), {
      namespaces: flags.namespace,
      labelSelector: flags.selector,
      contextNamespace: target.namespace,
      timeoutMs: flags.timeout,
      concurrency: flags.concurrency,
      includeOptedOut: flags['include-opted-out'],
      now: new Date(),
      signal: io.signal,
      onProgress: (p) => bar.update(p),
      hops: {
        checkClusterIP: flags.checkClusterIP,
        checkNodePorts: flags.checkNodePorts,
        checkLoadBalancers: flags.checkLoadBalancers,
      },
      // Set in every pod (kubelet's Service environment): the audit runs where the operator would.
      inCluster: (io.env.KUBERNETES_SERVICE_HOST ?? '') !== '',
      nodeName: flags['node-name'],
    });
  } catch (err) {
    bar.clear();
    if (err instanceof GatherError) {
      io.stderr.write(`${io.program}: audit: ${err.message}\n`);
      return ExitCode.usage;
    }
    if (io.signal.aborted) {
      io.stderr.write(`${io.program}: audit: interrupted\n`);
      return ExitCode.usage;
    }
    throw err;
  }
  bar.clear();
  const report = buildReport(result, {
    context: target.context,
    server: target.server,
    allNamespaces: flags.namespace.length === 0,
    labelSelector: flags.selector,
    includeOptedOut: flags['include-opted-out'],
    failOn: flags['fail-on'],
  });
  // The table carries these itself; for machine formats they go to stderr, once, for the person watching.
  if (flags.output !== 'table' && flags.output !== 'wide')
    for (const n of notices(report)) io.stderr.write(`${io.program}: audit: ${n}\n`);
  const colour = io.stdout.isTTY === true && io.env.NO_COLOR === undefined;
  const render = {
    table: () => renderTable(report, colour, io.program),
    wide: () => renderWide(report, colour, io.program),
    json: () => renderJson(report),
    yaml: () => renderYaml(report),
    markdown: () => renderMarkdown(report),
    junit: () => renderJUnit(report),
    sarif: () => renderSarif(report, version(), manifests),
  } as const;
  io.stdout.write(render[flags.output]());
  return report.exitCode;
};

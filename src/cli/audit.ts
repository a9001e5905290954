import { z } from 'zod';
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
import { MAX_TIMEOUT_MS, parseTimeout } from '../config/annotations.ts';
import {
  CLUSTER_FLAGS,
  CLUSTER_FLAGS_HELP,
  concurrencyFlag,
  flagValues,
  readFlags,
} from '../config/flags.ts';
import { loadKubeConfig } from '../kube/kubeconfig.ts';
import { clusterListers } from '../kube/list.ts';
import { version } from '../version.ts';
import { type Command, type CommandIO, ExitCode, UsageError } from './io.ts';

const help = (program: string) => `Usage: ${program} audit [flags]

Lists the Services, EndpointSlices, Pods and NetworkPolicies the current kubeconfig can read, probes
every backend once (TCP connect, no payload), and reports which Services would refuse a connection
right now, and why. Progress goes to stderr (a bar on a terminal, nothing when piped).

Flags:
  -n, --namespace NAME        audit this namespace (repeatable; default: all namespaces)
  -A, --all-namespaces        audit every namespace (the default without -n; not with -n)
  -l, --selector SELECTOR     only Services (and pods) matching this label selector, e.g. app=web,tier!=db
${CLUSTER_FLAGS_HELP.map(([flag, meaning]) => `      ${flag.padEnd(24)}${meaning}`).join('\n')}
  -t, --timeout DURATION      connect deadline per target without a sockeye.dev/timeout annotation (default 2s)
  -c, --concurrency N         connects in flight at once (default 256)
      --include-opted-out     also audit objects annotated sockeye.dev/probe: "false"
  -o, --output FORMAT         table (default), wide, json, yaml, markdown, junit or sarif
      --manifests DIR         folder of the YAML manifests: SARIF results point at the file and line
                              that defines each object (default: kubernetes/NAMESPACE/KIND/NAME.yaml)
      --fail-on SEVERITY      exit 1 on findings at or above: warning (default), normal, never
  -h, --help                  this text

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 the audit could not run (no cluster,
no permission to read any Service, pod IPs not routable from here, or a bad flag).
A boolean flag is also written --no-FLAG, --FLAG=true or --FLAG=false.`;

const flagsSchema = z.object({
  namespace: z
    .array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, '--namespace takes a namespace name'))
    .default([]),
  'all-namespaces': z.boolean().default(false),
  selector: z.string().min(1, '--selector must not be empty').optional(),
  context: z.string().min(1).optional(),
  kubeconfig: z.string().min(1).optional(),
  timeout: z
    .string()
    .transform((text, ctx) => {
      const parsed = parseTimeout(text);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: 'custom', message: `--timeout "${text}": ${parsed.problem}` });
      return z.NEVER;
    })
    .default(2000),
  concurrency: concurrencyFlag,
  'include-opted-out': z.boolean().default(false),
  output: z.enum(OUTPUTS, { message: `--output must be one of ${OUTPUTS.join(', ')}` }).default('table'),
  manifests: z.string().min(1, '--manifests takes a folder').optional(),
  'fail-on': z
    .enum(FAIL_ON, { message: `--fail-on must be one of ${FAIL_ON.join(', ')}` })
    .default('warning'),
  help: z.boolean().default(false),
});

type Flags = z.infer<typeof flagsSchema>;

export function parseAuditFlags(argv: readonly string[]): Flags {
  const { values } = readFlags(
    argv,
    {
      namespace: { type: 'string', short: 'n', multiple: true },
      'all-namespaces': { type: 'boolean', short: 'A' },
      selector: { type: 'string', short: 'l' },
      ...CLUSTER_FLAGS,
      timeout: { type: 'string', short: 't' },
      concurrency: { type: 'string', short: 'c' },
      'include-opted-out': { type: 'boolean' },
      output: { type: 'string', short: 'o' },
      manifests: { type: 'string' },
      'fail-on': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    { command: 'audit' },
  );
  const flags = flagValues(flagsSchema, values, 'audit');
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
  const flags = parseAuditFlags(argv);
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
      timeoutMs: Math.min(flags.timeout, MAX_TIMEOUT_MS),
      concurrency: flags.concurrency,
      includeOptedOut: flags['include-opted-out'],
      now: new Date(),
      signal: io.signal,
      onProgress: (p) => bar.update(p),
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
    table: () => renderTable(report, colour),
    wide: () => renderWide(report, colour),
    json: () => renderJson(report),
    yaml: () => renderYaml(report),
    markdown: () => renderMarkdown(report),
    junit: () => renderJUnit(report),
    sarif: () => renderSarif(report, version(), manifests),
  } as const;
  io.stdout.write(render[flags.output]());
  return report.exitCode;
};

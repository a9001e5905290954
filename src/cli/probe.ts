import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { DEFAULT_TIMEOUT_MS } from '../config/annotations.ts';
import {
  boolean,
  CLUSTER_SETTINGS,
  CONCURRENCY_SETTING,
  DNS_LABEL,
  duration,
  integer,
  type Kind,
  oneOf,
  setting,
  settingsHelp,
  text,
} from '../config/settings.ts';
import { adviceFor } from '../probe/advice.ts';
import type { AppCheck } from '../probe/app-check.ts';
import { prestartProbeThreads, probeBatches } from '../probe/engine.ts';
import { OUTCOMES, type Outcome, type ProbeResult } from '../probe/outcome.ts';
import { MAX_THREADS, MIN_TARGETS } from '../probe/parallel.ts';
import { type Lookup, type ResolvedTarget, resolveTargets } from '../probe/resolve.ts';
import { formatAddress, parseTarget, type TargetSpec } from '../probe/target.ts';
import { type CommandFlags, readCommandFlags } from './command-flags.ts';
import { type Command, type CommandIO, ExitCode, UsageError } from './io.ts';

/** `svc/NAME`: a Service reference (probe-service.ts, loaded only then: it needs the Kubernetes client). */
const isServiceRef = (input: string) => /^(svc|service|services)\//.test(input);

const help = (program: string) => `Usage: ${program} probe [flags] HOST:PORT…
       ${program} probe [flags] svc/NAME[:PORT]… [-n NAMESPACE]

Connects to each target once (a TCP handshake, closed with RST; no payload) and says how it ended,
what that most likely means, and what to check next. Names are resolved once; every address is probed.

With svc/NAME (from the kubeconfig) it walks the path users connect through, one line per hop: each
backend pod, each ClusterIP, the NodePort on each node (and the health check with
externalTrafficPolicy Local), each load-balancer address; then the findings sockeye reports about
it. From outside the cluster, ClusterIPs (and often pod IPs) do not route: run it in a pod.

Flags:
${settingsHelp(PROBE_SETTINGS)}

A boolean flag is also written --no-FLAG, --FLAG=true or --FLAG=false.

Exit codes: 0 every target open, 1 any target not open, 2 usage or local error.`;

/** `200,204`: the statuses that pass `--http`. */
const statuses: Kind<readonly number[]> = {
  schema: z
    .string({ error: 'want HTTP statuses like 200,204' })
    .regex(/^\d{3}(,\d{3})*$/, 'want HTTP statuses like 200,204')
    .transform((list) => list.split(',').map(Number)),
  arg: 'value',
  metavar: 'LIST',
  show: (list) => list.join(','),
};

const PROBE_SETTINGS = {
  output: setting({
    kind: oneOf(['text', 'json']),
    flag: 'output',
    short: 'o',
    default: 'text',
    help: 'output format',
  }),
  timeout: setting({
    kind: duration(1, 3_600_000),
    flag: 'timeout',
    short: 't',
    default: DEFAULT_TIMEOUT_MS,
    help: 'deadline per connect, e.g. 500ms, 2s',
  }),
  concurrency: CONCURRENCY_SETTING,
  threads: setting({
    kind: integer(1, MAX_THREADS),
    flag: 'threads',
    default: undefined,
    help: `threads that share the probes (default: one per idle core on runs of ${MIN_TARGETS} targets or more)`,
  }),
  file: setting({
    kind: text('a file'),
    flag: 'file',
    short: 'f',
    metavar: 'FILE',
    default: undefined,
    help: 'read targets from FILE, one per line ("-" for stdin, # starts a comment)',
  }),
  'reset-window': setting({
    kind: duration(0, 3_600_000),
    flag: 'reset-window',
    default: 100,
    help: 'after connecting, watch this long for the listener aborting (0s: report open at once)',
  }),
  http: setting({
    kind: text('a path starting with "/"', { pattern: /^\// }),
    flag: 'http',
    metavar: 'PATH',
    default: undefined,
    help: 'on open targets also GET PATH and check the status',
  }),
  'expect-status': setting({
    kind: statuses,
    flag: 'expect-status',
    default: undefined,
    help: 'statuses that pass --http, e.g. 200,204 (default 200-399)',
  }),
  tls: setting({
    kind: boolean,
    flag: 'tls',
    default: false,
    help: 'on open targets also complete a TLS handshake (with --http: HTTPS)',
  }),
  namespace: setting({
    kind: text('a namespace', { pattern: DNS_LABEL }),
    flag: 'namespace',
    short: 'n',
    default: undefined,
    help: "namespace of svc/NAME targets (default: the kubeconfig context's)",
  }),
  ...CLUSTER_SETTINGS,
} as const;

type Flags = CommandFlags<typeof PROBE_SETTINGS>;

export function parseProbeFlags(argv: readonly string[]): { flags: Flags; positionals: string[] } {
  return readCommandFlags(PROBE_SETTINGS, argv, { command: 'probe', positionals: true });
}

function appCheck(flags: Flags): AppCheck | undefined {
  if (flags.http !== undefined) {
    return {
      kind: 'http',
      path: flags.http,
      tls: flags.tls,
      ...(flags['expect-status'] ? { expectStatus: flags['expect-status'] } : {}),
    };
  }
  if (flags['expect-status']) throw new UsageError('probe: --expect-status needs --http PATH');
  return flags.tls ? { kind: 'tls' } : undefined;
}

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

async function targetLines(file: string | undefined, stdin: Readable): Promise<string[]> {
  if (file === undefined) return [];
  let text: string;
  try {
    text = file === '-' ? await readAll(stdin) : await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`probe: cannot read --file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
}

function parseSpecs(inputs: readonly string[]): TargetSpec[] {
  const specs: TargetSpec[] = [];
  const problems: string[] = [];
  for (const input of inputs) {
    const parsed = parseTarget(input);
    if (parsed.kind === 'target') specs.push(parsed.target);
    else problems.push(`bad target "${parsed.input}": ${parsed.reason}`);
  }
  if (problems.length > 0) throw new UsageError(`probe: ${problems.join('\n  ')}`);
  if (specs.length === 0)
    throw new UsageError('probe: no targets; give HOST:PORT arguments or -f FILE (see --help)');
  return specs;
}

const colours: Readonly<Record<Outcome, string>> = {
  open: '32',
  refused: '31',
  timeout: '33',
  unreachable: '31',
  reset: '31',
  error: '35',
};

function label(target: ResolvedTarget): string {
  const address = formatAddress(target.ip, target.port);
  return target.spec.family === 0 ? `${target.spec.input} (${address})` : address;
}

interface TextStyle {
  readonly timeoutMs: number;
  readonly colour: boolean;
  readonly labelWidth: number;
}

function textLine(result: ProbeResult<ResolvedTarget>, { timeoutMs, colour, labelWidth }: TextStyle): string {
  const outcome = result.outcome.padEnd(11);
  const painted = colour ? `\u001b[${colours[result.outcome]}m${outcome}\u001b[0m` : outcome;
  const latency = `${result.latencyMs.toFixed(1)} ms`.padStart(10);
  const advice = adviceFor(result, timeoutMs);
  const appFailed = result.outcome === 'open' && result.app !== undefined && !result.app.ok;
  const lines = [`${label(result.target).padEnd(labelWidth)}  ${painted}${latency}`];
  if (result.outcome !== 'open' || appFailed) {
    lines.push(`  ${advice.meaning}${'errno' in result && result.errno ? ` [${result.errno}]` : ''}`);
    if (advice.next) lines.push(`  next: ${advice.next}`);
  } else if (result.app) {
    lines.push(`  ${result.app.detail}`);
  }
  return `${lines.join('\n')}\n`;
}

function jsonResult(result: ProbeResult<ResolvedTarget>, timeoutMs: number) {
  const { spec, ip, port } = result.target;
  const { target: _, latencyMs, ...rest } = result;
  return {
    target: spec.input,
    address: ip,
    port,
    ...rest,
    latencyMs: Math.round(latencyMs * 100) / 100,
    ...adviceFor(result, timeoutMs),
  };
}

function failedCheck(result: ProbeResult): boolean {
  return result.outcome === 'open' && result.app !== undefined && !result.app.ok;
}

/** 2 when the prober itself failed (its answers cannot be trusted), 1 for any target not open, else 0. */
export function exitCodeFor(results: readonly ProbeResult[]): number {
  if (results.some((r) => r.outcome === 'error')) return ExitCode.usage;
  if (results.some((r) => r.outcome !== 'open' || failedCheck(r))) return ExitCode.findings;
  return ExitCode.ok;
}

/** `sockeye probe`; `lookup` is injectable for tests that must not touch DNS. */
export function makeProbeCommand(lookup?: Lookup): Command {
  return async (argv: readonly string[], io: CommandIO): Promise<number> => {
    const { flags, positionals } = parseProbeFlags(argv);
    if (flags.help) {
      io.stdout.write(`${help(io.program)}\n`);
      return ExitCode.ok;
    }
    if (positionals.some(isServiceRef)) {
      if (!positionals.every(isServiceRef) || flags.file !== undefined)
        throw new UsageError('probe: give either svc/NAME targets or HOST:PORT targets, not both');
      const { probeServices } = await import('./probe-service.ts');
      return probeServices(positionals, flags, io);
    }
    const app = appCheck(flags);
    const lines = await targetLines(flags.file, io.stdin);
    // A long run's worker threads start while its targets are parsed and resolved (engine.ts).
    const threads = flags.threads === undefined ? {} : { threads: flags.threads };
    prestartProbeThreads(positionals.length + lines.length, { concurrency: flags.concurrency, ...threads });
    const specs = parseSpecs([...positionals, ...lines]);
    const resolution = await resolveTargets(specs, lookup);
    if (resolution.kind === 'unresolved') {
      io.stderr.write(
        `${io.program}: probe: ${resolution.failures.map((f) => `${f.spec.input}: ${f.reason}`).join('\n  ')}\n`,
      );
      return ExitCode.usage;
    }
    const colour = io.stdout.isTTY === true && io.env.NO_COLOR === undefined && flags.output === 'text';
    const style: TextStyle = {
      timeoutMs: flags.timeout,
      colour,
      labelWidth: Math.max(...resolution.targets.map((t) => label(t).length)),
    };
    const results: ProbeResult<ResolvedTarget>[] = [];
    for await (const batch of probeBatches(resolution.targets, {
      timeoutMs: flags.timeout,
      concurrency: flags.concurrency,
      ...threads,
      resetWindowMs: flags['reset-window'],
      order: 'input',
      signal: io.signal,
      ...(app ? { app } : {}),
    })) {
      for (const result of batch) results.push(result);
      if (flags.output === 'text') io.stdout.write(batch.map((result) => textLine(result, style)).join(''));
    }
    const exitCode = exitCodeFor(results);
    const summary = Object.fromEntries(
      OUTCOMES.map((o) => [o, results.filter((r) => r.outcome === o).length]),
    );
    if (flags.output === 'json') {
      const document = {
        schema: 'sockeye.dev/probe/v1',
        timeoutMs: flags.timeout,
        results: results.map((r) => jsonResult(r, flags.timeout)),
        summary: { total: results.length, ...summary },
        exitCode,
      };
      io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    } else {
      const counts = OUTCOMES.filter((o) => summary[o]).map((o) => `${summary[o]} ${o}`);
      io.stdout.write(`${results.length} target${results.length === 1 ? '' : 's'}: ${counts.join(', ')}\n`);
    }
    return exitCode;
  };
}

export const probeCommand: Command = makeProbeCommand();

import { readFileSync } from 'node:fs';
import { ConfigError, loadOperatorConfig, type OperatorConfig, operatorHelp } from '../config/operator.ts';
import { loadKubeConfig } from '../kube/kubeconfig.ts';
import { logger } from '../log.ts';
import { Operator } from '../operator/operator.ts';
import { type Command, ExitCode } from './io.ts';

const help = (program: string) => `Usage: ${program} operator [flags]

Watches Services, EndpointSlices, Pods, NetworkPolicies and Namespaces (cluster-wide, or the namespaces
given; with an opt-in mode also the cluster's ServiceCIDRs, whose ranges it never dials), probes every Service's backends on an interval and at once when its endpoints or pods change,
and writes what it finds: Events (kubectl describe) and the sockeye.dev/status, sockeye.dev/summary and
sockeye.dev/since annotations on Services and Pods, only when something changes. With leader election
only the replica holding the Lease probes and writes. Serves /healthz and /readyz in plain HTTP to
anyone (--http-port), and /metrics and /sockeye/v1/findings over HTTPS (a self-signed certificate made at
start) to callers whose bearer token a TokenReview accepts and whose RBAC allows get on the path, as
a SubjectAccessReview says (--metrics-port; --no-metrics-secure serves them in plain HTTP to anyone).
The cluster comes from --kubeconfig and --context, else $KUBECONFIG or ~/.kube/config, else the
in-cluster ServiceAccount.

Settings: flags > environment > --config file > defaults. A boolean flag is --FLAG, --no-FLAG,
--FLAG=true or --FLAG=false; its variable and file key take true or false.

${operatorHelp()}

On SIGTERM it stops taking work, finishes the reconciles and writes in flight and flushes queued Events
(10 s at most; what is left is dropped), then releases the Lease and exits 0, within 15 s in all. When
it loses the Lease it drops all of its work at once, writes nothing more and exits 1 (another replica
leads); 2 on a bad setting or when it cannot start (no usable kubeconfig and not in a cluster, unknown
context, a port in use), with one line on stderr naming the problem.`;

/** Grace on SIGTERM for the reconciles and writes in flight and the queued Events. */
export const SHUTDOWN_GRACE_MS = 10_000;
/**
 * The whole shutdown at most: the grace, the Lease release (2 s at most, see leader.ts), then
 * stopping the watches and HTTP. Past it the process exits anyway; the chart's
 * terminationGracePeriodSeconds is above it, so the kubelet never has to SIGKILL a replica that
 * may still be writing.
 */
export const SHUTDOWN_BOUND_MS = 15_000;

export const operatorCommand: Command = async (argv, io) => {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${help(io.program)}\n`);
    return ExitCode.ok;
  }
  // A bad setting throws ConfigError (a UsageError): the entry point prints it and exits 2.
  const config = loadOperatorConfig({ argv, env: io.env, readFile: (p) => readFileSync(p, 'utf8') });
  const target = loadKubeConfig(config.cluster, { env: io.env });
  if (typeof target === 'string') throw new ConfigError(target);
  const { kc } = target;
  let lost = false;
  const done = new AbortController();
  const operator = new Operator({
    kc,
    config,
    logger,
    onLostLeadership: () => {
      lost = true;
      done.abort();
    },
  });
  await operator.start().catch((err: unknown) => {
    const problem = listenProblem(err, config);
    throw problem === undefined ? err : new ConfigError(problem, { cause: err });
  });
  await new Promise<void>((resolve) => {
    if (io.signal.aborted || done.signal.aborted) resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
    done.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const code = lost ? 1 : ExitCode.ok;
  // Unref'd: it fires only when something (a hung request, a socket) would keep the process alive.
  setTimeout(() => {
    logger.error({ boundMs: SHUTDOWN_BOUND_MS }, 'shutdown took too long; exiting anyway');
    process.exit(code);
  }, SHUTDOWN_BOUND_MS).unref();
  await operator.stop(SHUTDOWN_GRACE_MS);
  return code;
};

/**
 * Why a listener could not start, as the flag to change, e.g. `--http-port 8080: address already in
 * use`; undefined for any other error.
 */
export function listenProblem(
  err: unknown,
  config: Pick<OperatorConfig, 'http' | 'metrics'>,
): string | undefined {
  const e = err as (NodeJS.ErrnoException & { port?: number }) | undefined;
  const flag = e?.port !== undefined && e.port === config.metrics.port ? '--metrics-port' : '--http-port';
  const port = flag === '--metrics-port' ? config.metrics.port : config.http.port;
  switch (e?.code) {
    case 'EADDRINUSE':
      return `${flag} ${port}: address already in use`;
    case 'EACCES':
      return `${flag} ${port}: permission denied (ports below 1024 need privileges)`;
    case 'EADDRNOTAVAIL':
      return `--http-host ${config.http.host}: no such address on this host`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `--http-host ${config.http.host}: cannot resolve this name`;
    default:
      return undefined;
  }
}

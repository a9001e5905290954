import { readFileSync } from 'node:fs';
import { ConfigError, loadOperatorConfig, operatorHelp } from '../config/operator.ts';
import { loadKubeConfig } from '../kube/kubeconfig.ts';
import { logger } from '../log.ts';
import { Operator } from '../operator/operator.ts';
import { type Command, ExitCode } from './io.ts';

const help = (program: string) => `Usage: ${program} operator [flags]

Watches Services, EndpointSlices, Pods, NetworkPolicies and Namespaces (cluster-wide, or the namespaces
given), probes every Service's backends on an interval and at once when its endpoints or pods change,
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

On SIGTERM it stops taking work, finishes the reconciles in flight, flushes Events, releases the Lease
and exits 0. It exits 1 when it loses the Lease (another replica leads), 2 on a bad setting.`;

/** Grace for in-flight reconciles and queued Events on SIGTERM (the pod's grace period is 30 s). */
const SHUTDOWN_GRACE_MS = 20_000;

export const operatorCommand: Command = async (argv, io) => {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${help(io.program)}\n`);
    return ExitCode.ok;
  }
  // A bad setting throws ConfigError (a UsageError): the entry point prints it and exits 2.
  const config = loadOperatorConfig({ argv, env: io.env, readFile: (p) => readFileSync(p, 'utf8') });
  const target = loadKubeConfig(config.cluster);
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
  await operator.start();
  await new Promise<void>((resolve) => {
    if (io.signal.aborted || done.signal.aborted) resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
    done.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await operator.stop(SHUTDOWN_GRACE_MS);
  return lost ? 1 : ExitCode.ok;
};

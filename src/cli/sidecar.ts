import { readFileSync } from 'node:fs';
import { endianness, networkInterfaces } from 'node:os';
import type { ClusterChoice } from '../config/settings.ts';
import { UsageError } from '../config/usage-error.ts';
import { closeServer } from '../http/listen.ts';
import type { ClusterTarget } from '../kube/kubeconfig.ts';
import { componentLogger, logger } from '../log.ts';
import { probeAll } from '../probe/engine.ts';
import { loadSidecarConfig, podIdentity, sidecarHelp } from '../sidecar/config.ts';
import { startHttp } from '../sidecar/http.ts';
import { inClusterApi, kubeconfigApi, serviceAccountNamespace } from '../sidecar/kube.ts';
import { type Listener, mergeListeners } from '../sidecar/proc-net.ts';
import { readProcNetListeners } from '../sidecar/proc-net-file.ts';
import { Sidecar } from '../sidecar/sidecar.ts';
import { sidecarMetrics } from '../sidecar/sidecar-metrics.ts';
import { type Command, ExitCode } from './io.ts';

const help = (program: string) => `Usage: ${program} sidecar [flags]

Runs beside the app in its pod and checks the pod's own ports from inside: every declared TCP port on
127.0.0.1, ::1 and each pod IP, plus what /proc/net/tcp{,6} says listens where. Each port is
Listening, ListeningOnLoopbackOnly, WrongAddressFamily, NotListening or UndeclaredListener.
Serves /healthz, /readyz (200 when every declared port answers on the pod IP), /metrics and /status.
Reports through its log and metrics, and, when its ServiceAccount may, as Events on its pod and the
sockeye.dev/sidecar-status, -summary, -since and sockeye.dev/loopback-only annotations.

The pod comes from the downward API: POD_NAME, POD_NAMESPACE, POD_UID, POD_IPS or POD_IP. The ports
come from the pod spec (get pods) or, without API access, from --ports. The API is the pod's mounted
ServiceAccount token; with --kubeconfig or --context, the cluster and credentials they name instead.

Settings: flags > environment > defaults. A boolean flag is --FLAG, --no-FLAG, --FLAG=true or
--FLAG=false; its variable takes true or false.

${sidecarHelp()}`;

async function readListeners(): Promise<Listener[] | undefined> {
  const order = endianness();
  const read = async (file: string, family: 4 | 6) => {
    try {
      return await readProcNetListeners(file, family, order);
    } catch {
      return undefined;
    }
  };
  const [v4, v6] = await Promise.all([read('/proc/net/tcp', 4), read('/proc/net/tcp6', 6)]);
  if (v4 === undefined && v6 === undefined) return undefined;
  return mergeListeners(v4 ?? [], v6 ?? []);
}

/** Resident memory from /proc/self/status: all of it, and the anonymous part a memory limit cannot reclaim. */
function memory(): { rssBytes: number; anonBytes: number | undefined; heapUsedBytes: number } {
  let anon: number | undefined;
  try {
    const kb = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb !== undefined) anon = Number(kb) * 1024;
  } catch {
    anon = undefined;
  }
  const usage = process.memoryUsage();
  return { rssBytes: usage.rss, anonBytes: anon, heapUsedBytes: usage.heapUsed };
}

/** Without the downward API: the addresses of the pod's interfaces (not loopback, not link-local). */
function interfaceIPs(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && !a.address.startsWith('fe80:'))
    .map((a) => a!.address);
}

/**
 * The cluster `--kubeconfig` / `--context` name, loaded as the other modes load it; undefined when
 * neither is given (the pod's mounted token then). Loaded only then: the kubeconfig loader brings
 * client-node's KubeConfig, which the in-pod sidecar does without (see ../sidecar/kube.ts).
 */
async function kubeconfigTarget(
  choice: ClusterChoice,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ClusterTarget | undefined> {
  if (choice.kubeconfig === undefined && choice.context === undefined) return undefined;
  const { loadKubeConfig } = await import('../kube/kubeconfig.ts');
  const target = loadKubeConfig(choice, { env });
  if (typeof target === 'string') throw new UsageError(`sidecar: ${target}`);
  return target;
}

export const sidecarCommand: Command = async (argv, io) => {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${help(io.program)}\n`);
    return ExitCode.ok;
  }
  const config = loadSidecarConfig(argv, io.env);
  const viaKubeconfig = config.api ? await kubeconfigTarget(config.cluster, io.env) : undefined;
  const found = podIdentity(
    io.env,
    io.env.POD_NAMESPACE ? undefined : (viaKubeconfig?.namespace ?? serviceAccountNamespace()),
  );
  const identity = found.ips.length > 0 ? found : { ...found, ips: interfaceIPs() };
  const log = componentLogger(logger, 'sidecar');
  if (identity.ips.length === 0) {
    io.stderr.write(
      `${io.program}: sidecar: no pod IP: set POD_IP or POD_IPS from the downward API (status.podIPs)\n`,
    );
    return ExitCode.usage;
  }
  const metrics = sidecarMetrics();
  let sidecar: Sidecar | undefined;
  const http = await startHttp(
    {
      healthy: () => sidecar?.healthy() ?? true,
      ready: () => sidecar?.ready() ?? false,
      status: () => ({ ...sidecar?.snapshot(), memory: memory() }),
    },
    metrics,
    log,
    config.http.host,
    config.http.port,
  );
  sidecar = new Sidecar({
    config,
    identity,
    api: !config.api ? undefined : viaKubeconfig ? kubeconfigApi(viaKubeconfig.kc) : inClusterApi(io.env),
    logger,
    metrics,
    ownPorts: [http.port],
    // Rounds are short (one timeout at most): a round in flight at SIGTERM simply finishes.
    probe: async (targets, timeoutMs) =>
      (await probeAll(targets, { timeoutMs })).map((r) => ({
        ip: r.target.ip,
        port: r.target.port,
        outcome: r.outcome,
        latencyMs: r.latencyMs,
      })),
    readListeners,
    now: Date.now,
  });
  try {
    await sidecar.start();
    log.info({ port: http.port }, 'serving /healthz /readyz /metrics /status');
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await sidecar.stop();
    await closeServer(http.server);
  }
  return ExitCode.ok;
};

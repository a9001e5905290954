/**
 * `sockeye probe svc/NAME[:PORT] -n NS`: walks the path users connect through, one line per hop:
 * each backend pod, each ClusterIP, the NodePort on each node, the health check, the load balancer;
 * then the findings the operator would report about it. Only the addresses the API server assigned
 * (docs/design.md "Safety"); a hop it cannot see (no right to list Nodes) is said, not guessed.
 */

import { loadKubeConfig } from '../kube/kubeconfig.ts';
import { readServiceState } from '../kube/service-state.ts';
import { byText } from '../model/order.ts';
import { probeAll } from '../probe/engine.ts';
import { formatAddress } from '../probe/target.ts';
import { observation } from '../rules/observation.ts';
import { connectsByTarget, expandConnects, rulesFor, targetKey } from '../rules/rules.ts';
import type { PlannedTarget } from '../rules/targets.ts';
import { type CommandIO, ExitCode, UsageError } from './io.ts';

export interface ServiceRef {
  readonly name: string;
  /** A port name or number; undefined: every port. */
  readonly port?: string | undefined;
}

const REF = /^(?:svc|service|services)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)(?::([-a-z0-9]+))?$/;

/** `svc/web`, `svc/web:http`, `service/web:80`; undefined for anything else (a HOST:PORT target). */
export function parseServiceRef(input: string): ServiceRef | undefined {
  const m = REF.exec(input);
  return m?.[1] === undefined ? undefined : { name: m[1], port: m[3] };
}

export interface ServiceProbeFlags {
  readonly namespace: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  readonly timeout: number;
  readonly concurrency: number;
  /** `--threads`; undefined: the engine's choice. */
  readonly threads: number | undefined;
}

const HOP_NAMES = {
  'cluster-ip': 'ClusterIP',
  'node-port': 'NodePort',
  'health-check': 'health check',
  'load-balancer': 'load balancer',
} as const;

function hopLabel(t: PlannedTarget): string {
  if (!t.hop) return `pod ${t.pod?.name ?? ''}`.trim();
  const name = HOP_NAMES[t.hop.kind];
  return t.hop.node ? `${name} ${t.hop.node}` : name;
}

/** Probes each Service's hops and prints them; 1 when sockeye would report a Warning about one. */
export async function probeServices(
  inputs: readonly string[],
  flags: ServiceProbeFlags,
  io: CommandIO,
): Promise<number> {
  const refs = inputs.map((input) => {
    const ref = parseServiceRef(input);
    if (!ref) throw new UsageError(`probe: bad Service reference "${input}": want svc/NAME or svc/NAME:PORT`);
    return ref;
  });
  const target = loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context });
  if (typeof target === 'string') {
    io.stderr.write(`${io.program}: probe: ${target}\n`);
    return ExitCode.usage;
  }
  const namespace = flags.namespace ?? target.namespace;
  let warned = false;
  for (const ref of refs) {
    let read: Awaited<ReturnType<typeof readServiceState>>;
    try {
      read = await readServiceState(target.kc, namespace, ref.name);
    } catch (err) {
      io.stderr.write(`${io.program}: probe: ${(err as Error).message}\n`);
      return ExitCode.usage;
    }
    const { service, state, problems } = read;
    const port = ref.port;
    const ports = service.ports.filter(
      (p) => port === undefined || p.name === port || String(p.port) === port,
    );
    if (ports.length === 0)
      throw new UsageError(`probe: Service ${namespace}/${ref.name} has no port ${port}`);
    const rules = rulesFor({
      ...state,
      options: {
        defaultTimeoutMs: flags.timeout,
        checkClusterIP: true,
        checkNodePorts: true,
        checkLoadBalancers: true,
      },
    });
    const skip = rules.skip(service);
    io.stdout.write(`svc/${ref.name} -n ${namespace}${skip ? `: not probed (${skip.why})` : ''}\n`);
    if (skip) continue;
    const numbers = new Set(ports.map((p) => p.port));
    const nodePorts = new Set(ports.flatMap((p) => (p.nodePort === undefined ? [] : [p.nodePort])));
    // Every backend (they serve each port), the chosen ports' hops and the Service's health checks.
    const chosen = rules
      .planTargets(service)
      .filter(
        (t) =>
          !t.hop ||
          t.hop.kind === 'health-check' ||
          (t.hop.kind === 'node-port' ? nodePorts.has(t.port) : numbers.has(t.port)),
      );
    // Pods by name, then the hops in the order a user's connection meets them.
    const byName = (a: PlannedTarget, b: PlannedTarget) =>
      a.hop || b.hop ? 0 : byText(a.pod?.name ?? a.ip, b.pod?.name ?? b.ip);
    chosen.sort((a, b) => Number(a.hop !== undefined) - Number(b.hop !== undefined) || byName(a, b));
    // A load balancer's address takes several connects (rules/connects.ts): one line, all of them.
    const results = await probeAll(expandConnects(chosen), {
      timeoutMs: flags.timeout,
      concurrency: flags.concurrency,
      ...(flags.threads === undefined ? {} : { threads: flags.threads }),
      ...(io.signal ? { signal: io.signal } : {}),
    });
    const observed = results.map(observation);
    const byTarget = connectsByTarget(observed);
    const statuses = new Map(
      observed.flatMap((o) =>
        o.app?.status === undefined ? [] : [[targetKey(o.target.ip, o.target.port), o.app.status] as const],
      ),
    );
    const outcomeText = (t: PlannedTarget) => {
      const c = byTarget.get(targetKey(t.ip, t.port));
      if (!c) return 'error';
      // A health check's HTTP answer: kube-proxy's 200 (a local endpoint) or 503 (none).
      const status = statuses.get(targetKey(t.ip, t.port));
      if (status !== undefined) return `${c.outcome} (HTTP ${status})`;
      return c.failed > 0 && c.failed < c.total
        ? `${c.outcome} (${c.failed} of ${c.total} connects)`
        : c.outcome;
    };
    const width = Math.max(...chosen.map((t) => hopLabel(t).length), 0);
    for (const t of chosen)
      io.stdout.write(
        `  ${hopLabel(t).padEnd(width)}  ${formatAddress(t.ip, t.port).padEnd(24)}  ${outcomeText(t)}\n`,
      );
    for (const problem of problems) io.stdout.write(`  not checked: ${problem}\n`);
    const { findings } = rules.judge({
      probes: observed,
      prober: { namespace: '', labels: {} },
      now: new Date(),
    });
    const about = (f: (typeof findings)[number]) =>
      f.object.kind === 'Service' &&
      f.severity === 'Warning' &&
      (f.port === undefined || numbers.has(f.port.number));
    for (const f of findings.filter(about)) {
      warned = true;
      io.stdout.write(`${f.reason}: ${f.message}\n`);
    }
  }
  return warned ? ExitCode.findings : ExitCode.ok;
}

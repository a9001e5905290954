/**
 * The sidecar loop. Each round: probe every declared port on 127.0.0.1, ::1 and every pod IP, read
 * what listens from /proc, classify (classify.ts), and report: log and metrics always; Events on the
 * pod and `sockeye.dev/sidecar-*` annotations when the API allows. A 403 switches that one channel off
 * for a while (RBAC may be granted later); no token switches the API off altogether.
 */

import { globalTimers, sleep, type Timers } from '../kube/backoff.ts';
import { classifyKubeError, statusCodeOf } from '../kube/errors.ts';
import { componentLogger, type Logger } from '../log.ts';
import type { ProbeTarget } from '../probe/outcome.ts';
import type { PodIdentity, SidecarConfig } from './config.ts';
import { SidecarEvents } from './event-writer.ts';
import { declaredPorts, type SidecarApi } from './kube.ts';
import { applyPatch, sidecarAnnotationPatch } from './pod-annotations.ts';
import {
  type AddressProbe,
  Confirmed,
  classesByPort,
  classifyRound,
  type DeclaredPort,
  isReady,
  loopbackOnlyPorts,
  type PortClass,
  type PortReport,
  podStatus,
  transitionEvents,
} from './port-classes.ts';
import type { Listener } from './proc-net.ts';
import type { SidecarMetrics } from './sidecar-metrics.ts';

/** How long a channel the API refused (403) stays off before the sidecar tries it again. */
export const FORBIDDEN_RETRY_MS = 5 * 60_000;

export interface SidecarDeps {
  readonly config: SidecarConfig;
  /** `ips` never empty. */
  readonly identity: PodIdentity;
  readonly api: SidecarApi | undefined;
  readonly logger: Logger;
  readonly metrics: SidecarMetrics;
  /** The sidecar's own listening ports (its HTTP port). */
  readonly ownPorts: readonly number[];
  /** Probes; one result per target, any order. */
  probe(
    targets: readonly ProbeTarget[],
    timeoutMs: number,
  ): Promise<readonly (AddressProbe & { latencyMs: number })[]>;
  /** Listening sockets from /proc/net/tcp{,6}; undefined when unreadable. */
  readListeners(): Promise<readonly Listener[] | undefined>;
  /** Wall clock (annotation times, event times). */
  now(): number;
  readonly timers?: Timers;
}

type Channel = 'read' | 'event' | 'patch';

export interface SidecarSnapshot {
  readonly pod: {
    readonly namespace: string | undefined;
    readonly name: string;
    readonly ips: readonly string[];
  };
  readonly portsFrom: 'pod spec' | 'flags' | 'none';
  readonly ready: boolean;
  readonly rounds: number;
  readonly ports: readonly PortReport[];
  readonly api: Readonly<Record<Channel, 'ok' | 'forbidden' | 'off'>>;
}

export class Sidecar {
  readonly #deps: SidecarDeps;
  readonly #log: Logger;
  readonly #timers: Timers;
  readonly #stop = new AbortController();
  readonly #confirmed: Confirmed;
  readonly #recorder: SidecarEvents | undefined;
  #loop: Promise<void> | undefined;
  #ports: readonly DeclaredPort[] = [];
  #portsFrom: SidecarSnapshot['portsFrom'] = 'none';
  /** --ports applied (once; the pod spec still replaces it when the API allows later). */
  #fallback = false;
  #uid: string | undefined;
  /** The annotations as the sidecar last knew them: read at start, then what it patched. */
  #annotations: Record<string, string | undefined> | undefined;
  #reported: ReadonlyMap<number, PortClass> = new Map();
  #live: readonly PortReport[] = [];
  #liveClass = new Map<number, PortClass>();
  #ready = false;
  #rounds = 0;
  #lastRoundAt: number | undefined;
  readonly #forbiddenUntil: Record<Channel, number> = { read: 0, event: 0, patch: 0 };

  constructor(deps: SidecarDeps) {
    this.#deps = deps;
    this.#log = componentLogger(deps.logger, 'sidecar');
    this.#timers = deps.timers ?? globalTimers;
    this.#confirmed = new Confirmed(deps.config.confirmations);
    const { api, config, identity } = deps;
    if (api && config.events && identity.namespace) {
      this.#recorder = new SidecarEvents({
        api,
        reportingInstance: identity.name,
        now: deps.now,
        logger: this.#log,
        onWrite: (result) => deps.metrics.write('event', result),
        onForbidden: (err) => this.#failed('event', err, 'cannot write Events on the pod'),
        ...(deps.timers ? { timers: deps.timers } : {}),
      });
    }
  }

  /** Runs the first round, then keeps going every interval until `stop()`. */
  async start(): Promise<void> {
    const { identity, api, config } = this.#deps;
    this.#log.info(
      {
        pod: `${identity.namespace ?? '?'}/${identity.name}`,
        ips: identity.ips,
        api: api ? 'in-cluster' : 'none (no ServiceAccount token mounted)',
        intervalMs: config.intervalMs,
      },
      'sidecar starting',
    );
    await this.#round();
    this.#loop = this.#run();
  }

  async stop(graceMs = 5000): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    await this.#recorder?.close(AbortSignal.timeout(graceMs));
  }

  ready(): boolean {
    return this.#ready;
  }

  /** Alive when a round ended within three intervals (a stuck loop fails /healthz). */
  healthy(): boolean {
    const last = this.#lastRoundAt;
    return last !== undefined && this.#deps.now() - last < 3 * this.#deps.config.intervalMs + 5000;
  }

  snapshot(): SidecarSnapshot {
    const { identity, api, config } = this.#deps;
    const channel = (c: Channel, enabled: boolean) =>
      !api || !enabled ? 'off' : this.#forbiddenUntil[c] > this.#deps.now() ? 'forbidden' : 'ok';
    return {
      pod: { namespace: identity.namespace, name: identity.name, ips: identity.ips },
      portsFrom: this.#portsFrom,
      ready: this.#ready,
      rounds: this.#rounds,
      ports: this.#live,
      api: {
        read: channel('read', true),
        event: channel('event', config.events && this.#recorder !== undefined),
        patch: channel('patch', config.annotations),
      },
    };
  }

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      await sleep(this.#deps.config.intervalMs, this.#timers, this.#stop.signal);
      if (this.#stop.signal.aborted) return;
      try {
        await this.#round();
      } catch (err) {
        // A bug in one round must not end the loop; /healthz shows a loop that stopped making rounds.
        this.#log.error({ err }, 'round failed');
      }
    }
  }

  async #round(): Promise<void> {
    const { config, identity, metrics } = this.#deps;
    const started = performance.now();
    await this.#resolvePorts();
    const targets: ProbeTarget[] = this.#ports.flatMap((p) =>
      ['127.0.0.1', '::1', ...identity.ips].map((ip) => ({ ip, port: p.number })),
    );
    const [results, listeners] = await Promise.all([
      targets.length > 0 ? this.#deps.probe(targets, config.timeoutMs) : Promise.resolve([]),
      this.#deps.readListeners(),
    ]);
    for (const r of results) {
      metrics.probe(identity.ips.includes(r.ip) ? 'pod' : 'loopback', r.outcome, r.latencyMs);
    }
    const reports = classifyRound({
      declared: this.#ports,
      podIPs: identity.ips,
      probes: results,
      listeners,
      ownPorts: this.#deps.ownPorts,
    });
    this.#live = reports;
    this.#ready = isReady(reports);
    this.#rounds++;
    this.#lastRoundAt = this.#deps.now();
    metrics.round(reports, this.#ready, (performance.now() - started) / 1000);
    this.#logChanges(reports);
    await this.#report(this.#confirmed.observe(reports));
  }

  /** Logs a port when its class changes (and every port on the first round). */
  #logChanges(reports: readonly PortReport[]): void {
    const next = classesByPort(reports);
    for (const r of reports) {
      if (this.#liveClass.get(r.port) === r.class) continue;
      const fields = { port: r.port, name: r.name || undefined, class: r.class, detail: r.detail };
      if (r.class === 'Listening' || r.class === 'UndeclaredListener') this.#log.info(fields, 'port state');
      else this.#log.warn(fields, 'port state');
    }
    for (const port of this.#liveClass.keys()) {
      if (!next.has(port)) this.#log.info({ port }, 'port gone');
    }
    this.#liveClass = next;
  }

  /** Ports from the pod spec when the API lets the sidecar read its pod, else from --ports / env. */
  async #resolvePorts(): Promise<void> {
    const { api, identity, config } = this.#deps;
    if (this.#portsFrom === 'pod spec') return;
    if (api && identity.namespace && this.#allowed('read')) {
      try {
        const pod = await api.readPod(identity.namespace, identity.name);
        this.#deps.metrics.write('read', 'ok');
        this.#ports = declaredPorts(pod.containers, config.containerName, this.#deps.ownPorts);
        this.#portsFrom = 'pod spec';
        this.#uid = pod.uid;
        this.#annotations = { ...pod.annotations };
        this.#log.info({ ports: this.#ports }, 'ports from the pod spec');
        return;
      } catch (err) {
        this.#failed('read', err, 'cannot read the pod spec; using --ports');
      }
    }
    if (!this.#fallback) {
      this.#fallback = true;
      const ports = (config.ports ?? []).filter((p) => !this.#deps.ownPorts.includes(p.number));
      this.#ports = ports;
      this.#portsFrom = config.ports ? 'flags' : 'none';
      if (config.ports) this.#log.info({ ports }, 'ports from --ports / SOCKEYE_PORTS');
      else
        this.#log.warn(
          'no ports: the pod spec cannot be read and --ports is not set; only listening sockets are reported',
        );
    }
  }

  async #report(confirmed: readonly PortReport[]): Promise<void> {
    const events = transitionEvents(this.#reported, confirmed);
    this.#reported = classesByPort(confirmed);
    const { identity, api, config } = this.#deps;
    const namespace = identity.namespace;
    for (const e of events) {
      this.#log.info({ reason: e.reason, type: e.type, note: e.note }, 'finding');
      if (this.#recorder && namespace && this.#allowed('event')) {
        this.#recorder.record({
          regarding: {
            apiVersion: 'v1',
            kind: 'Pod',
            namespace,
            name: identity.name,
            ...((this.#uid ?? identity.uid) ? { uid: (this.#uid ?? identity.uid) as string } : {}),
          },
          type: e.type,
          reason: e.reason,
          action: 'Probe',
          note: e.note,
        });
      }
    }
    if (!api || !namespace || !config.annotations || !this.#allowed('patch') || confirmed.length === 0)
      return;
    const current = this.#annotations ?? {};
    const { status, summary } = podStatus(confirmed);
    const patch = sidecarAnnotationPatch(
      current,
      { status, summary, loopbackOnly: loopbackOnlyPorts(confirmed) },
      new Date(this.#deps.now()),
    );
    if (!patch) return;
    try {
      await api.patchAnnotations(namespace, identity.name, patch);
      this.#deps.metrics.write('patch', 'ok');
      this.#annotations = applyPatch(current, patch);
    } catch (err) {
      this.#failed('patch', err, 'cannot annotate the pod');
    }
  }

  #allowed(channel: Channel): boolean {
    return this.#forbiddenUntil[channel] <= this.#deps.now();
  }

  /** Logs a failed call once per cause; a 403 turns the channel off for FORBIDDEN_RETRY_MS. */
  #failed(channel: Channel, err: unknown, message: string): void {
    const failure = classifyKubeError(err, this.#deps.now());
    const forbidden = statusCodeOf(err) === 403;
    // The event writer counts its own results.
    if (channel !== 'event') this.#deps.metrics.write(channel, forbidden ? 'forbidden' : failure.kind);
    if (forbidden) {
      this.#forbiddenUntil[channel] = this.#deps.now() + FORBIDDEN_RETRY_MS;
      this.#log.warn(
        { channel, retryInMs: FORBIDDEN_RETRY_MS, reason: failure.reason },
        `${message}: the ServiceAccount may not (RBAC); log and metrics still report`,
      );
    } else {
      this.#log.warn({ channel, err: failure }, message);
    }
  }
}

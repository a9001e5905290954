/**
 * `sockeye sidecar` settings: flags > env > defaults, and the pod's identity from the downward API.
 * A bad value fails start-up with a message naming the flag or env var. Pure: argv and env come in.
 */

import { CLUSTER_SETTINGS, type ClusterChoice, loadSettings, settingsHelp } from '../config/settings.ts';
import { SIDECAR_SETTINGS } from '../config/sidecar.ts';
import { UsageError } from '../config/usage-error.ts';
import type { DeclaredPort } from './port-classes.ts';

export interface SidecarConfig {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Rounds a class must hold before Events and annotations report it. */
  readonly confirmations: number;
  readonly http: { readonly host: string | undefined; readonly port: number };
  /** Ports to check when the pod spec cannot be read through the API. */
  readonly ports: readonly DeclaredPort[] | undefined;
  /** This container's name: its own ports are never checked. */
  readonly containerName: string;
  /** Use the API (pod spec, Events, annotations) when a ServiceAccount token is mounted. */
  readonly api: boolean;
  readonly events: boolean;
  readonly annotations: boolean;
  /**
   * `--kubeconfig` and `--context`: the API through a kubeconfig, as the other modes take it; neither
   * given, the pod's mounted ServiceAccount token (the default in a pod).
   */
  readonly cluster: ClusterChoice;
}

export interface PodIdentity {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly uid: string | undefined;
  /** From POD_IPS (comma list, as the downward API writes status.podIPs), else POD_IP; may be empty. */
  readonly ips: readonly string[];
}

/** The sidecar's own settings and the cluster flags every mode that talks to the API takes. */
const TABLE = { ...SIDECAR_SETTINGS, ...CLUSTER_SETTINGS };

export function sidecarHelp(): string {
  return settingsHelp(TABLE);
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadSidecarConfig(argv: readonly string[], env: Env): SidecarConfig {
  const { values: v } = loadSettings(TABLE, { argv, env }, { command: 'sidecar' });
  const config: SidecarConfig = {
    intervalMs: v.interval,
    // Inside the pod a refusal is immediate; the default only has to bound a dropped SYN.
    timeoutMs: v.timeout ?? Math.min(1000, Math.floor(v.interval / 2)),
    confirmations: v.confirmations,
    http: { host: v.host, port: v.port },
    ports: v.ports,
    containerName: v.containerName,
    api: v.api,
    events: v.events,
    annotations: v.annotations,
    cluster: { kubeconfig: v.kubeconfig, context: v.context },
  };
  if (config.timeoutMs >= config.intervalMs) {
    throw new UsageError(
      `sidecar: timeout (${config.timeoutMs}ms) must be shorter than interval (${config.intervalMs}ms)`,
    );
  }
  return config;
}

/** `8080,metrics=9090`: numbers, optionally named like a containerPort. */
/** Who the sidecar is, from the downward API env (POD_NAME, POD_NAMESPACE, POD_UID, POD_IPS/POD_IP). */
export function podIdentity(env: Env, fallbackNamespace: string | undefined): PodIdentity {
  const list = (env.POD_IPS?.trim() || env.POD_IP?.trim() || '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return {
    name: env.POD_NAME?.trim() || env.HOSTNAME?.trim() || 'unknown',
    namespace: env.POD_NAMESPACE?.trim() || fallbackNamespace,
    uid: env.POD_UID?.trim() || undefined,
    ips: [...new Set(list)],
  };
}

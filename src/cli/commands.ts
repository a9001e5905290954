import type { Command } from './io.ts';

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/** Each mode lives in its own module, loaded only when asked for, so `sockeye probe` starts fast. */
export const commands: Record<string, CommandEntry> = {
  audit: {
    summary: 'one-shot audit of the cluster: which Services would refuse a connection now, and why',
    load: async () => (await import('./audit.ts')).auditCommand,
  },
  explain: {
    summary: 'list the findings sockeye reports, or print the troubleshooting guide for one',
    load: async () => (await import('./explain.ts')).explainCommand,
  },
  operator: {
    summary: 'watch the cluster, probe every Service backend, write Events and annotations',
    load: async () => (await import('./operator.ts')).operatorCommand,
  },
  probe: {
    summary: 'connect to HOST:PORT targets and explain how each connect ended',
    load: async () => (await import('./probe.ts')).probeCommand,
  },
  sidecar: {
    summary: 'run beside an app in its pod: find ports bound to 127.0.0.1 only, serve a readiness check',
    load: async () => (await import('./sidecar.ts')).sidecarCommand,
  },
  webhook: {
    summary: 'mutating admission webhook that adds the sidecar to pods annotated sockeye.dev/inject: "true"',
    load: async () => (await import('./webhook.ts')).webhookCommand,
  },
};

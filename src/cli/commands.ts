import type { Command } from './io.ts';

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/** Each mode lives in its own module, loaded only when asked for, so `sockeye probe` starts fast. */
export const commands: Record<string, CommandEntry> = {
  explain: {
    summary: 'list the findings sockeye reports, or print the troubleshooting guide for one',
    load: async () => (await import('./explain.ts')).explainCommand,
  },
  probe: {
    summary: 'connect to HOST:PORT targets and explain how each connect ended',
    load: async () => (await import('./probe.ts')).probeCommand,
  },
};

import type { Command } from './io.ts';

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/** Each mode lives in its own module, loaded only when asked for, so `sockeye probe` starts fast. */
export const commands: Record<string, CommandEntry> = {};

/**
 * The layer order of src/, bottom first, and the checks that every import points down (or stays in its
 * own folder), that no import cycle exists, and what the build ships. `npm test` runs them over the
 * tree (layers.test.ts); docs/design.md › Layers explains the order.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['model', 'log.ts', 'version.ts', 'clock.ts'], // plain domain types, the logger, the release, the clock
  ['config'], // settings and annotations: parsing, never I/O beyond reading files given to it
  ['probe'], // TCP probes, outcomes
  ['rules'], // pure analysis: state + outcomes -> findings
  ['http'], // listeners, the operator's endpoints and their authorization
  ['kube'], // every @kubernetes/client-node use
  ['controller'], // the work queue, the controller loop, leader election
  ['audit', 'operator', 'sidecar', 'webhook'], // the modes, side by side: none imports another
  ['cli'], // commands, flags, help
  ['bin'], // the entry point
];

/** The unit a file belongs to: its first folder under src/, or the file itself at the top. */
export function unitOf(file: string): string {
  const [first = ''] = file.split('/');
  return first;
}

function layerOf(unit: string): number {
  return LAYERS.findIndex((layer) => layer.includes(unit));
}

/** One import that breaks the order: from a file to a file of a unit at the same or a higher layer. */
export interface Violation {
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

/** `imports`: file (relative to src/) -> the files it imports (relative to src/). */
export function layerViolations(imports: ReadonlyMap<string, readonly string[]>): Violation[] {
  const out: Violation[] = [];
  for (const [from, targets] of imports) {
    const a = unitOf(from);
    for (const to of targets) {
      const b = unitOf(to);
      if (a === b) continue;
      const la = layerOf(a);
      const lb = layerOf(b);
      if (la < 0) out.push({ from, to, why: `${a} is in no layer` });
      else if (lb < 0) out.push({ from, to, why: `${b} is in no layer` });
      else if (lb > la) out.push({ from, to, why: `${a} (layer ${la}) imports up into ${b} (layer ${lb})` });
      else if (lb === la) out.push({ from, to, why: `${a} and ${b} are side by side (layer ${la})` });
    }
  }
  return out;
}

/** Every import cycle, each as the files along it (first file repeated at the end). */
export function importCycles(imports: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of imports.get(file) ?? []) {
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...imports.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** The files `entry` reaches through imports (itself included). */
export function reachable(imports: ReadonlyMap<string, readonly string[]>, entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    todo.push(...(imports.get(file) ?? []));
  }
  return seen;
}

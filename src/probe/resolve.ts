import { lookup as dnsLookup } from 'node:dns/promises';
import type { ProbeTarget } from './outcome.ts';
import type { TargetSpec } from './target.ts';

/** A probe target that remembers which spec it came from (one name may give several addresses). */
export interface ResolvedTarget extends ProbeTarget {
  readonly spec: TargetSpec;
}

export type Lookup = (host: string) => Promise<readonly { readonly address: string }[]>;

export type Resolution =
  | { readonly kind: 'resolved'; readonly targets: readonly ResolvedTarget[] }
  | {
      readonly kind: 'unresolved';
      readonly failures: readonly { readonly spec: TargetSpec; readonly reason: string }[];
    };

const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, order: 'verbatim' });

/**
 * Turns specs into IP targets before any probe starts, so that DNS never sits on the probe's hot path
 * or inside its deadline. A name gives one target per address; each distinct name is looked up once.
 */
export async function resolveTargets(
  specs: readonly TargetSpec[],
  lookup: Lookup = systemLookup,
): Promise<Resolution> {
  const names = [...new Set(specs.filter((s) => s.family === 0).map((s) => s.host))];
  const answers = new Map<string, readonly string[] | Error>();
  await Promise.all(
    names.map(async (name) => {
      try {
        answers.set(name, [...new Set((await lookup(name)).map((a) => a.address))]);
      } catch (err) {
        answers.set(name, err instanceof Error ? err : new Error(String(err)));
      }
    }),
  );
  const targets: ResolvedTarget[] = [];
  const failures: { spec: TargetSpec; reason: string }[] = [];
  for (const spec of specs) {
    if (spec.family !== 0) {
      targets.push({ ip: spec.host, port: spec.port, spec });
      continue;
    }
    const answer = answers.get(spec.host);
    if (answer instanceof Error || answer === undefined || answer.length === 0) {
      const code =
        answer instanceof Error ? ((answer as NodeJS.ErrnoException).code ?? answer.message) : 'no addresses';
      failures.push({ spec, reason: `cannot resolve "${spec.host}" (${code})` });
      continue;
    }
    for (const ip of answer) targets.push({ ip, port: spec.port, spec });
  }
  return failures.length > 0 ? { kind: 'unresolved', failures } : { kind: 'resolved', targets };
}

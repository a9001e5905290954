// Reading Prometheus text exposition (the operator's /metrics and kube-apiserver's) into plain
// numbers for the operator bench. Pure (see bench/prometheus.test.ts); enough of the format for the
// metrics read here: no escaped quotes inside label values, no timestamps after the value.

export interface Sample {
  /** What stands between the braces (`verb="GET",resource="pods"`), '' for a series without labels. */
  readonly labels: string;
  readonly value: number;
}

/** Every sample of the metric `name` (not of metrics whose name merely starts with it). */
export function samples(text: string, name: string): Sample[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => ({
      labels: l.startsWith(`${name}{`) ? l.slice(name.length + 1, l.lastIndexOf('}')) : '',
      value: Number(l.slice(l.lastIndexOf(' ') + 1)),
    }));
}

/** The sum of every sample of the metric `name`: 0 where it has none. */
export const total = (text: string, name: string): number =>
  samples(text, name).reduce((s, x) => s + x.value, 0);

/** The value of `label` in a sample's labels, '' where it is absent. */
export const labelValue = (labels: string, label: string): string =>
  new RegExp(`(?:^|,)${label}="([^"]*)"`).exec(labels)?.[1] ?? '';

/** kube-apiserver's apiserver_request_total summed by `VERB resource[/subresource]`. */
export function requestCounts(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples(text, 'apiserver_request_total')) {
    const sub = labelValue(s.labels, 'subresource');
    const key = `${labelValue(s.labels, 'verb')} ${labelValue(s.labels, 'resource')}${sub ? `/${sub}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** How much each counter grew from `before` to `after`; counters that did not grow are left out. */
export function increase(
  after: ReadonlyMap<string, number>,
  before: ReadonlyMap<string, number>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

/** `a - b` per key over the keys of both, negative differences kept, zero ones left out. */
export function difference(
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const d = (a.get(k) ?? 0) - (b.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}

/** The sum of a map's values. */
export const sumValues = (m: ReadonlyMap<string, number>): number =>
  [...m.values()].reduce((a, b) => a + b, 0);

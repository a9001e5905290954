// How many ready addresses each Service has in its EndpointSlices and in its v1 Endpoints: what the
// audit benches wait on before they measure. Pure (see bench/endpoints-count.test.ts).

interface SliceLike {
  readonly metadata?: { readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly endpoints?: readonly { readonly conditions?: { readonly ready?: boolean } }[];
}

interface EndpointsLike {
  readonly metadata?: { readonly namespace?: string; readonly name?: string };
  readonly subsets?: readonly { readonly addresses?: readonly unknown[] }[];
}

/** `namespace/service` -> endpoints not marked unready, summed over the Service's EndpointSlices. */
export function readyInSlices(slices: readonly SliceLike[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const slice of slices) {
    const svc = `${slice.metadata?.namespace}/${slice.metadata?.labels?.['kubernetes.io/service-name']}`;
    const n = (slice.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
    out.set(svc, (out.get(svc) ?? 0) + n);
  }
  return out;
}

/** `namespace/name` -> ready addresses of each v1 Endpoints object. */
export function readyInEndpoints(endpoints: readonly EndpointsLike[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const ep of endpoints) {
    const n = (ep.subsets ?? []).reduce((sum, subset) => sum + (subset.addresses?.length ?? 0), 0);
    out.set(`${ep.metadata?.namespace}/${ep.metadata?.name}`, n);
  }
  return out;
}

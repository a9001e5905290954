/**
 * Which workload a pod belongs to, to tell a Service that its selector also matches another one's pods:
 * by controller (a Deployment, StatefulSet, …), else by a label outside the selector.
 */

import { byText } from '../model/order.ts';
import type { Pod, Service } from '../model/types.ts';
import { nameList } from './catalog.ts';

/** The Deployment controller's label: it differs between a Deployment's own generations, so it never tells. */
const POD_TEMPLATE_HASH = 'pod-template-hash';

/** Labels that name a workload, tried first, so messages suggest the usual one. */
const PREFERRED = ['app.kubernetes.io/name', 'app.kubernetes.io/component', 'app', 'component'];

const ownerOf = (p: Pod) => (p.owner ? `${p.owner.kind} ${p.owner.name}` : undefined);

export interface OtherWorkload {
  /** "Deployment worker", or "another workload (app=worker)" for pods without a controller. */
  readonly workload: string;
  /** `key=value` that the claiming pods share and the foreign ones lack; undefined when none does. */
  readonly label?: string | undefined;
}

/**
 * Whether `foreign` pods belong to another workload than `claimers` (the pods that claim the Service's
 * port): their controllers differ, or, where a pod has none, a label outside the selector tells them apart.
 * Undefined when they are one workload (a rollout's generations) or there is nothing to compare with.
 */
export function otherWorkload(
  service: Service,
  claimers: readonly Pod[],
  foreign: readonly Pod[],
): OtherWorkload | undefined {
  if (claimers.length === 0 || foreign.length === 0) return undefined;
  const label = tellingLabel(service, claimers, foreign);
  const owners = foreign.map(ownerOf);
  if ([...claimers, ...foreign].every((p) => p.owner !== undefined)) {
    const own = new Set(claimers.map(ownerOf));
    if (owners.some((o) => own.has(o))) return undefined;
    return { workload: nameList([...new Set(owners as string[])]), label };
  }
  if (label === undefined) return undefined;
  const key = label.slice(0, label.indexOf('='));
  const values = [...new Set(foreign.map((p) => p.labels[key]))];
  const [only] = values;
  const which = values.length === 1 && only !== undefined ? ` (${key}=${only})` : '';
  return { workload: `another workload${which}`, label };
}

/** A label outside the selector whose value every claiming pod shares and no foreign pod has. */
function tellingLabel(
  service: Service,
  claimers: readonly Pod[],
  foreign: readonly Pod[],
): string | undefined {
  const [first] = claimers;
  if (!first) return undefined;
  const selector = service.selector ?? {};
  const rank = (k: string) => (PREFERRED.includes(k) ? PREFERRED.indexOf(k) : PREFERRED.length);
  const keys = Object.keys(first.labels)
    .filter((k) => k !== POD_TEMPLATE_HASH && !Object.hasOwn(selector, k))
    .sort((a, b) => rank(a) - rank(b) || byText(a, b));
  const key = keys.find((k) => {
    const value = first.labels[k];
    return claimers.every((p) => p.labels[k] === value) && foreign.every((p) => p.labels[k] !== value);
  });
  return key === undefined ? undefined : `${key}=${first.labels[key]}`;
}

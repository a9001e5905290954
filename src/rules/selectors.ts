import { byText } from '../model/order.ts';
import type { LabelSelector, Labels } from '../model/types.ts';

/** A Service selector (plain map): every pair must match. An empty map matches nothing here, by design: a
 * Service without a selector selects no pod. */
export function selectsPod(selector: Labels | undefined, labels: Labels): boolean {
  if (!selector) return false;
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** A metav1.LabelSelector: an empty selector matches everything. */
export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels)) {
    if (labels[k] !== v) return false;
  }
  return selector.matchExpressions.every((e) => {
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        return value !== undefined && e.values.includes(value);
      case 'NotIn':
        return value === undefined || !e.values.includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
    }
    return false;
  });
}

/** Whether two label maps hold the same pairs (an absent map is an empty one). */
export function sameLabels(a: Labels | undefined, b: Labels | undefined): boolean {
  const pairs = Object.entries(a ?? {});
  return pairs.length === Object.keys(b ?? {}).length && pairs.every(([k, v]) => b?.[k] === v);
}

/** `app=web,tier=front`, sorted so messages are stable. */
export function formatSelector(selector: Labels): string {
  return Object.entries(selector)
    .sort(([a], [b]) => byText(a, b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

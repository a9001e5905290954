/**
 * What a new leader inherits from the one before: the Warning Events sockeye already wrote. The
 * reconciler remembers them, so a finding that is still true is not written a second time (the
 * Event is there; its series goes on from the next change).
 */
import type { EventsV1Api, EventsV1Event } from '@kubernetes/client-node';
import { type EventInput, REPORTING_CONTROLLER } from './events.ts';
import { mapPages, type PageSource, paginate } from './pager.ts';
import { withSignal } from './request-options.ts';

/** Events per page of the read. */
export const INHERIT_PAGE_SIZE = 500;

/** The pages of Events in one namespace, or in all of them (`undefined`). */
export type EventPages = (namespace: string | undefined) => PageSource<EventsV1Event>;

/** `EventPages` over client-node's events.k8s.io/v1 API; `signal` cancels the request in flight. */
export function eventsV1Pages(
  api: Pick<EventsV1Api, 'listNamespacedEvent' | 'listEventForAllNamespaces'>,
  signal: AbortSignal,
): EventPages {
  return (namespace) => (page) =>
    namespace
      ? api.listNamespacedEvent({ namespace, ...page }, withSignal(signal))
      : api.listEventForAllNamespaces(page, withSignal(signal));
}

/** The Event as the recorder's input when sockeye wrote it as a Warning about an object; else undefined. */
export function inheritedWarning(e: EventsV1Event): EventInput | undefined {
  const r = e.regarding;
  if (e.reportingController !== REPORTING_CONTROLLER || e.type !== 'Warning' || !r) return undefined;
  return {
    regarding: {
      apiVersion: r.apiVersion ?? 'v1',
      kind: r.kind ?? '',
      name: r.name ?? '',
      namespace: r.namespace ?? '',
    },
    type: 'Warning',
    reason: e.reason ?? '',
    action: e.action ?? '',
    note: e.note ?? '',
  };
}

/**
 * Every Warning sockeye wrote in `namespaces` (all of them when empty), one paged list per
 * namespace; each page is narrowed to those Warnings as it arrives.
 */
export async function readInheritedWarnings(
  pages: EventPages,
  namespaces: readonly string[],
  signal?: AbortSignal,
): Promise<EventInput[]> {
  const warnings: EventInput[] = [];
  for (const scope of namespaces.length > 0 ? namespaces : [undefined]) {
    const ours = mapPages(pages(scope), (events) => events.flatMap((e) => inheritedWarning(e) ?? []));
    const { items } = await paginate(ours, { limit: INHERIT_PAGE_SIZE, signal });
    warnings.push(...items);
  }
  return warnings;
}

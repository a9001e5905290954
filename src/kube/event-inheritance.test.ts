import type { EventsV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { INHERIT_PAGE_SIZE, inheritedWarning, readInheritedWarnings } from './event-inheritance.ts';
import { REPORTING_CONTROLLER } from './events.ts';
import { fakePages } from './fake-pages.ts';

function event(name: string, extra: Partial<EventsV1Event> = {}): EventsV1Event {
  return {
    eventTime: new Date(0),
    reportingController: REPORTING_CONTROLLER,
    type: 'Warning',
    reason: 'NoHealthyTargets',
    action: 'Probe',
    note: `${name}: 0/2 open`,
    regarding: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name },
    ...extra,
  };
}

describe('inheritedWarning', () => {
  it('reads a Warning sockeye wrote as the recorder input it came from', () => {
    expect(inheritedWarning(event('web'))).toEqual({
      regarding: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web' },
      type: 'Warning',
      reason: 'NoHealthyTargets',
      action: 'Probe',
      note: 'web: 0/2 open',
    });
  });

  it.each([
    ['another controller wrote it', { reportingController: 'kubelet' }],
    ['it is Normal', { type: 'Normal' }],
    ['it regards nothing', { regarding: undefined }],
  ] as const)('skips an Event when %s', (_, extra) => {
    expect(inheritedWarning(event('web', extra as Partial<EventsV1Event>))).toBeUndefined();
  });

  it('fills what an Event left out: apiVersion v1, empty strings', () => {
    const bare: EventsV1Event = {
      eventTime: new Date(0),
      reportingController: REPORTING_CONTROLLER,
      type: 'Warning',
      regarding: { kind: 'Node', name: 'n1' },
    };
    expect(inheritedWarning(bare)).toEqual({
      regarding: { apiVersion: 'v1', kind: 'Node', name: 'n1', namespace: '' },
      type: 'Warning',
      reason: '',
      action: '',
      note: '',
    });
  });
});

describe('readInheritedWarnings', () => {
  it('pages through every namespace, once across all when none is given, keeping only our Warnings', async () => {
    const all = [
      event('a'),
      event('b', { type: 'Normal' }),
      event('c'),
      event('d', { reportingController: 'x' }),
    ];
    const lists = new Map<string, ReturnType<typeof fakePages<EventsV1Event>>>();
    const pages = (ns: string | undefined) => {
      const list = fakePages(all);
      lists.set(ns ?? '*', list);
      return list.page;
    };
    const everywhere = await readInheritedWarnings(pages, []);
    expect(everywhere.map((w) => w.regarding.name)).toEqual(['a', 'c']);
    expect([...lists.keys()]).toEqual(['*']);
    expect(lists.get('*')?.requests).toEqual([{ limit: INHERIT_PAGE_SIZE }]);

    lists.clear();
    const scoped = await readInheritedWarnings(pages, ['shop', 'pay']);
    expect(scoped.map((w) => w.regarding.name)).toEqual(['a', 'c', 'a', 'c']);
    expect([...lists.keys()]).toEqual(['shop', 'pay']);
  });

  it('reads every page in order and lets a failure through', async () => {
    const many = Array.from({ length: INHERIT_PAGE_SIZE + 2 }, (_, i) => event(`s${i}`));
    const list = fakePages(many);
    const warnings = await readInheritedWarnings(() => list.page, ['shop']);
    expect(warnings.map((w) => w.regarding.name)).toEqual(many.map((e) => e.regarding?.name));
    expect(list.requests.length).toBe(2);

    const forbidden = new Error('forbidden');
    const denied = fakePages(many, () => forbidden);
    await expect(readInheritedWarnings(() => denied.page, [])).rejects.toBe(forbidden);
  });

  it('reads nothing once the signal aborted', async () => {
    const list = fakePages([event('a')]);
    await expect(readInheritedWarnings(() => list.page, [], AbortSignal.abort())).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(list.requests).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { ListSplitter } from './list-splitter.ts';

/** Splits `body` at the given offsets and returns what the splitter made of it. */
function split(
  body: string,
  cuts: readonly number[],
  dropManagedFields = false,
): { items: unknown[]; head: unknown } {
  const items: unknown[] = [];
  const splitter = new ListSplitter((text) => items.push(JSON.parse(text)), { dropManagedFields });
  let at = 0;
  for (const cut of [...cuts, body.length]) {
    splitter.push(body.slice(at, cut));
    at = cut;
  }
  return { items, head: splitter.end() };
}

const tricky = {
  kind: 'PodList',
  apiVersion: 'v1',
  metadata: { resourceVersion: '42', items: ['not', 'these'], note: 'a "quoted" {brace} [bracket] \\ back' },
  items: [
    { metadata: { name: 'a', labels: { items: '[{"x":1}]', 'we"ird': '\\"}' } }, spec: { list: [[], [{}]] } },
    { metadata: { name: 'b\u00e9\ud83d\ude00', annotations: { 'x/y': '}}]]' } } },
    {},
  ],
};

describe('ListSplitter', () => {
  it('gives every item, and the rest with items empty, however the body is cut', () => {
    const body = JSON.stringify(tricky, null, 1);
    const { items: all, ...rest } = tricky;
    for (let cut = 0; cut <= body.length; cut++) {
      expect(split(body, [cut])).toEqual({ items: all, head: { ...rest, items: [] } });
    }
    for (let n = 0; n < 50; n++) {
      const cuts = Array.from({ length: 8 }, () => Math.floor(Math.random() * body.length)).sort(
        (a, b) => a - b,
      );
      expect(split(body, cuts).items).toEqual(all);
    }
  });

  it('reads metadata after the items, and an empty or missing items list', () => {
    expect(split('{"items":[{"a":1}],"metadata":{"continue":"x"}}', [5])).toEqual({
      items: [{ a: 1 }],
      head: { items: [], metadata: { continue: 'x' } },
    });
    expect(split('{"items":[],"metadata":{}}', [])).toEqual({ items: [], head: { items: [], metadata: {} } });
    expect(split('{"metadata":{}}', [])).toEqual({ items: [], head: { metadata: {} } });
  });

  it("empties each item's metadata.managedFields on request, and nothing else, however the body is cut", () => {
    const managed = [
      {
        manager: 'kubelet',
        fieldsV1: { 'f:status': { 'k:{"type":"Ready"}': { '.': {}, 'f:status': {} } } },
        note: 'a "quoted" ] [ } { \\ back',
      },
      { manager: 'sockeye', fieldsV1: { 'f:metadata': { 'f:annotations': {} } } },
    ];
    const list = {
      kind: 'PodList',
      metadata: { resourceVersion: '7', managedFields: ["the list's own: kept"] },
      items: [
        {
          metadata: { name: 'a', managedFields: managed, labels: { managedFields: 'a value' } },
          spec: { managedFields: [1, 2], containers: [{ name: 'managedFields' }] },
        },
        { metadata: { managedFields: null, ownerReferences: [{ name: 'rs' }] } },
        { metadata: { name: 'b', managedFields: [] }, status: { podIP: '198.18.0.1' } },
        { metadata: { managedFields: managed, name: 'c' } },
      ],
    };
    const emptied = list.items.map((item) =>
      Array.isArray(item.metadata.managedFields)
        ? { ...item, metadata: { ...item.metadata, managedFields: [] } }
        : item,
    );
    const { items: _, ...head } = list;
    for (const body of [JSON.stringify(list), JSON.stringify(list, null, 1)]) {
      expect(split(body, [], true)).toEqual({ items: emptied, head: { ...head, items: [] } });
      // Without the option every item is whole.
      expect(split(body, []).items).toEqual(list.items);
      // A key split between two pushes is kept whole; every other cut empties as above.
      for (let cut = 0; cut <= body.length; cut++) {
        const { items } = split(body, [cut], true);
        items.forEach((item, k) => {
          expect([emptied[k], list.items[k]]).toContainEqual(item);
        });
        const splitKey = ['"metadata":', '"managedFields":'].some((key) => {
          for (let at = body.indexOf(key); at >= 0; at = body.indexOf(key, at + 1))
            if (cut > at && cut < at + key.length) return true;
          return false;
        });
        if (!splitKey) expect(items).toEqual(emptied);
      }
    }
  });

  it('fails on a body cut short', () => {
    const splitter = new ListSplitter(() => undefined);
    splitter.push('{"items":[{"a":');
    expect(() => splitter.end()).toThrow(SyntaxError);
  });
});

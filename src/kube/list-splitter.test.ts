import { describe, expect, it } from 'vitest';
import { ListSplitter } from './list-splitter.ts';

/** Splits `body` at the given offsets and returns what the splitter made of it. */
function split(body: string, cuts: readonly number[]): { items: unknown[]; head: unknown } {
  const items: unknown[] = [];
  const splitter = new ListSplitter((text) => items.push(JSON.parse(text)));
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

  it('fails on a body cut short', () => {
    const splitter = new ListSplitter(() => undefined);
    splitter.push('{"items":[{"a":');
    expect(() => splitter.end()).toThrow(SyntaxError);
  });
});

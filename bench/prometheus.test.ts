import { describe, expect, it } from 'vitest';
import { difference, increase, labelValue, requestCounts, samples, sumValues, total } from './prometheus.ts';

const text = [
  '# HELP sockeye_api_writes_total Writes to the API server.',
  '# TYPE sockeye_api_writes_total counter',
  'sockeye_api_writes_total{kind="Service"} 3',
  'sockeye_api_writes_total{kind="Pod"} 4',
  'sockeye_api_writes_total_created 1700000000',
  'process_resident_memory_bytes 123456789',
  'apiserver_request_total{code="200",component="apiserver",resource="pods",scope="cluster",subresource="",verb="LIST"} 5',
  'apiserver_request_total{code="200",component="apiserver",resource="pods",scope="namespace",subresource="",verb="LIST"} 2',
  'apiserver_request_total{code="200",component="apiserver",resource="leases",subresource="",verb="PUT"} 7',
  'apiserver_request_total{code="201",component="apiserver",resource="pods",subresource="status",verb="PATCH"} 1',
  '',
].join('\n');

describe('samples and total', () => {
  it('reads labelled samples, and not metrics that only start with the name', () => {
    expect(samples(text, 'sockeye_api_writes_total')).toEqual([
      { labels: 'kind="Service"', value: 3 },
      { labels: 'kind="Pod"', value: 4 },
    ]);
    expect(total(text, 'sockeye_api_writes_total')).toBe(7);
  });

  it('reads a sample without labels', () => {
    expect(samples(text, 'process_resident_memory_bytes')).toEqual([{ labels: '', value: 123456789 }]);
  });

  it('totals a missing metric as 0', () => {
    expect(samples(text, 'nope')).toEqual([]);
    expect(total(text, 'nope')).toBe(0);
  });

  it('finds a label at the start, in the middle, and not as the tail of another', () => {
    expect(labelValue('verb="GET",resource="pods"', 'verb')).toBe('GET');
    expect(labelValue('verb="GET",resource="pods"', 'resource')).toBe('pods');
    expect(labelValue('subresource="status"', 'resource')).toBe('');
  });
});

describe('requestCounts', () => {
  it('sums apiserver_request_total by verb and resource, with the subresource when there is one', () => {
    expect(requestCounts(text)).toEqual(
      new Map([
        ['LIST pods', 7],
        ['PUT leases', 7],
        ['PATCH pods/status', 1],
      ]),
    );
  });
});

describe('increase, difference, sumValues', () => {
  const before = new Map([
    ['GET pods', 10],
    ['PUT leases', 4],
  ]);
  const after = new Map([
    ['GET pods', 10],
    ['PUT leases', 9],
    ['LIST services', 2],
  ]);

  it('keeps only the counters that grew, by how much', () => {
    expect(increase(after, before)).toEqual(
      new Map([
        ['PUT leases', 5],
        ['LIST services', 2],
      ]),
    );
  });

  it('subtracts over the keys of both, keeping negatives and dropping zeros', () => {
    expect(
      difference(
        new Map([
          ['a', 3],
          ['b', 1],
        ]),
        new Map([
          ['b', 1],
          ['c', 2],
        ]),
      ),
    ).toEqual(
      new Map([
        ['a', 3],
        ['c', -2],
      ]),
    );
  });

  it('sums values, 0 for none', () => {
    expect(sumValues(after)).toBe(21);
    expect(sumValues(new Map())).toBe(0);
  });
});

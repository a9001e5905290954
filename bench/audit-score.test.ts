import { describe, expect, it } from 'vitest';
import {
  classify,
  isEndpointsArtifact,
  label,
  parseK8sgpt,
  parsePopeye,
  parseSockeye,
  parseTimeV,
  type Reported,
  score,
  type Truth,
} from './audit-score.ts';

const truth: Truth = { broken: ['b-0', 'b-1'], healthy: ['h-0'] };
const r = (namespace: string | undefined, name: string, what = 'x', kind = 'Service'): Reported => ({
  kind,
  namespace,
  name,
  what,
});

describe('classify', () => {
  it('finds a problem through the object, its related objects and its Deployment family', () => {
    expect(classify(truth, 'b-0', 'api')).toEqual({ problem: 'b-0/api' });
    expect(classify(truth, 'b-0', 'api-2')).toEqual({ problem: 'b-0/api' });
    expect(classify(truth, 'b-1', 'vault-deny-all')).toEqual({ problem: 'b-1/vault' });
    expect(classify(truth, 'b-0', 'payments-7d9f8c6b5')).toEqual({ problem: 'b-0/payments' });
    expect(classify(truth, 'b-0', 'payments-7d9f8c6b5-x2x4q')).toEqual({ problem: 'b-0/payments' });
  });

  it('calls healthy objects false alarms, wherever they are', () => {
    expect(classify(truth, 'b-0', 'shop-1')).toBe('false-alarm');
    expect(classify(truth, 'b-0', 'web')).toBe('false-alarm');
    expect(classify(truth, 'b-0', 'frontend-5c7b9-abcde')).toBe('false-alarm');
    expect(classify(truth, 'h-0', 'svc-0001')).toBe('false-alarm');
    // `shop` is a problem of the scenario, not a Deployment family: shop-1 stays healthy.
    expect(classify(truth, 'b-0', 'shop-1-extra')).toBe('false-alarm');
  });

  it('leaves sockeye-only annotations and foreign namespaces out', () => {
    expect(classify(truth, 'b-0', 'web-canary')).toBe('unscored');
    expect(classify(truth, 'b-0', 'legacy')).toBe('unscored');
    expect(classify(truth, 'kube-system', 'coredns')).toBe('outside');
    expect(classify(truth, undefined, 'sim-node-0')).toBe('outside');
  });
});

describe('score', () => {
  it('counts seeded problems found once, distinct false alarms, and what is left out', () => {
    const s = score(truth, [
      r('b-0', 'api'),
      r('b-0', 'api-1', 'ReadyButRefusing', 'Pod'),
      r('b-0', 'api-1', 'ReadyButRefusing', 'Pod'),
      r('b-1', 'ghost'),
      r('h-0', 'svc-1', '[POP-106] No resources requests/limits defined', 'pods'),
      r('h-0', 'svc-2', '[POP-106] No resources requests/limits defined', 'pods'),
      r('h-0', 'svc-2', '[POP-106] No resources requests/limits defined', 'pods'),
      r('b-0', 'web', 'Service has no endpoints'),
      r('b-0', 'legacy'),
      r(undefined, 'default'),
    ]);
    expect(s.seeded).toBe(26);
    expect(s.found).toBe(2);
    expect(s.missed).toContain('b-1/api');
    expect(s.missed).not.toContain('b-0/api');
    expect(s.falseAlarms).toBe(3);
    expect(s.falseAlarmsBy).toEqual([
      ['POP-106', 2],
      ['Service has no endpoints', 1],
    ]);
    expect(s.unscored).toBe(1);
    expect(s.outside).toBe(1);
  });

  it('does not credit a statement the tool also makes about healthy objects', () => {
    const s = score(truth, [
      r('b-0', 'worker', '[POP-102] No probes defined', 'pods'),
      r('b-0', 'web-1', '[POP-102] No probes defined', 'pods'),
      r('b-0', 'ghost', '[POP-1100] No pods match service selector', 'services'),
    ]);
    expect(s.foundAny).toBe(2);
    expect(s.found).toBe(1);
    expect(s.missed).toContain('b-0/worker');
  });

  it('neither credits nor blames a report that a Service has no v1 Endpoints object at all', () => {
    const missing = '[POP-1105] No associated endpoints found';
    const s = score(truth, [
      // On every Service alike, healthy or broken, when the cluster runs no endpoints controller.
      r('h-0', 'svc-1', missing, 'services'),
      r('b-0', 'web', missing, 'services'),
      r('b-0', 'ghost', missing, 'services'),
      r('b-1', 'api', missing, 'services'),
      r('b-1', 'api', missing, 'services'),
    ]);
    expect(s).toMatchObject({
      found: 0,
      foundAny: 0,
      falseAlarms: 0,
      falseAlarmsBy: [],
      endpointsArtifacts: 4,
    });
  });

  it("neither credits nor blames the endpoints controller's create conflicts while the bench seeds", () => {
    // k8sgpt v0.4.0 lists a Service's events by name in every namespace: one event, every `shop`.
    const event = (ns: string) =>
      `Service b-0/shop has event Failed to create endpoint for service ${ns}/shop: endpoints "shop" already exists`;
    const s = score(truth, [
      r('b-0', 'shop', event('b-1')),
      r('b-1', 'shop', event('b-1')),
      r('h-0', 'svc-1', event('h-0')),
    ]);
    expect(s).toMatchObject({ found: 0, foundAny: 0, falseAlarms: 0, endpointsArtifacts: 3 });
  });

  it('still scores what a peer reads from v1 Endpoints that exist', () => {
    const s = score(truth, [
      r('b-0', 'ghost', '[POP-1110] Match EP has no subsets', 'services'),
      r('b-0', 'warming', 'Service has not ready endpoints, pods: [Pod/warming-1], expected 1'),
      r('h-0', 'svc-1', '[POP-1109] Single endpoint is associated with this service', 'services'),
      r('h-0', 'svc-2', '[POP-1105] No associated endpoints found', 'services'),
    ]);
    expect(s).toMatchObject({ found: 2, foundAny: 2, falseAlarms: 1, endpointsArtifacts: 1 });
    expect(s.falseAlarmsBy).toEqual([['POP-1109', 1]]);
    expect(isEndpointsArtifact('[POP-1110] Match EP has no subsets')).toBe(false);
    expect(
      isEndpointsArtifact(
        'Service b-0/svc-1 has event Cluster IP [IPv4]: 198.19.129.253 is not allocated; repairing',
      ),
    ).toBe(false);
    expect(isEndpointsArtifact('Service has no endpoints, expected label app=ghost')).toBe(false);
  });

  it('is perfect when every problem and nothing else is reported', () => {
    const all = truth.broken.flatMap((ns) =>
      ['ghost', 'warming', 'api', 'shop', 'metrics', 'worker', 'vault', 'batch'].map((n) => r(ns, n)),
    );
    const shop = truth.broken.flatMap((ns) =>
      ['payments', 'orders', 'cache', 'inventory', 'db'].map((n) => r(ns, n)),
    );
    const s = score(truth, [...all, ...shop]);
    expect(s).toMatchObject({ seeded: 26, found: 26, missed: [], falseAlarms: 0, endpointsArtifacts: 0 });
  });
});

describe('parsers', () => {
  it('reads sockeye findings of severity Warning', () => {
    const json = JSON.stringify({
      findings: [
        {
          reason: 'NoEndpoints',
          severity: 'Warning',
          object: { kind: 'Service', namespace: 'a', name: 'b' },
        },
        {
          reason: 'TargetsRecovered',
          severity: 'Normal',
          object: { kind: 'Service', namespace: 'a', name: 'c' },
        },
      ],
    });
    expect(parseSockeye(json)).toEqual([{ kind: 'Service', namespace: 'a', name: 'b', what: 'NoEndpoints' }]);
    expect(() => parseSockeye('{}')).toThrow(/sockeye/);
  });

  it('reads popeye issues at warning level and above, cluster-scoped names without a namespace', () => {
    const json = JSON.stringify({
      popeye: {
        score: 80,
        sections: [
          {
            linter: 'services',
            gvr: 'v1/services',
            issues: {
              'a/ghost': [{ group: '__root__', level: 3, message: '[POP-1105] No associated endpoints' }],
              'a/web': [{ group: '__root__', level: 1, message: '[POP-1102] Use of target port' }],
            },
          },
          {
            linter: 'namespaces',
            issues: { a: [{ level: 2, message: '[POP-400] Used? Unable to locate resource reference' }] },
          },
        ],
      },
    });
    expect(parsePopeye(json)).toEqual([
      { kind: 'services', namespace: 'a', name: 'ghost', what: '[POP-1105] No associated endpoints' },
      {
        kind: 'namespaces',
        namespace: undefined,
        name: 'a',
        what: '[POP-400] Used? Unable to locate resource reference',
      },
    ]);
    expect(parsePopeye(json, 1)).toHaveLength(3);
  });

  it('reads k8sgpt results', () => {
    const json = JSON.stringify({
      provider: '',
      errors: null,
      status: 'ProblemDetected',
      problems: 1,
      results: [
        {
          kind: 'Service',
          name: 'a/ghost',
          error: [{ Text: 'Service has no endpoints, expected label app=ghost' }],
        },
      ],
    });
    expect(parseK8sgpt(json)).toEqual([
      {
        kind: 'Service',
        namespace: 'a',
        name: 'ghost',
        what: 'Service has no endpoints, expected label app=ghost',
      },
    ]);
    expect(parseK8sgpt('{"status":"OK","problems":0,"results":null}')).toEqual([]);
  });

  it('reads the peak RSS of /usr/bin/time -v, and labels findings', () => {
    expect(parseTimeV('\tMaximum resident set size (kbytes): 51200\n')).toBe(52_428_800);
    expect(parseTimeV('nothing')).toBeUndefined();
    expect(label('[POP-106] No resources requests/limits defined')).toBe('POP-106');
    expect(label('Service has   no endpoints, expected label app=ghost here')).toBe(
      'Service has no endpoints, expected label',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { REASON_NAMES, REASONS } from '../rules/catalog.ts';
import { finding } from '../rules/finding.ts';
import type { Finding } from '../rules/types.ts';
import { MAX_RESULTS, policyReport, RESULT_CLASSES, reportContent } from './policy-report.ts';

const svc = (name: string, ns = 'shop') => ({
  kind: 'Service' as const,
  namespace: ns,
  name,
  uid: `uid-${name}`,
});
const pod = (name: string, ns = 'shop') => ({
  kind: 'Pod' as const,
  namespace: ns,
  name,
  uid: `uid-${name}`,
});
const http = { name: 'http', number: 8080, protocol: 'TCP' as const };

const noHealthy = finding('NoHealthyTargets', svc('web'), 'http: every ready backend refuses', http, {
  pods: [
    { namespace: 'shop', name: 'web-2' },
    { namespace: 'shop', name: 'web-1' },
  ],
  outcomes: [
    { ip: '198.18.0.12', port: 8080, outcome: 'refused', pod: 'web-2' },
    { ip: '198.18.0.11', port: 8080, outcome: 'refused', pod: 'web-1' },
  ],
});
const nodePort = finding('NodePortFailing', svc('front'), 'http: NodePort 30080 fails on node-b', http, {
  outcomes: [
    { ip: '198.18.1.2', port: 30080, outcome: 'refused', hop: 'node-port', node: 'node-b' },
    { ip: '198.18.1.1', port: 30080, outcome: 'open', hop: 'node-port', node: 'node-a' },
  ],
});
const timeout = finding('ConnectTimeout', pod('db-0'), 'port 5432 times out', undefined, {
  policies: ['shop/deny-all'],
});
const recovered = finding('TargetsRecovered', svc('cart'), 'http: every backend answers again', http);
const badAnnotation = finding(
  'InvalidConfiguration',
  { kind: 'Namespace', namespace: '', name: 'shop', uid: '' },
  'sockeye.dev/timeout: want a duration',
);

describe('policyReport', () => {
  it('is one Report named sockeye with a result per Warning, sorted, summed, labelled and sourced', () => {
    const report = policyReport('shop', [timeout, noHealthy, nodePort, recovered, badAnnotation]);
    expect(report?.apiVersion).toBe('openreports.io/v1alpha1');
    expect(report?.kind).toBe('Report');
    expect(report?.metadata).toEqual({
      name: 'sockeye',
      namespace: 'shop',
      labels: { 'app.kubernetes.io/managed-by': 'sockeye' },
    });
    expect(report?.source).toBe('sockeye');
    // TargetsRecovered is no result: a recovery removes the result instead.
    expect(report?.results.map((r) => `${r.resources[0]?.kind}/${r.resources[0]?.name} ${r.policy}`)).toEqual(
      [
        'Namespace/shop InvalidConfiguration',
        'Pod/db-0 ConnectTimeout',
        'Service/front NodePortFailing',
        'Service/web NoHealthyTargets',
      ],
    );
    expect(report?.summary).toEqual({ pass: 0, fail: 2, warn: 2, error: 0, skip: 0 });
    expect(report?.configuration).toBeUndefined();
  });

  it('says in each result what, where and why: class, message, the object, port, hint and evidence', () => {
    const [result] = policyReport('shop', [noHealthy])?.results ?? [];
    expect(result).toEqual({
      policy: 'NoHealthyTargets',
      category: 'Service backends',
      result: 'fail',
      severity: 'high',
      scored: true,
      message: 'http: every ready backend refuses',
      resources: [{ apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'shop', uid: 'uid-web' }],
      properties: {
        hint: noHealthy.hint,
        port: '8080',
        portName: 'http',
        protocol: 'TCP',
        failing: 'web-1: refused, web-2: refused',
        pods: 'web-1, web-2',
      },
    });
    const hop = policyReport('shop', [nodePort])?.results[0];
    expect(hop?.result).toBe('warn');
    expect(hop?.properties.hops).toBe('node-port 198.18.1.2:30080 on node-b: refused');
    const dropped = policyReport('shop', [timeout])?.results[0];
    expect(dropped?.properties).toEqual({ hint: timeout.hint, networkPolicies: 'shop/deny-all' });
    const ns = policyReport('shop', [badAnnotation])?.results[0];
    expect(ns?.resources).toEqual([{ apiVersion: 'v1', kind: 'Namespace', name: 'shop' }]);
  });

  it('is none for a namespace without Warnings, and holds only its own namespace', () => {
    expect(policyReport('shop', [])).toBeUndefined();
    expect(policyReport('shop', [recovered])).toBeUndefined();
    expect(policyReport('other', [noHealthy, timeout])).toBeUndefined();
    const other = finding('NoEndpoints', svc('api', 'other'), 'no endpoints');
    expect(policyReport('other', [noHealthy, other])?.results.map((r) => r.policy)).toEqual(['NoEndpoints']);
  });

  it('holds a finding two Services share once', () => {
    const twice = [timeout, { ...timeout }];
    expect(policyReport('shop', twice)?.results).toHaveLength(1);
  });

  it('holds at most MAX_RESULTS results, says so, and counts them all', () => {
    const many: Finding[] = Array.from({ length: MAX_RESULTS + 5 }, (_, i) =>
      finding('PortNotListening', pod(`p-${String(i).padStart(5, '0')}`), 'port 80 refuses'),
    );
    const report = policyReport('shop', many);
    expect(report?.results).toHaveLength(MAX_RESULTS);
    expect(report?.summary.fail).toBe(MAX_RESULTS + 5);
    expect(report?.configuration).toEqual({ limits: { maxResults: MAX_RESULTS } });
  });

  it('classes every Warning reason, and no Normal one', () => {
    const warnings = REASON_NAMES.filter((r) => REASONS[r].severity === 'Warning');
    expect(Object.keys(RESULT_CLASSES).sort()).toEqual([...warnings].sort());
  });
});

describe('reportContent', () => {
  it('is the same for the same findings in any order, and differs when a result does', () => {
    const a = policyReport('shop', [noHealthy, timeout, nodePort]);
    const b = policyReport('shop', [nodePort, timeout, noHealthy]);
    if (!a || !b) throw new Error('no report');
    expect(reportContent(a)).toBe(reportContent(b));
    const fewer = policyReport('shop', [noHealthy, timeout]);
    if (!fewer) throw new Error('no report');
    expect(reportContent(fewer)).not.toBe(reportContent(a));
    const reworded = policyReport('shop', [{ ...noHealthy, message: 'other words' }, timeout, nodePort]);
    if (!reworded) throw new Error('no report');
    expect(reportContent(reworded)).not.toBe(reportContent(a));
  });

  it('reads a Report as the API serves it: server metadata and key order do not count', () => {
    const mine = policyReport('shop', [noHealthy]);
    if (!mine) throw new Error('no report');
    const served = JSON.parse(
      JSON.stringify({
        ...mine,
        metadata: {
          ...mine.metadata,
          uid: 'u',
          resourceVersion: '42',
          creationTimestamp: '2026-01-01T00:00:00Z',
          managedFields: [{ manager: 'sockeye' }],
          labels: { team: 'x', ...mine.metadata.labels },
        },
        summary: { skip: 0, error: 0, warn: 0, fail: 1, pass: 0 },
      }),
    );
    expect(reportContent(served)).toBe(reportContent(mine));
    served.results[0].message = 'edited by hand';
    expect(reportContent(served)).not.toBe(reportContent(mine));
  });
});

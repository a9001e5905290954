import { describe, expect, it } from 'vitest';
import type { Reason } from '../rules/catalog.ts';
import type { HopCoverage } from './hop-reach.ts';
import { hopsLine } from './render.ts';
import { exitCodeFor, hopMessage, hopNotices, type ReportFinding, sortFindings } from './report.ts';
import { routability } from './run.ts';

function f(
  reason: Reason,
  namespace: string,
  name: string,
  kind: 'Service' | 'Pod' = 'Service',
): ReportFinding {
  return {
    reason,
    severity: reason === 'TargetsRecovered' ? 'Normal' : 'Warning',
    object: { kind, namespace, name },
    message: '',
    hint: '',
    evidence: { pods: [], outcomes: [], policies: [] },
  };
}

const routable = { routable: true } as const;

describe('sortFindings', () => {
  it('groups by namespace, the namespace with the worst finding first, worst finding first within', () => {
    const sorted = sortFindings([
      f('PortNotListening', 'a', 'web-1', 'Pod'),
      f('InvalidConfiguration', 'b', 'x'),
      f('NoEndpoints', 'b', 'ghost'),
      f('NoHealthyTargets', 'a', 'api'),
      f('TargetsRefusing', 'a', 'shop'),
    ]);
    expect(sorted.map((x) => `${x.object.namespace}/${x.object.name}`)).toEqual([
      'b/ghost',
      'b/x',
      'a/api',
      'a/shop',
      'a/web-1',
    ]);
  });

  it('groups a Namespace finding under that namespace', () => {
    const ns: ReportFinding = {
      ...f('InvalidConfiguration', '', 'team'),
      object: { kind: 'Namespace', namespace: '', name: 'team' },
    };
    const sorted = sortFindings([
      f('NoEndpoints', 'team', 'web'),
      ns,
      f('ConnectTimeout', 'other', 'p', 'Pod'),
    ]);
    expect(sorted.map((x) => x.object.name)).toEqual(['web', 'team', 'p']);
  });
});

describe('exitCodeFor', () => {
  it('is 1 for findings at or above --fail-on, 0 below, 2 when pods were not reachable', () => {
    const warning = [f('NoEndpoints', 'a', 'x')];
    const normal = [f('TargetsRecovered', 'a', 'x')];
    expect(exitCodeFor(warning, 'warning', routable)).toBe(1);
    expect(exitCodeFor(normal, 'warning', routable)).toBe(0);
    expect(exitCodeFor(normal, 'normal', routable)).toBe(1);
    expect(exitCodeFor(warning, 'never', routable)).toBe(0);
    expect(exitCodeFor([], 'warning', routable)).toBe(0);
    expect(exitCodeFor([], 'never', { routable: false, probes: 3, pods: 3, outcomes: { timeout: 3 } })).toBe(
      2,
    );
  });
});

describe('routability', () => {
  const r = (outcome: 'open' | 'timeout' | 'unreachable' | 'refused', pod: string, errno?: string) => ({
    outcome,
    pod,
    errno,
  });

  it('is lost when every first probe, across several pods, times out or is unreachable', () => {
    expect(routability([r('timeout', 'a'), r('unreachable', 'b'), r('timeout', 'c')])).toEqual({
      routable: false,
      probes: 3,
      pods: 3,
      outcomes: { timeout: 2, unreachable: 1 },
    });
  });

  it('holds when any probe got an answer, or when too few pods fail to tell an outage from routing', () => {
    expect(routability([r('timeout', 'a'), r('refused', 'b'), r('timeout', 'c')]).routable).toBe(true);
    expect(routability([r('timeout', 'a'), r('timeout', 'a'), r('timeout', 'b')]).routable).toBe(true);
    expect(routability([]).routable).toBe(true);
  });

  it('is lost on a single target when the kernel has no route at all', () => {
    expect(routability([r('unreachable', 'a', 'ENETUNREACH')]).routable).toBe(false);
  });
});

describe('the data path hops in the report', () => {
  const hops: HopCoverage[] = [
    { hop: 'cluster-ip', planned: 3, checked: 0, notChecked: 3, why: 'no-answer-from-here' },
    { hop: 'node-port', planned: 4, checked: 2, notChecked: 2, why: 'no-answer-from-here', nodes: ['n1'] },
    { hop: 'health-check', planned: 0, checked: 0, notChecked: 0, why: 'off' },
    { hop: 'load-balancer', planned: 1, checked: 1, notChecked: 0 },
  ];
  const report = { hops: hops.map((h) => ({ ...h, message: hopMessage(h) })) };

  it('says per kind why hops were not checked, and nothing for a kind checked whole', () => {
    expect(report.hops.map((h) => h.message)).toEqual([
      "3 ClusterIP addresses not checked from here: no ClusterIP answered this machine (they time out or are unreachable), as where the Service network is not routed outside the cluster; run the audit inside the cluster (the chart's audit Job) to check them",
      "2 NodePort addresses not checked from here: node n1 answered nothing from here (a firewall or a private network in between); run the audit inside the cluster (the chart's audit Job) to check them",
      'health check hops are not checked: turned off (--no-check-node-ports)',
      undefined,
    ]);
    expect(
      hopMessage({ hop: 'load-balancer', planned: 1, checked: 0, notChecked: 1, why: 'pods-unroutable' }),
    ).toBe(
      '1 load balancer address not checked: pod IPs are not routable from here, and a hop is judged only against pods that answer',
    );
  });

  it('lists only the hops not checked from here among the notices, and counts every kind on one line', () => {
    expect(hopNotices(report)).toHaveLength(2);
    expect(hopsLine(report)).toBe(
      'ClusterIP 0/3 checked, NodePort 2/4 checked, load balancer 1/1 checked; off: health check',
    );
    const blind = {
      hops: [
        { hop: 'node-port', planned: 0, checked: 0, notChecked: 0, why: 'nodes-unreadable' },
        { hop: 'cluster-ip', planned: 0, checked: 0, notChecked: 0, why: 'off' },
      ] as const,
    };
    expect(hopsLine(blind)).toBe('none planned; Nodes unreadable: NodePort; off: ClusterIP');
    expect(hopNotices(blind)).toEqual([]);
  });
});

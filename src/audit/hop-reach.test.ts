import { describe, expect, it } from 'vitest';
import type { Outcome } from '../probe/outcome.ts';
import type { PlannedTarget } from '../rules/targets.ts';
import type { HopKind, ProbeObservation } from '../rules/types.ts';
import { type HopSetup, hopReach } from './hop-reach.ts';

const hop = (kind: HopKind, ip: string, port: number, node?: string): PlannedTarget => ({
  ip,
  port,
  family: ip.includes(':') ? 'IPv6' : 'IPv4',
  namespace: 'shop',
  timeoutMs: 1000,
  hop: { kind, node },
});

// Two Services' ClusterIPs, a NodePort on two nodes, one health check, one load balancer.
const CIP1 = hop('cluster-ip', '198.19.128.1', 80);
const CIP2 = hop('cluster-ip', '198.19.128.2', 80);
const NP0 = hop('node-port', '198.18.0.1', 30080, 'n0');
const NP1 = hop('node-port', '198.18.0.2', 30080, 'n1');
const HC1 = hop('health-check', '198.18.0.2', 31000, 'n1');
const LB = hop('load-balancer', '198.19.176.1', 80);
const HOPS = [CIP1, CIP2, NP0, NP1, HC1, LB];

/** What the probes of these hops ended with, in the order they are given. */
const seen = (...r: [PlannedTarget, Outcome][]): ProbeObservation[] =>
  r.map(([{ ip, port }, outcome]) => ({ target: { ip, port }, outcome }));

const ON: HopSetup['enabled'] = {
  'cluster-ip': true,
  'node-port': true,
  'health-check': true,
  'load-balancer': true,
};
const OUTSIDE: HopSetup = { enabled: ON, inCluster: false, routable: true, nodesReadable: true };

const judgedKeys = (r: ReturnType<typeof hopReach>) => r.judged.map((o) => `${o.target.ip}:${o.target.port}`);

describe('hopReach: which hops the audit judges from where it runs', () => {
  it('outside the cluster, a ClusterIP that times out while none answers is not checked from here, not a finding', () => {
    const probes = seen(
      [CIP1, 'timeout'],
      [CIP2, 'timeout'],
      [NP0, 'open'],
      [NP1, 'open'],
      [HC1, 'open'],
      [LB, 'open'],
    );
    const r = hopReach(HOPS, probes, OUTSIDE);
    expect(judgedKeys(r)).toEqual([
      '198.18.0.1:30080',
      '198.18.0.2:30080',
      '198.18.0.2:31000',
      '198.19.176.1:80',
    ]);
    expect(r.coverage[0]).toEqual({
      hop: 'cluster-ip',
      planned: 2,
      checked: 0,
      notChecked: 2,
      why: 'no-answer-from-here',
    });
  });

  it('outside, a ClusterIP that times out while another answers is judged (this machine reaches the Service network)', () => {
    const r = hopReach(HOPS, seen([CIP1, 'timeout'], [CIP2, 'open']), OUTSIDE);
    expect(judgedKeys(r)).toEqual(['198.19.128.1:80', '198.19.128.2:80']);
    expect(r.coverage[0]).toMatchObject({ planned: 2, checked: 2, notChecked: 0 });
  });

  it('outside, a refused NodePort is an answer from the node; a node that answered nothing is not checked', () => {
    const refused = hopReach(HOPS, seen([NP0, 'open'], [NP1, 'refused']), OUTSIDE);
    expect(judgedKeys(refused)).toEqual(['198.18.0.1:30080', '198.18.0.2:30080']);
    const silent = hopReach(HOPS, seen([NP0, 'open'], [NP1, 'timeout'], [HC1, 'unreachable']), OUTSIDE);
    expect(judgedKeys(silent)).toEqual(['198.18.0.1:30080']);
    expect(silent.coverage.slice(1, 3)).toEqual([
      { hop: 'node-port', planned: 2, checked: 1, notChecked: 1, why: 'no-answer-from-here', nodes: ['n1'] },
      {
        hop: 'health-check',
        planned: 1,
        checked: 0,
        notChecked: 1,
        why: 'no-answer-from-here',
        nodes: ['n1'],
      },
    ]);
    // The node's health check answering shows this machine reaches it: its NodePort timing out counts.
    const dropped = hopReach(HOPS, seen([NP1, 'timeout'], [HC1, 'open']), OUTSIDE);
    expect(judgedKeys(dropped)).toEqual(['198.18.0.2:30080', '198.18.0.2:31000']);
  });

  it('outside, a load balancer counts when one of its connects answered (a partly failing one)', () => {
    const r = hopReach(HOPS, seen([LB, 'timeout'], [LB, 'open'], [LB, 'timeout']), OUTSIDE);
    expect(judgedKeys(r)).toHaveLength(3);
    const none = hopReach(HOPS, seen([LB, 'timeout']), OUTSIDE);
    expect(judgedKeys(none)).toEqual([]);
    expect(none.coverage[3]).toMatchObject({
      hop: 'load-balancer',
      notChecked: 1,
      why: 'no-answer-from-here',
    });
  });

  it('keeps address families apart: IPv6 ClusterIPs without a route are not checked though IPv4 ones answer', () => {
    const v6 = hop('cluster-ip', '2001:2::1', 80);
    const r = hopReach([CIP1, v6], seen([CIP1, 'open'], [v6, 'unreachable']), OUTSIDE);
    expect(judgedKeys(r)).toEqual(['198.19.128.1:80']);
  });

  it('in the cluster, every hop is judged, as the operator does', () => {
    const r = hopReach(HOPS, seen([CIP1, 'timeout'], [CIP2, 'timeout'], [NP1, 'timeout']), {
      ...OUTSIDE,
      inCluster: true,
    });
    expect(judgedKeys(r)).toEqual(['198.19.128.1:80', '198.19.128.2:80', '198.18.0.2:30080']);
    expect(r.coverage.every((c) => c.notChecked === 0 && c.why === undefined)).toBe(true);
  });

  it('says which kinds are off, have no Nodes to go to, or wait on pods that are not routable', () => {
    const off = hopReach(HOPS.slice(2), [], {
      ...OUTSIDE,
      enabled: { ...ON, 'cluster-ip': false },
      nodesReadable: false,
    });
    expect(off.coverage.map((c) => `${c.hop} ${c.why ?? '-'}`)).toEqual([
      'cluster-ip off',
      'node-port nodes-unreadable',
      'health-check nodes-unreadable',
      'load-balancer no-answer-from-here',
    ]);
    const unroutable = hopReach(HOPS, seen([CIP1, 'open']), { ...OUTSIDE, routable: false });
    expect(unroutable.judged).toEqual([]);
    expect(unroutable.coverage[0]).toEqual({
      hop: 'cluster-ip',
      planned: 2,
      checked: 0,
      notChecked: 2,
      why: 'pods-unroutable',
    });
  });
});

import { describe, expect, it } from 'vitest';
import type { Outcome } from '../probe/outcome.ts';
import { evaluate } from './evaluate.ts';
import { node, pod, probes, svc, world } from './fixtures.ts';
import { settling } from './hop-findings.ts';
import { describeService } from './status.ts';
import type { EvaluateInput, RuleOptions } from './types.ts';

const ALL: Partial<RuleOptions> = { checkClusterIP: true, checkNodePorts: true, checkLoadBalancers: true };
const nodes = [node('n0', '198.18.0.1'), node('n1', '198.18.0.2'), node('n2', '198.18.0.3')];
const NODE_IPS: Readonly<Record<string, string>> = { n0: '198.18.0.1', n1: '198.18.0.2', n2: '198.18.0.3' };
const CLUSTER_IP = '198.19.128.12';
const LB_IP = '198.19.176.1';
const pods = [
  pod('web-1', { ip: '198.18.1.1', node: 'n0' }),
  pod('web-2', { ip: '198.18.1.2', node: 'n1' }),
  pod('web-3', { ip: '198.18.1.3', node: 'n2' }),
];
const podIPs = pods.map((p) => p.podIPs[0] ?? '');

const lb = (local = false) =>
  svc('web', {
    type: 'LoadBalancer',
    clusterIPs: [CLUSTER_IP],
    nodePorts: [30080],
    ingress: [LB_IP],
    ...(local ? { externalTrafficPolicy: 'Local' as const, healthCheckNodePort: 31000 } : {}),
  });

interface Observed {
  readonly pods?: readonly Outcome[];
  readonly clusterIP?: Outcome;
  /** Node name → outcome of its NodePort. */
  readonly nodePorts?: Readonly<Record<string, Outcome>>;
  readonly healthChecks?: Readonly<Record<string, Outcome>>;
  /**
   * Node name → the HTTP status its health check answers; unlisted: kube-proxy's own (200 on a node
   * with a local endpoint, 503 without); null: a TCP connect only, no HTTP answer read.
   */
  readonly healthStatus?: Readonly<Record<string, number | null>>;
  readonly lb?: Outcome;
}

/** A LoadBalancer Service over web-1..3 (one pod per node), observed as `o` says; unlisted hops are open. */
function input(o: Observed, local = false, podsOf = pods): EvaluateInput {
  const results: [string, number, Outcome][] = podIPs
    .slice(0, podsOf.length)
    .map((ip, i) => [ip, 8080, o.pods?.[i] ?? 'open']);
  results.push([CLUSTER_IP, 80, o.clusterIP ?? 'open'], [LB_IP, 80, o.lb ?? 'open']);
  for (const [name, ip] of Object.entries(NODE_IPS)) {
    results.push([ip, 30080, o.nodePorts?.[name] ?? 'open']);
  }
  const hasEndpoint = new Set(podsOf.map((p) => p.nodeName));
  const checks = local
    ? Object.entries(NODE_IPS).map(([name, ip]) => {
        const status =
          o.healthStatus?.[name] === undefined ? (hasEndpoint.has(name) ? 200 : 503) : o.healthStatus[name];
        const outcome = o.healthChecks?.[name] ?? 'open';
        return {
          target: { ip, port: 31000 },
          outcome,
          ...(outcome === 'open' && status !== null ? { app: { kind: 'http', status } } : {}),
        };
      })
    : [];
  return world({
    services: [lb(local)],
    pods: podsOf,
    nodes,
    probes: [...probes(...results), ...checks],
    options: ALL,
    prober: { namespace: 'sockeye', labels: {}, nodeName: 'sim-a' },
  });
}

/** The Service's Warnings (the pods' own findings are the pod rules' tables). */
const warnings = (i: EvaluateInput) =>
  evaluate(i)
    .filter((f) => f.severity === 'Warning' && f.object.kind === 'Service')
    .map((f) => `${f.reason}: ${f.message}`);

interface Case {
  readonly name: string;
  readonly input: EvaluateInput;
  readonly expected: readonly string[];
}

const onlyWeb1 = [pods[0]!];

const cases: readonly Case[] = [
  {
    name: 'every hop answers: silent',
    input: input({}),
    expected: [],
  },
  {
    name: "the ClusterIP times out from sockeye's node while the pods answer",
    input: input({ clusterIP: 'timeout' }),
    expected: [
      "ServiceIPNotForwarding: port http (80/TCP): 3/3 pods open on 8080; ClusterIP 198.19.128.12:80 times out from node sim-a: the node's Service data path (kube-proxy or the CNI) does not forward",
    ],
  },
  {
    name: 'a failing backend explains a failing ClusterIP: only the backend is reported',
    input: input({ pods: ['open', 'refused', 'open'], clusterIP: 'refused' }),
    expected: ['TargetsRefusing: port http (80/TCP): 1 of 3 ready targets fails (1 refused: web-2)'],
  },
  {
    name: 'the NodePort fails on one node and answers on the others',
    input: input({ nodePorts: { n1: 'timeout' } }),
    expected: [
      'NodePortFailing: port http (80/TCP): 3/3 pods open on 8080; NodePort 30080 times out on node n1, answers on n0, n2: kube-proxy (or the CNI) on that node does not forward it',
    ],
  },
  {
    name: 'the NodePort fails on two nodes in two ways',
    input: input({ nodePorts: { n1: 'timeout', n2: 'refused' } }),
    expected: [
      'NodePortFailing: port http (80/TCP): 3/3 pods open on 8080; NodePort 30080 refuses on node n2; times out on node n1, answers on n0: kube-proxy (or the CNI) on those nodes do not forward it',
    ],
  },
  {
    name: 'the NodePort fails on every node',
    input: input({ nodePorts: { n0: 'timeout', n1: 'timeout', n2: 'timeout' } }),
    expected: [
      'NodePortFailing: port http (80/TCP): 3/3 pods open on 8080; NodePort 30080 times out on nodes n0, n1, n2, on all 3 nodes that should forward it: kube-proxy (or the CNI) or a firewall in front of the node ports drops it',
    ],
  },
  {
    name: 'the NodePort fails on every node, and so does the load balancer in front of them',
    input: input({ nodePorts: { n0: 'timeout', n1: 'timeout', n2: 'timeout' }, lb: 'timeout' }),
    expected: [
      'NodePortFailing: port http (80/TCP): 3/3 pods open on 8080; NodePort 30080 times out on nodes n0, n1, n2, on all 3 nodes that should forward it: kube-proxy (or the CNI) or a firewall in front of the node ports drops it',
      'LoadBalancerFailing: port http (80/TCP): 3/3 pods open on 8080; load balancer 198.19.176.1:80 times out while the NodePort fails on every node: the load balancer has no healthy target (check its health checks, target nodes and listeners)',
    ],
  },
  {
    name: 'externalTrafficPolicy Local: nodes without a local endpoint drop the NodePort, the load balancer honours their health checks: silent',
    input: input({ nodePorts: { n1: 'timeout', n2: 'timeout' } }, true, onlyWeb1),
    expected: [],
  },
  {
    name: 'externalTrafficPolicy Local: the node with the endpoint fails its NodePort',
    input: input({ nodePorts: { n0: 'refused', n1: 'timeout', n2: 'timeout' } }, true, onlyWeb1),
    expected: [
      'NodePortFailing: port http (80/TCP): 1/1 pod open on 8080; NodePort 30080 refuses on node n0, on the only node that should forward it: kube-proxy (or the CNI) or a firewall in front of the node ports drops it',
    ],
  },
  {
    name: 'externalTrafficPolicy Local: the load balancer sends to nodes without an endpoint, whose health checks say so',
    input: input({ nodePorts: { n1: 'timeout', n2: 'timeout' }, lb: 'timeout' }, true, onlyWeb1),
    expected: [
      'LoadBalancerFailing: port http (80/TCP): 1/1 pod open on 8080; load balancer 198.19.176.1:80 times out: it sends to nodes n1, n2 without a local endpoint, which drop the NodePort as externalTrafficPolicy Local intends, and their health check (port 31000) says so (HTTP 503): the load balancer does not honour the health checks',
    ],
  },
  {
    name: "externalTrafficPolicy Local: a node's health check passes though the EndpointSlice puts no endpoint there",
    input: input(
      { nodePorts: { n1: 'timeout', n2: 'timeout' }, lb: 'timeout', healthStatus: { n2: 200 } },
      true,
      onlyWeb1,
    ),
    expected: [
      'LoadBalancerFailing: port http (80/TCP): 1/1 pod open on 8080; load balancer 198.19.176.1:80 times out: it sends to nodes n1, n2 without a local endpoint, which drop the NodePort as externalTrafficPolicy Local intends, though their health check (port 31000) passes on node n2 (HTTP 200: kube-proxy there still counts a local endpoint): the load balancer does not honour the health checks',
    ],
  },
  {
    name: 'externalTrafficPolicy Local: health checks that do not answer are named',
    input: input(
      { nodePorts: { n1: 'timeout', n2: 'timeout' }, lb: 'timeout', healthChecks: { n1: 'timeout' } },
      true,
      onlyWeb1,
    ),
    expected: [
      'LoadBalancerFailing: port http (80/TCP): 1/1 pod open on 8080; load balancer 198.19.176.1:80 times out: it sends to nodes n1, n2 without a local endpoint, which drop the NodePort as externalTrafficPolicy Local intends, and their health check (port 31000) does not answer: the load balancer does not honour the health checks',
    ],
  },
  {
    name: 'externalTrafficPolicy Local: a health check connected to but not read (TCP only) just answers',
    input: input(
      { nodePorts: { n1: 'timeout', n2: 'timeout' }, lb: 'timeout', healthStatus: { n1: null, n2: null } },
      true,
      onlyWeb1,
    ),
    expected: [
      'LoadBalancerFailing: port http (80/TCP): 1/1 pod open on 8080; load balancer 198.19.176.1:80 times out: it sends to nodes n1, n2 without a local endpoint, which drop the NodePort as externalTrafficPolicy Local intends, though their health check (port 31000) answers: the load balancer does not honour the health checks',
    ],
  },
  {
    name: 'the load balancer refuses while the NodePort answers on every node',
    input: input({ lb: 'refused' }),
    expected: [
      'LoadBalancerFailing: port http (80/TCP): 3/3 pods open on 8080; load balancer 198.19.176.1:80 refuses while the NodePort answers on nodes n0, n1, n2: the load balancer has no healthy target (check its health checks, target nodes and listeners)',
    ],
  },
  {
    name: "every backend refuses: NoHealthyTargets carries the load balancer's evidence",
    input: input({ pods: ['refused', 'refused', 'refused'], clusterIP: 'refused', lb: 'timeout' }),
    expected: [
      'NoHealthyTargets: port http (80/TCP): all 3 ready targets fail (3 refused: web-1, web-2, web-3); load balancer 198.19.176.1:80 times out too',
    ],
  },
];

describe('settling: when a Service data path has had time to follow a change', () => {
  const now = new Date('2026-01-01T00:01:00Z');
  const at = (secondsAgo: number) => new Date(now.getTime() - secondsAgo * 1000);
  const service = (created?: Date) => ({ ...lb(), createdAt: created });
  const cases: readonly [string, Parameters<typeof settling>[0], (Date | undefined)[], boolean][] = [
    [
      'an old Service, old backends, no endpoint change known',
      { service: service(at(600)) },
      [at(600)],
      false,
    ],
    ['a Service created 5 s ago', { service: service(at(5)) }, [at(600)], true],
    ['every backend started 5 s ago', { service: service(at(600)) }, [at(5), at(4)], true],
    ['one backend older than the grace serves it', { service: service(at(600)) }, [at(5), at(600)], false],
    [
      'its endpoints changed 5 s ago (a pod removed: kube-proxy may still send to it)',
      { service: service(at(600)), endpointsChangedAt: at(5) },
      [at(600)],
      true,
    ],
    [
      'its endpoints changed 31 s ago',
      { service: service(at(600)), endpointsChangedAt: at(31) },
      [at(600)],
      false,
    ],
    ['no times known at all', { service: service() }, [undefined], false],
  ];
  it.each(cases)('%s', (_, view, starts, expected) => {
    expect(settling(view, starts, now, 30_000)).toBe(expected);
  });
});

describe('findings about the Service data path', () => {
  it.each(cases)('$name', ({ input: i, expected }) => {
    expect(warnings(i)).toEqual(expected);
  });

  it("says sockeye's node when it does not know its name, and both ClusterIPs of a dual-stack Service", () => {
    const service = { ...lb(), clusterIPs: [CLUSTER_IP, '2001:2::c'] };
    const base = input({ clusterIP: 'timeout' });
    const i = {
      ...base,
      services: [service],
      probes: [...base.probes, ...probes(['2001:2::c', 80, 'refused'])],
      prober: { namespace: 'sockeye', labels: {} },
    };
    expect(warnings(i)).toEqual([
      "ServiceIPNotForwarding: port http (80/TCP): 3/3 pods open on 8080; ClusterIP [2001:2::c]:80 refuses; ClusterIP 198.19.128.12:80 times out from sockeye's node: the node's Service data path (kube-proxy or the CNI) does not forward",
    ]);
  });

  it('says "this machine" when probing from outside the cluster (the audit on a workstation)', () => {
    const i = { ...input({ clusterIP: 'timeout' }), prober: { namespace: '', labels: {}, outside: true } };
    expect(warnings(i)).toEqual([
      'ServiceIPNotForwarding: port http (80/TCP): 3/3 pods open on 8080; ClusterIP 198.19.128.12:80 times out from this machine, outside the cluster, while other ClusterIPs answer: the Service data path of the node that routes this machine to the Service network (kube-proxy or the CNI) does not forward',
    ]);
  });

  it('summarises the failing hops in the status, leaving out nodes that drop the NodePort by design', () => {
    const i = input({ nodePorts: { n1: 'timeout', n2: 'timeout' }, lb: 'timeout' }, true, onlyWeb1);
    expect(describeService(i, lb(true), evaluate(i)).summary).toBe(
      'http: 1/1 open, load balancer 198.19.176.1:80 timeout',
    );
    const j = input({ nodePorts: { n1: 'refused' } });
    expect(describeService(j, lb(), evaluate(j)).summary).toBe(
      'http: 3/3 open, NodePort 30080 failing on 1 of 3 nodes',
    );
  });

  it('waits for the data path to follow a Service created, or backends started, moments ago', () => {
    const i = input({ clusterIP: 'timeout' });
    const recently = new Date(i.now.getTime() - 5_000);
    const young = { ...i, services: [{ ...lb(), createdAt: recently }] };
    expect(warnings(young)).toEqual([]);
    const freshPods = { ...i, pods: i.pods.map((p) => ({ ...p, startTime: recently })) };
    expect(warnings(freshPods)).toEqual([]);
    // One backend older than the grace serves the Service: its data path has had time.
    const oneOld = { ...freshPods, pods: [...freshPods.pods.slice(1), i.pods[0]!] };
    expect(warnings(oneOld).map((w) => w.split(':')[0])).toEqual(['ServiceIPNotForwarding']);
    const old = { ...i, services: [{ ...lb(), createdAt: new Date(i.now.getTime() - 60_000) }] };
    expect(warnings(old).map((w) => w.split(':')[0])).toEqual(['ServiceIPNotForwarding']);
  });

  it('judges a load balancer on all its connects of the round: partly failing is failing', () => {
    const i = input({ nodePorts: { n1: 'timeout', n2: 'timeout' } }, true, onlyWeb1);
    const connects = (...o: Outcome[]) => ({
      ...i,
      probes: [
        ...i.probes.filter((p) => p.target.ip !== LB_IP),
        ...probes(...o.map((x) => [LB_IP, 80, x] as const)),
      ],
    });
    // Round robin over three nodes of which one forwards: two connects of three time out, every round.
    expect(warnings(connects('open', 'timeout', 'timeout'))).toEqual([
      'LoadBalancerFailing: port http (80/TCP): 1/1 pod open on 8080; load balancer 198.19.176.1:80 (2 of 3 connects) times out: it sends to nodes n1, n2 without a local endpoint, which drop the NodePort as externalTrafficPolicy Local intends, and their health check (port 31000) says so (HTTP 503): the load balancer does not honour the health checks',
    ]);
    expect(warnings(connects('open', 'open', 'open'))).toEqual([]);
    const all = connects('timeout', 'timeout', 'timeout');
    expect(warnings(all)[0]).toContain('load balancer 198.19.176.1:80 times out: it sends');
    expect(describeService(all, lb(true), evaluate(all)).summary).toBe(
      'http: 1/1 open, load balancer 198.19.176.1:80 timeout',
    );
    const partly = connects('timeout', 'open', 'open');
    expect(describeService(partly, lb(true), evaluate(partly)).summary).toBe(
      'http: 1/1 open, load balancer 198.19.176.1:80 (1 of 3 connects) timeout',
    );
  });

  it('waits for the data path to follow an endpoint change (a pod added, removed or moved)', () => {
    const i = input({ nodePorts: { n1: 'timeout' } });
    const stamped = (ago: number) => ({
      ...i,
      slices: i.slices.map((sl) => ({ ...sl, changedAt: new Date(i.now.getTime() - ago) })),
    });
    expect(warnings(stamped(5_000))).toEqual([]);
    expect(warnings(stamped(60_000)).map((w) => w.split(':')[0])).toEqual(['NodePortFailing']);
  });

  it('judges no hop it has no outcome for, and none with the checks off', () => {
    const i = input({ clusterIP: 'timeout', lb: 'timeout', nodePorts: { n1: 'timeout' } });
    expect(warnings({ ...i, probes: i.probes.filter((p) => p.target.port === 8080) })).toEqual([]);
    expect(warnings({ ...i, options: {} })).toEqual([]);
  });

  it('keeps the hop outcomes as evidence, marked with the hop and node', () => {
    const [f] = evaluate(input({ nodePorts: { n1: 'timeout' } }));
    expect(f?.evidence.outcomes.filter((o) => o.hop !== undefined && o.outcome !== 'open')).toEqual([
      { ip: '198.18.0.2', port: 30080, outcome: 'timeout', hop: 'node-port', node: 'n1' },
    ]);
  });

  it('recovers once the ClusterIP forwards again, and reports the Service Degraded meanwhile', () => {
    const broken = input({ clusterIP: 'timeout' });
    const [f] = evaluate(broken);
    expect(describeService(broken, lb(), f ? [f] : [])).toMatchObject({
      status: 'Degraded',
      summary: 'http: 3/3 open, ClusterIP 198.19.128.12:80 timeout',
    });
    // While the data path settles the hop is no finding: Healthy, and the summary says why it fails.
    const young = { ...broken, slices: broken.slices.map((sl) => ({ ...sl, changedAt: broken.now })) };
    expect(describeService(young, lb(), evaluate(young))).toMatchObject({
      status: 'Healthy',
      summary: 'http: 3/3 open, ClusterIP 198.19.128.12:80 timeout (settling)',
    });
    const fixed = { ...input({}), previous: f ? [f] : [] };
    expect(evaluate(fixed).map((x) => `${x.reason}: ${x.message}`)).toEqual([
      'TargetsRecovered: ServiceIPNotForwarding no longer holds for port http (80/TCP)',
    ]);
  });
});

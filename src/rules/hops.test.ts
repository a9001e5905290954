import { describe, expect, it } from 'vitest';
import type { Service } from '../model/types.ts';
import { node, pod, svc, world } from './fixtures.ts';
import { planAllTargets, planTargets } from './targets.ts';
import type { ClusterState, RuleOptions } from './types.ts';

const ALL: Partial<RuleOptions> = { checkClusterIP: true, checkNodePorts: true, checkLoadBalancers: true };
const nodes = [node('n0', '198.18.0.1'), node('n1', '198.18.0.2', '2001:2::2')];
const web1 = pod('web-1', { ip: '198.18.1.1', node: 'n0' });

const lb = (extra: Parameters<typeof svc>[1] = {}) =>
  svc('web', {
    type: 'LoadBalancer',
    clusterIPs: ['198.19.128.10'],
    nodePorts: [30080],
    ingress: ['198.19.176.1'],
    ...extra,
  });

/** The hops planned for `service`, as `kind node ip:port`. */
function hops(
  service: Service,
  options: Partial<RuleOptions> = ALL,
  state: Partial<ClusterState> = {},
): string[] {
  const s = world({ services: [service], pods: [web1], nodes, options, ...state });
  return planTargets(service, s).flatMap((t) =>
    t.hop ? [`${t.hop.kind}${t.hop.node ? ` ${t.hop.node}` : ''} ${t.ip}:${t.port}`] : [],
  );
}

interface Case {
  readonly name: string;
  readonly service: Service;
  readonly options?: Partial<RuleOptions>;
  readonly expected: readonly string[];
}

const cases: readonly Case[] = [
  {
    name: 'a ClusterIP Service: each of its ClusterIPs on the Service port',
    service: svc('web', { clusterIPs: ['198.19.128.10', '2001:2::a'] }),
    expected: ['cluster-ip 198.19.128.10:80', 'cluster-ip 2001:2::a:80'],
  },
  {
    name: 'a NodePort Service: also every node InternalIP on its own nodePort',
    service: svc('web', { type: 'NodePort', clusterIPs: ['198.19.128.10'], nodePorts: [30080] }),
    expected: [
      'cluster-ip 198.19.128.10:80',
      'node-port n0 198.18.0.1:30080',
      'node-port n1 198.18.0.2:30080',
      'node-port n1 2001:2::2:30080',
    ],
  },
  {
    name: 'a LoadBalancer Service: also each ingress IP from its status on the Service port',
    service: lb(),
    expected: [
      'cluster-ip 198.19.128.10:80',
      'node-port n0 198.18.0.1:30080',
      'node-port n1 198.18.0.2:30080',
      'node-port n1 2001:2::2:30080',
      'load-balancer 198.19.176.1:80',
    ],
  },
  {
    name: 'externalTrafficPolicy Local: and the healthCheckNodePort of every node',
    service: lb({ externalTrafficPolicy: 'Local', healthCheckNodePort: 31000 }),
    options: { checkNodePorts: true },
    expected: [
      'node-port n0 198.18.0.1:30080',
      'node-port n1 198.18.0.2:30080',
      'node-port n1 2001:2::2:30080',
      'health-check n0 198.18.0.1:31000',
      'health-check n1 198.18.0.2:31000',
      'health-check n1 2001:2::2:31000',
    ],
  },
  {
    name: 'each check off by its option',
    service: lb(),
    options: { checkLoadBalancers: true },
    expected: ['load-balancer 198.19.176.1:80'],
  },
  {
    name: 'nothing by default (the caller opts in where it can reach the addresses)',
    service: lb(),
    options: {},
    expected: [],
  },
  {
    name: 'internalTrafficPolicy Local: no ClusterIP (it forwards only to the client node’s endpoints)',
    service: svc('web', { clusterIPs: ['198.19.128.10'], internalTrafficPolicy: 'Local' }),
    expected: [],
  },
  {
    name: 'a selector-less Service: no hop (its ClusterIP forwards to what someone else wrote)',
    service: svc('ext', { selector: undefined, clusterIPs: ['198.19.128.11'] }),
    options: { ...ALL, selectorless: true },
    expected: [],
  },
  {
    name: 'an opted-out Service, an ignored port, a UDP port: no hop',
    service: svc('web', {
      clusterIPs: ['198.19.128.10'],
      ports: [
        [80, 8080, 'http'],
        [53, 53, 'dns', 'UDP'],
      ],
      annotations: { 'sockeye.dev/ignore-ports': 'http' },
    }),
    expected: [],
  },
  {
    name: 'never a forbidden address or a kubelet port, whatever the API server says',
    service: svc('web', {
      type: 'NodePort',
      clusterIPs: ['127.0.0.1', '169.254.169.254'],
      nodePorts: [10250],
    }),
    expected: [],
  },
];

describe('the Service data path hops', () => {
  it.each(cases)('plans $name', ({ service, options, expected }) => {
    expect(hops(service, options ?? ALL)).toEqual(expected);
  });

  it('never plans spec.externalIPs: the model does not even carry them', () => {
    const service = { ...lb(), externalIPs: ['198.19.9.9'] } as Service;
    expect(hops(service).join(' ')).not.toContain('198.19.9.9');
  });

  it('takes no node port but the Service’s own', () => {
    const other = svc('other', { type: 'NodePort', clusterIPs: ['198.19.128.12'], nodePorts: [30099] });
    const state = world({ services: [lb(), other], pods: [web1], nodes, options: { checkNodePorts: true } });
    const ports = planTargets(lb(), state).flatMap((t) => (t.hop ? [t.port] : []));
    expect(new Set(ports)).toEqual(new Set([30080]));
  });

  it('keeps refusing Service IPs as opt-in endpoint addresses while the Service’s own ClusterIP is a hop', () => {
    const service = svc('web', { clusterIPs: ['198.19.128.10'] });
    const ext = svc('ext', { selector: undefined });
    const slice = {
      namespace: 'shop',
      name: 'ext-1',
      serviceName: 'ext',
      addressType: 'IPv4' as const,
      ports: [{ name: 'http', port: 80, protocol: 'TCP' as const }],
      endpoints: [{ addresses: ['198.19.128.10'], ready: true, serving: true, terminating: false }],
    };
    const state = world({
      services: [service, ext],
      pods: [web1],
      slices: [...world({ services: [service], pods: [web1] }).slices, slice],
      options: { ...ALL, selectorless: true },
    });
    expect(planTargets(ext, state)).toEqual([]);
    expect(planTargets(service, state).map((t) => `${t.ip}:${t.port}`)).toEqual([
      '198.18.1.1:8080',
      '198.19.128.10:80',
    ]);
    // planAllTargets plans it once, as the hop it is.
    expect(planAllTargets(state).filter((t) => t.ip === '198.19.128.10')).toHaveLength(1);
  });
});

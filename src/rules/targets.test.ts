import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../model/types.ts';
import { pod, svc, world } from './fixtures.ts';
import { planAllTargets, planPodTargets, planTargets } from './targets.ts';
import type { ClusterState } from './types.ts';

const web = svc('web');
const w = (name: string, ip: string | readonly string[], extra = {}) =>
  pod(name, { ip, ports: [[8080, 'http']], ...extra });

/** `ip:port` of what would be probed, sorted. */
const planned = (service: Service, state: ClusterState) =>
  planTargets(service, state)
    .map((t) => `${t.ip}:${t.port}`)
    .sort();

/** A slice that lists `pod`'s entry with other addresses, as a hostile or stale slice might. */
function sliceWithAddresses(service: Service, name: string, addresses: readonly string[]): EndpointSlice {
  return {
    namespace: 'shop',
    name: 'web-forged',
    serviceName: service.name,
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [
      {
        addresses,
        ready: true,
        serving: true,
        terminating: false,
        targetRef: { kind: 'Pod', namespace: 'shop', name, uid: `uid-${name}` },
      },
    ],
  };
}

interface Case {
  readonly name: string;
  readonly service: Service;
  readonly state: ClusterState;
  readonly expected: readonly string[];
}

const cases: readonly Case[] = [
  {
    name: 'the pod IPs of live selected pods on the resolved target port',
    service: web,
    state: world({ services: [web], pods: [w('web-1', '10.0.0.1'), w('web-2', '10.0.0.2')] }),
    expected: ['10.0.0.1:8080', '10.0.0.2:8080'],
  },
  {
    name: 'both families of a dual-stack pod',
    service: web,
    state: world({ services: [web], pods: [w('web-1', ['10.0.0.1', 'fd00::1'])] }),
    expected: ['10.0.0.1:8080', 'fd00::1:8080'],
  },
  {
    name: 'a named targetPort resolved per pod',
    service: svc('web', { ports: [[80, 'http', 'http']] }),
    state: world({
      services: [svc('web', { ports: [[80, 'http', 'http']] })],
      pods: [w('web-1', '10.0.0.1'), pod('web-2', { ip: '10.0.0.2', ports: [[9000, 'http']] })],
    }),
    expected: ['10.0.0.1:8080', '10.0.0.2:9000'],
  },
  {
    name: 'not-ready pods too (their refusal explains them), but not terminating ones',
    service: web,
    state: world({
      services: [web],
      pods: [w('web-1', '10.0.0.1', { ready: false }), w('web-2', '10.0.0.2', { terminating: true })],
    }),
    expected: ['10.0.0.1:8080'],
  },
  {
    name: 'nothing the slice lists beyond the pod IPs: loopback, metadata and foreign addresses are refused',
    service: web,
    state: world({
      services: [web],
      pods: [w('web-1', '10.0.0.1')],
      slices: [sliceWithAddresses(web, 'web-1', ['10.0.0.1', '127.0.0.1', '169.254.169.254', '10.9.9.9'])],
    }),
    expected: ['10.0.0.1:8080'],
  },
  {
    name: 'nothing for a pod whose own IP is a forbidden address',
    service: web,
    state: world({ services: [web], pods: [w('web-1', '100.100.100.200')] }),
    expected: [],
  },
  {
    name: 'nothing for a targetRef naming a pod the Service does not select',
    service: web,
    state: world({
      services: [web],
      pods: [w('db-1', '10.0.0.5', { labels: { app: 'db' } })],
      slices: [sliceWithAddresses(web, 'db-1', ['10.0.0.5'])],
    }),
    expected: [],
  },
  {
    name: 'nothing for a targetRef whose uid is not the pod of that name now',
    service: web,
    state: world({
      services: [web],
      pods: [w('web-1', '10.0.0.1', { uid: 'a-new-pod' })],
      slices: [sliceWithAddresses(web, 'web-1', ['10.0.0.1'])],
    }),
    expected: [],
  },
  {
    name: 'nothing for hostNetwork pods unless opted in',
    service: web,
    state: world({ services: [web], pods: [w('web-1', '192.168.1.5', { hostNetwork: true })] }),
    expected: [],
  },
  {
    name: 'hostNetwork pods when opted in',
    service: web,
    state: world({
      services: [web],
      pods: [w('web-1', '192.168.1.5', { hostNetwork: true })],
      options: { hostNetwork: true },
    }),
    expected: ['192.168.1.5:8080'],
  },
  {
    name: 'nothing for UDP ports',
    service: svc('dns', { ports: [[53, 53, 'dns', 'UDP']] }),
    state: world({
      services: [svc('dns', { ports: [[53, 53, 'dns', 'UDP']] })],
      pods: [pod('dns-1', { ip: '10.0.0.1', labels: { app: 'web' } })],
    }),
    expected: [],
  },
  {
    name: 'nothing for ports listed in sockeye.dev/ignore-ports',
    service: svc('web', {
      ports: [
        [80, 8080, 'http'],
        [9090, 9090, 'metrics'],
      ],
      annotations: { 'sockeye.dev/ignore-ports': 'metrics' },
    }),
    state: world({
      services: [
        svc('web', {
          ports: [
            [80, 8080, 'http'],
            [9090, 9090, 'metrics'],
          ],
          annotations: { 'sockeye.dev/ignore-ports': 'metrics' },
        }),
      ],
      pods: [w('web-1', '10.0.0.1')],
    }),
    expected: ['10.0.0.1:8080'],
  },
  {
    name: 'nothing for pods opted out with sockeye.dev/probe "false"',
    service: web,
    state: world({
      services: [web],
      pods: [w('web-1', '10.0.0.1', { annotations: { 'sockeye.dev/probe': 'false' } })],
    }),
    expected: [],
  },
  {
    name: 'nothing for a selector-less Service unless opted in',
    service: svc('ext', { selector: undefined }),
    state: world({
      services: [svc('ext', { selector: undefined })],
      slices: [{ ...sliceWithAddresses(svc('ext'), 'x', ['10.0.9.1']), serviceName: 'ext' }],
    }),
    expected: [],
  },
  {
    name: "a selector-less Service's slice addresses on the slice port when opted in, still never loopback",
    service: svc('ext', { selector: undefined }),
    state: world({
      services: [svc('ext', { selector: undefined })],
      slices: [
        {
          namespace: 'shop',
          name: 'ext-1',
          serviceName: 'ext',
          addressType: 'IPv4',
          ports: [{ name: 'http', port: 5432, protocol: 'TCP' }],
          endpoints: [
            { addresses: ['10.0.9.1', '127.0.0.1'], ready: true, serving: true, terminating: false },
          ],
        },
      ],
      options: { selectorless: true },
    }),
    expected: ['10.0.9.1:5432'],
  },
  {
    name: 'nothing for an ExternalName Service',
    service: svc('ext', { type: 'ExternalName' }),
    state: world({ services: [svc('ext', { type: 'ExternalName' })], pods: [w('web-1', '10.0.0.1')] }),
    expected: [],
  },
];

describe('planTargets', () => {
  it.each(cases)('plans $name', ({ service, state, expected }) => {
    expect(planned(service, state)).toEqual([...expected].sort());
  });

  it('takes the probe timeout from the nearest sockeye.dev/timeout: Pod, then Service, then Namespace', () => {
    const service = svc('web', { annotations: { 'sockeye.dev/timeout': '3s' } });
    const state = world({
      services: [service],
      pods: [
        w('web-1', '10.0.0.1', { annotations: { 'sockeye.dev/timeout': '500ms' } }),
        w('web-2', '10.0.0.2'),
      ],
      namespaces: [{ name: 'shop', uid: 'u', labels: {}, annotations: { 'sockeye.dev/timeout': '1m' } }],
    });
    expect(planTargets(service, state).map((t) => [t.pod?.name, t.timeoutMs])).toEqual([
      ['web-1', 500],
      ['web-2', 3000],
    ]);
    expect(planTargets(web, { ...state, services: [web] }).map((t) => t.timeoutMs)).toEqual([500, 60_000]);
  });
});

describe('planPodTargets and planAllTargets', () => {
  it('plans the declared TCP ports of a pod on each IP, never its UDP ones', () => {
    const p = pod('api-1', {
      ip: ['10.0.1.1', 'fd00::11'],
      ports: [
        [9000, 'grpc'],
        [53, 'dns', 'UDP'],
      ],
    });
    expect(planPodTargets(p, world({ pods: [p] })).map((t) => `${t.ip}:${t.port}`)).toEqual([
      '10.0.1.1:9000',
      'fd00::11:9000',
    ]);
  });

  it('plans each ip:port once across Services and declared ports', () => {
    const state = world({
      services: [web],
      pods: [w('web-1', '10.0.0.1', { ports: [[8080, 'http'], [9090]] })],
    });
    expect(planAllTargets(state).map((t) => `${t.ip}:${t.port}`)).toEqual(['10.0.0.1:8080', '10.0.0.1:9090']);
  });
});

describe('the opt-in modes are no port scanner', () => {
  const ext = svc('ext', { selector: undefined });
  const other = { ...svc('db'), clusterIPs: ['198.19.0.12'] };
  const slice = (name: string, ns: string, service: string, port: number, addresses: readonly string[]) => ({
    namespace: ns,
    name,
    serviceName: service,
    addressType: 'IPv4' as const,
    ports: [{ name: 'http', port, protocol: 'TCP' as const }],
    endpoints: [{ addresses, ready: true, serving: true, terminating: false }],
  });
  const kubernetes = {
    ...svc('kubernetes', { ns: 'default', selector: undefined }),
    clusterIPs: ['198.19.0.1'],
  };

  it('never plans a selector-less endpoint on the API server, a Service IP, a kubelet port or a platform address', () => {
    const state = world({
      services: [ext, other, kubernetes],
      slices: [
        slice('kubernetes', 'default', 'kubernetes', 6443, ['198.18.0.2']),
        slice('ext-api', 'shop', 'ext', 6443, [
          '198.18.0.2',
          '198.19.0.12',
          '168.63.129.16',
          '192.0.0.192',
          '198.18.7.7',
        ]),
      ],
      options: { selectorless: true },
    });
    expect(planned(ext, state)).toEqual(['198.18.7.7:6443']);
    // The API server's own Service is selector-less too: nothing of it is probed.
    expect(planned(kubernetes, state)).toEqual([]);
    const kubelet = world({
      services: [ext],
      slices: [slice('ext-kubelet', 'shop', 'ext', 10250, ['198.18.7.7'])],
      options: { selectorless: true },
    });
    expect(planned(ext, kubelet)).toEqual([]);
  });

  it('takes the API server addresses the caller knows from its kubeconfig', () => {
    const state = world({
      services: [ext],
      slices: [slice('ext-1', 'shop', 'ext', 443, ['198.18.0.2', '198.18.7.7'])],
      options: { selectorless: true, apiServerAddresses: ['198.18.0.2'] },
    });
    expect(planned(ext, state)).toEqual(['198.18.7.7:443']);
  });

  // 198.19.0.0/16 is the Service range; 198.19.0.12 is db's ClusterIP, 198.19.9.9 no Service's (yet).
  const selectorless = (
    ranges: Partial<Pick<ClusterState, 'serviceCIDRs'>>,
    configured?: readonly string[],
  ) =>
    world({
      services: [ext, other],
      slices: [
        slice('ext-v4', 'shop', 'ext', 443, ['198.19.9.9', '198.19.0.12', '198.18.7.7']),
        {
          ...slice('ext-v6', 'shop', 'ext', 443, ['fd00:5e::9', 'fd00:ab::7']),
          addressType: 'IPv6' as const,
        },
      ],
      ...ranges,
      options: { selectorless: true, ...(configured ? { serviceCIDRs: configured } : {}) },
    });
  it.each([
    [
      "the cluster's ServiceCIDRs, both families",
      selectorless({ serviceCIDRs: ['198.19.0.0/16', 'fd00:5e::/108'] }),
      ['198.18.7.7:443', '[fd00:ab::7]:443'],
    ],
    [
      'the ranges of --service-cidrs, where the cluster serves no ServiceCIDR',
      selectorless({}, ['198.19.0.0/16', 'fd00:5e::/108']),
      ['198.18.7.7:443', '[fd00:ab::7]:443'],
    ],
    [
      'both, joined',
      selectorless({ serviceCIDRs: ['198.19.0.0/16'] }, ['fd00:5e::/108']),
      ['198.18.7.7:443', '[fd00:ab::7]:443'],
    ],
    [
      'neither: only the ClusterIPs Services hold now',
      selectorless({}),
      ['198.18.7.7:443', '198.19.9.9:443', '[fd00:5e::9]:443', '[fd00:ab::7]:443'],
    ],
  ])('never plans a selector-less endpoint inside the Service range: %s', (_name, state, expected) => {
    const targets = planTargets(ext, state)
      .map((t) => (t.ip.includes(':') ? `[${t.ip}]:${t.port}` : `${t.ip}:${t.port}`))
      .sort();
    expect(targets).toEqual(expected);
  });

  it("never plans a hostNetwork pod inside the Service range (a node's address should not be; if it is, it is a virtual IP's)", () => {
    const agent = pod('agent', { ip: '198.19.9.9', hostNetwork: true, ports: [[9100, 'metrics']] });
    const outside = pod('agent-2', { ip: '198.18.3.4', hostNetwork: true, ports: [[9100, 'metrics']] });
    const state = world({
      pods: [agent, outside],
      serviceCIDRs: ['198.19.0.0/16'],
      options: { hostNetwork: true },
    });
    expect(planPodTargets(agent, state)).toEqual([]);
    expect(planPodTargets(outside, state).map((t) => `${t.ip}:${t.port}`)).toEqual(['198.18.3.4:9100']);
  });

  it("never plans a hostNetwork pod's kubelet ports, which are its node's", () => {
    const agent = pod('agent', {
      ip: '198.18.3.4',
      hostNetwork: true,
      ports: [[9100, 'metrics'], [10250, 'kubelet'], [10255]],
    });
    const state = world({ pods: [agent], options: { hostNetwork: true } });
    expect(planPodTargets(agent, state).map((t) => `${t.ip}:${t.port}`)).toEqual(['198.18.3.4:9100']);
  });

  it('still plans a pod of a selector that declares 10250 (metrics-server does): only opt-in targets are limited', () => {
    const metrics = pod('metrics-server-1', { ip: '198.18.3.9', ports: [[10250, 'https']] });
    const service = svc('metrics-server', { ports: [[443, 'https', 'https']] });
    expect(planned(service, world({ services: [service], pods: [metrics] }))).toEqual(['198.18.3.9:10250']);
  });
});

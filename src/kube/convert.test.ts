import type { V1EndpointSlice, V1NetworkPolicy, V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { toEndpointSlice, toNamespace, toNetworkPolicy, toNode, toPod, toService } from './convert.ts';

describe('toService', () => {
  it('keeps the selector, ports with defaulted protocol and targetPort, and sockeye annotations', () => {
    const svc: V1Service = {
      metadata: {
        namespace: 'shop',
        name: 'web',
        uid: 'u1',
        // Only sockeye's own are kept: others would make unrelated edits look like changes to probe.
        annotations: {
          'sockeye.dev/timeout': '2s',
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
        },
      },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'web' },
        ports: [
          { name: 'http', port: 80, targetPort: 'http' },
          { port: 53, protocol: 'UDP' },
        ],
        publishNotReadyAddresses: true,
        clusterIP: '198.19.0.10',
        clusterIPs: ['198.19.0.10', '2001:2::a'],
      },
    };
    expect(toService(svc)).toEqual({
      namespace: 'shop',
      name: 'web',
      uid: 'u1',
      type: 'LoadBalancer',
      selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' },
        { name: '', port: 53, protocol: 'UDP', targetPort: 53 },
      ],
      publishNotReadyAddresses: true,
      clusterIPs: ['198.19.0.10', '2001:2::a'],
      loadBalancerIngress: [],
      annotations: { 'sockeye.dev/timeout': '2s' },
    });
  });

  it('keeps the data path fields: nodePorts, traffic policies, health check port, ingress IPs only', () => {
    const svc = toService({
      metadata: { name: 'lb' },
      spec: {
        type: 'LoadBalancer',
        ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }],
        externalTrafficPolicy: 'Local',
        internalTrafficPolicy: 'Cluster',
        healthCheckNodePort: 31000,
        externalIPs: ['198.19.9.9'],
      },
      status: { loadBalancer: { ingress: [{ ip: '198.19.170.1' }, { hostname: 'lb.example.com' }] } },
    });
    expect(svc.ports[0]?.nodePort).toBe(30080);
    expect(svc.externalTrafficPolicy).toBe('Local');
    expect(svc.internalTrafficPolicy).toBe('Cluster');
    expect(svc.healthCheckNodePort).toBe(31000);
    // spec.externalIPs is never read: anyone who may write a Service sets it (CVE-2020-8554).
    expect(svc.loadBalancerIngress).toEqual(['198.19.170.1']);
    expect(JSON.stringify(svc)).not.toContain('198.19.9.9');
  });

  it('reads clusterIP when clusterIPs is absent, and a headless Service as having none', () => {
    expect(toService({ metadata: { name: 'a' }, spec: { clusterIP: '198.19.0.11' } }).clusterIPs).toEqual([
      '198.19.0.11',
    ]);
    expect(
      toService({ metadata: { name: 'h' }, spec: { clusterIP: 'None', clusterIPs: ['None'] } }).clusterIPs,
    ).toEqual([]);
  });

  it('reads an empty selector as no selector, and a missing type as ClusterIP', () => {
    const s = toService({ metadata: { name: 'db' }, spec: { selector: {} } });
    expect([s.selector, s.type, s.publishNotReadyAddresses]).toEqual([undefined, 'ClusterIP', false]);
  });
});

describe('toNode', () => {
  it('keeps the name and the InternalIPs only', () => {
    expect(
      toNode({
        metadata: { name: 'sim-node-0' },
        status: {
          addresses: [
            { type: 'Hostname', address: 'sim-node-0' },
            { type: 'InternalIP', address: '198.18.0.1' },
            { type: 'ExternalIP', address: '198.19.9.1' },
            { type: 'InternalIP', address: '2001:2::1' },
          ],
        },
      }),
    ).toEqual({ name: 'sim-node-0', internalIPs: ['198.18.0.1', '2001:2::1'] });
  });
});

describe('toEndpointSlice', () => {
  it('reads the service-name label, and nil conditions the way the API defines them', () => {
    const slice: V1EndpointSlice = {
      metadata: { namespace: 'shop', name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv6',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'grpc' }],
      endpoints: [
        { addresses: ['fd00::1'], targetRef: { kind: 'Pod', name: 'web-1', uid: 'p1' }, nodeName: 'n1' },
        { addresses: ['fd00::2'], conditions: { ready: false, serving: true, terminating: true } },
      ],
    };
    expect(toEndpointSlice(slice)).toEqual({
      namespace: 'shop',
      name: 'web-abc',
      serviceName: 'web',
      addressType: 'IPv6',
      ports: [
        { name: 'http', port: 8080, protocol: 'TCP' },
        { name: 'grpc', port: undefined, protocol: 'TCP' },
      ],
      endpoints: [
        {
          addresses: ['fd00::1'],
          ready: true,
          serving: true,
          terminating: false,
          targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'p1' },
          nodeName: 'n1',
        },
        {
          addresses: ['fd00::2'],
          ready: false,
          serving: true,
          terminating: true,
          targetRef: undefined,
          nodeName: undefined,
        },
      ],
    });
  });
});

describe('toPod', () => {
  const base: V1Pod = {
    metadata: { namespace: 'shop', name: 'web-1', uid: 'p1', labels: { app: 'web' } },
    spec: {
      nodeName: 'n1',
      containers: [
        {
          name: 'app',
          ports: [
            { containerPort: 8080, name: 'http' },
            { containerPort: 53, protocol: 'UDP' },
          ],
          readinessProbe: { httpGet: { port: 'http' } },
        },
        { name: 'sidecar', readinessProbe: { exec: { command: ['true'] } } },
        { name: 'other' },
      ],
    },
    status: {
      phase: 'Running',
      podIP: '10.0.0.1',
      podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };

  it('keeps IPs of both families, readiness, ports with protocols and what each readiness probe checks', () => {
    const p = toPod(base);
    expect([p.podIPs, p.ready, p.phase, p.hostNetwork, p.nodeName]).toEqual([
      ['10.0.0.1', 'fd00::1'],
      true,
      'Running',
      false,
      'n1',
    ]);
    expect(p.containers).toEqual([
      {
        name: 'app',
        ports: [
          { containerPort: 8080, name: 'http', protocol: 'TCP' },
          { containerPort: 53, name: undefined, protocol: 'UDP' },
        ],
        readiness: { kind: 'port', port: 'http' },
      },
      { name: 'sidecar', ports: [], readiness: { kind: 'exec' } },
      { name: 'other', ports: [], readiness: { kind: 'none' } },
    ]);
  });

  it('falls back to status.podIP and reads a Ready condition that is not True as not ready', () => {
    const p = toPod({
      ...base,
      status: { podIP: '10.0.0.9', conditions: [{ type: 'Ready', status: 'False' }] },
    });
    expect([p.podIPs, p.ready, p.phase]).toEqual([['10.0.0.9'], false, 'Unknown']);
  });

  it('accepts timestamps as Date (from a list) and as strings (from a watch)', () => {
    const when = '2025-06-01T12:00:00Z';
    const fromList = toPod({ ...base, metadata: { ...base.metadata, deletionTimestamp: new Date(when) } });
    // A watch event carries the raw JSON string where the generated type claims a Date.
    const fromWatch = toPod({
      ...base,
      metadata: { ...base.metadata, deletionTimestamp: when as unknown as Date },
      status: { ...base.status, startTime: '2025-06-01T11:00:00Z' as unknown as Date },
    });
    expect(fromList.deletionTimestamp?.toISOString()).toBe('2025-06-01T12:00:00.000Z');
    expect(fromWatch.deletionTimestamp?.toISOString()).toBe('2025-06-01T12:00:00.000Z');
    expect(fromWatch.startTime?.toISOString()).toBe('2025-06-01T11:00:00.000Z');
    expect(toPod(base).deletionTimestamp).toBeUndefined();
  });

  it.each([
    ['a bare pod has no owner', [], {}, undefined],
    [
      "a Deployment's ReplicaSet reads as the Deployment",
      [{ kind: 'ReplicaSet', name: 'web-7d9f8', controller: true }],
      { 'pod-template-hash': '7d9f8' },
      { kind: 'Deployment', name: 'web' },
    ],
    [
      'a ReplicaSet without the hash label stays a ReplicaSet',
      [{ kind: 'ReplicaSet', name: 'web-7d9f8', controller: true }],
      {},
      { kind: 'ReplicaSet', name: 'web-7d9f8' },
    ],
    [
      'only the controller reference counts',
      [
        { kind: 'ConfigMap', name: 'x' },
        { kind: 'StatefulSet', name: 'db', controller: true },
      ],
      {},
      { kind: 'StatefulSet', name: 'db' },
    ],
  ])('%s', (_, refs, labels, owner) => {
    const ownerReferences = refs.map((r) => ({ apiVersion: 'apps/v1', uid: 'u', ...r }));
    const p = toPod({ ...base, metadata: { ...base.metadata, ownerReferences, labels } });
    expect(p.owner).toEqual(owner);
  });
});

describe('toNetworkPolicy', () => {
  it('defaults policyTypes as the API server does and keeps peers and ports', () => {
    const np: V1NetworkPolicy = {
      metadata: { namespace: 'shop', name: 'allow' },
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          {
            _from: [
              { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] } },
              { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
            ],
            ports: [{ port: 'http' }, { protocol: 'TCP', port: 9000, endPort: 9010 }],
          },
        ],
        egress: [{ to: [{ podSelector: {} }] }],
      },
    };
    expect(toNetworkPolicy(np)).toEqual({
      namespace: 'shop',
      name: 'allow',
      podSelector: { matchLabels: { app: 'web' }, matchExpressions: [] },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          peers: [
            {
              podSelector: undefined,
              namespaceSelector: {
                matchLabels: {},
                matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }],
              },
              ipBlock: undefined,
            },
            {
              podSelector: undefined,
              namespaceSelector: undefined,
              ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] },
            },
          ],
          ports: [
            { protocol: 'TCP', port: 'http', endPort: undefined },
            { protocol: 'TCP', port: 9000, endPort: 9010 },
          ],
        },
      ],
      egress: [
        {
          peers: [
            {
              podSelector: { matchLabels: {}, matchExpressions: [] },
              namespaceSelector: undefined,
              ipBlock: undefined,
            },
          ],
          ports: [],
        },
      ],
    });
  });

  it('keeps declared policyTypes, so an Egress-only policy does not isolate ingress', () => {
    const np = toNetworkPolicy({
      metadata: { name: 'e' },
      spec: { podSelector: {}, policyTypes: ['Egress'] },
    });
    expect(np.policyTypes).toEqual(['Egress']);
  });
});

describe('toNamespace', () => {
  it('keeps labels and annotations', () => {
    expect(
      toNamespace({
        metadata: {
          name: 'shop',
          uid: 'n',
          labels: { team: 'a' },
          annotations: { 'sockeye.dev/probe': 'false' },
        },
      }),
    ).toEqual({
      name: 'shop',
      uid: 'n',
      labels: { team: 'a' },
      annotations: { 'sockeye.dev/probe': 'false' },
    });
  });
});

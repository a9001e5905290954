import { describe, expect, it } from 'vitest';
import type { Outcome } from '../probe/outcome.ts';
import { REASON_NAMES, type Reason } from './catalog.ts';
import { evaluate } from './evaluate.ts';
import {
  denyAll,
  loopback,
  NOW,
  namespace,
  node,
  type PodSpec,
  pod,
  probes,
  svc,
  world,
} from './fixtures.ts';
import type { EvaluateInput, Finding, PreviousFinding } from './types.ts';

type Row = readonly [Reason, string, string];

const rows = (findings: readonly Finding[]): Row[] =>
  findings
    .map((f): Row => [f.reason, f.object.name, f.message])
    .sort((a, b) => a.join().localeCompare(b.join()));

const sorted = (expected: readonly Row[]) => [...expected].sort((a, b) => a.join().localeCompare(b.join()));

// Three web pods behind one Service, named as a rollout would name them.
const web = svc('web');
const ready = (name: string, ip: string | readonly string[], extra: PodSpec = {}) =>
  pod(name, { ip, ports: [[8080, 'http']], ...extra });
const w1 = ready('web-1', '10.0.0.1');
const w2 = ready('web-2', '10.0.0.2');
const w3 = ready('web-3', '10.0.0.3');
const allOpen = probes(['10.0.0.1', 8080, 'open'], ['10.0.0.2', 8080, 'open'], ['10.0.0.3', 8080, 'open']);

type Triple = readonly [string, number, Outcome];

/** `web` as a LoadBalancer on two nodes, every data path check on; `hops` are [ip, port, outcome]. */
function webLB(hops: readonly Triple[], podOutcome: Outcome = 'open'): EvaluateInput {
  return world({
    services: [
      svc('web', {
        type: 'LoadBalancer',
        clusterIPs: ['198.19.0.12'],
        nodePorts: [30080],
        ingress: ['198.19.1.1'],
      }),
    ],
    pods: [w1, w2],
    nodes: [node('n0', '198.18.0.1'), node('n1', '198.18.0.2')],
    probes: [...probes(['10.0.0.1', 8080, podOutcome], ['10.0.0.2', 8080, podOutcome]), ...probes(...hops)],
    options: { checkClusterIP: true, checkNodePorts: true, checkLoadBalancers: true },
    prober: { namespace: 'sockeye', labels: {}, nodeName: 'n0' },
  });
}
const HOPS_OPEN: readonly Triple[] = [
  ['198.19.0.12', 80, 'open'],
  ['198.18.0.1', 30080, 'open'],
  ['198.18.0.2', 30080, 'open'],
  ['198.19.1.1', 80, 'open'],
];
const UNEXPLAINED = (ip: string) =>
  `port http (8080/TCP) times out on ${ip}; no NetworkPolicy explains it: look at the CNI, node firewall or security groups`;
const hopsWith = (ip: string, port: number, outcome: Outcome): readonly Triple[] =>
  HOPS_OPEN.map(([i, p, o]) => (i === ip && p === port ? [i, p, outcome] : [i, p, o]));
const outcomes = (o1: Outcome, o2: Outcome, o3: Outcome) =>
  probes(['10.0.0.1', 8080, o1], ['10.0.0.2', 8080, o2], ['10.0.0.3', 8080, o3]);

// Service orders sends to 8081; its pods declare (and serve) 8080, as in the demo's shop.
const orders = svc('orders', { selector: { app: 'orders' }, ports: [[80, 8081, 'http']] });
const ordersPod = (name: string, ip: string) =>
  pod(name, { ip, labels: { app: 'orders' }, ports: [[8080, 'http']] });
// Service api selects tier=backend: Deployment api's pods, and Deployment worker's, which serve metrics only.
const api = svc('api', { selector: { tier: 'backend' } });
const apiPod = (name: string, ip: string, extra: PodSpec = {}) =>
  pod(name, {
    ip,
    labels: { tier: 'backend', app: 'api', 'pod-template-hash': '5f7c' },
    ports: [[8080, 'http']],
    owner: 'Deployment/api',
    ...extra,
  });
const workerPod = (name: string, ip: string, extra: PodSpec = {}) =>
  pod(name, {
    ip,
    labels: { tier: 'backend', app: 'worker', 'pod-template-hash': '9b2d' },
    ports: [[9100, 'metrics']],
    owner: 'Deployment/worker',
    ...extra,
  });

/** Service api over api-1 (and api-2 unless undefined) and worker-1, with these outcomes on 8080. */
const backend = (
  api1: Outcome,
  api2: Outcome | undefined,
  worker: Outcome,
  previous?: EvaluateInput['previous'],
) =>
  world({
    services: [api],
    pods: [
      apiPod('api-1', '10.0.3.1'),
      ...(api2 ? [apiPod('api-2', '10.0.3.2')] : []),
      workerPod('worker-1', '10.0.3.9'),
    ],
    probes: probes(
      ['10.0.3.1', 8080, api1],
      ...(api2 ? [['10.0.3.2', 8080, api2] as const] : []),
      ['10.0.3.9', 8080, worker],
      ['10.0.3.9', 9100, 'open'],
    ),
    previous,
  });
const ALSO_MATCHES_WORKER = (answering: string) =>
  `port http (80/TCP): selector tier=backend also matches 1 pod of Deployment worker, which declares none of the Service's target ports and fails (1 refused: worker-1); ${answering}; add app=api to the selector to leave it out`;
/** Service orders over orders-1 alone, refusing the 8081 it does not declare. */
const ordersAlone = (previous?: EvaluateInput['previous']) =>
  world({
    services: [orders],
    pods: [ordersPod('orders-1', '10.0.2.1')],
    probes: probes(['10.0.2.1', 8081, 'refused'], ['10.0.2.1', 8080, 'open']),
    previous,
  });
const ORDERS_ALONE: readonly Row[] = [
  [
    'TargetPortMismatch',
    'orders',
    'port http (80/TCP): targetPort 8081/TCP is not declared by the selected pod; it declares 8080/TCP (http)',
  ],
  [
    'NoHealthyTargets',
    'orders',
    "port http (80/TCP): 1 ready target fails (1 refused: orders-1); the pod does not declare 8081/TCP (it declares 8080/TCP (http)): the Service's targetPort is likely wrong",
  ],
];

/** A Warning sockeye wrote on a shop object in an earlier pass, for port [name, number]/TCP. */
const warnedBefore = (
  reason: Reason,
  kind: 'Service' | 'Pod',
  name: string,
  [portName, number]: readonly [string, number],
): PreviousFinding => ({
  reason,
  severity: 'Warning',
  object: { kind, namespace: 'shop', name, uid: `uid-${name}` },
  port: { name: portName, number, protocol: 'TCP' },
});

interface Case {
  readonly name: string;
  readonly input: EvaluateInput;
  readonly expected: readonly Row[];
  /** The reason this case is about (firing or near-miss), for the coverage check below. */
  readonly about: Reason;
}

const cases: readonly Case[] = [
  // The Service data path (hop-findings.ts has the full table).
  {
    name: "a ClusterIP that times out from sockeye's node while the pods answer is ServiceIPNotForwarding",
    about: 'ServiceIPNotForwarding',
    input: webLB(hopsWith('198.19.0.12', 80, 'timeout')),
    expected: [
      [
        'ServiceIPNotForwarding',
        'web',
        "port http (80/TCP): 2/2 pods open on 8080; ClusterIP 198.19.0.12:80 times out from node n0: the node's Service data path (kube-proxy or the CNI) does not forward",
      ],
    ],
  },
  {
    name: "a ClusterIP that fails while the pods fail too is the pods' problem, not the data path's",
    about: 'ServiceIPNotForwarding',
    input: webLB(hopsWith('198.19.0.12', 80, 'timeout'), 'timeout'),
    expected: [
      ['NoHealthyTargets', 'web', 'port http (80/TCP): all 2 ready targets fail (2 timeout: web-1, web-2)'],
      ['ConnectTimeout', 'web-1', UNEXPLAINED('10.0.0.1')],
      ['ConnectTimeout', 'web-2', UNEXPLAINED('10.0.0.2')],
    ],
  },
  {
    name: 'a NodePort that fails on one node is NodePortFailing',
    about: 'NodePortFailing',
    input: webLB(hopsWith('198.18.0.2', 30080, 'refused')),
    expected: [
      [
        'NodePortFailing',
        'web',
        'port http (80/TCP): 2/2 pods open on 8080; NodePort 30080 refuses on node n1, answers on n0: kube-proxy (or the CNI) on that node does not forward it',
      ],
    ],
  },
  {
    name: 'every hop answering is silent',
    about: 'NodePortFailing',
    input: webLB(HOPS_OPEN),
    expected: [],
  },
  {
    name: 'a load balancer that times out while the pods and NodePorts answer is LoadBalancerFailing',
    about: 'LoadBalancerFailing',
    input: webLB(hopsWith('198.19.1.1', 80, 'timeout')),
    expected: [
      [
        'LoadBalancerFailing',
        'web',
        'port http (80/TCP): 2/2 pods open on 8080; load balancer 198.19.1.1:80 times out while the NodePort answers on nodes n0, n1: the load balancer has no healthy target (check its health checks, target nodes and listeners)',
      ],
    ],
  },
  {
    name: 'a load balancer that answers is silent',
    about: 'LoadBalancerFailing',
    input: webLB(HOPS_OPEN),
    expected: [],
  },
  // Healthy clusters.
  {
    name: 'a healthy Service whose three pods all accept yields no finding',
    about: 'TargetsRefusing',
    input: world({ services: [web], pods: [w1, w2, w3], probes: allOpen }),
    expected: [],
  },
  {
    name: 'a healthy dual-stack Service is judged on both families and yields no finding',
    about: 'PortNotListening',
    input: world({
      services: [web],
      pods: [ready('web-1', ['10.0.0.1', 'fd00::1'])],
      probes: probes(['10.0.0.1', 8080, 'open'], ['fd00::1', 8080, 'open']),
    }),
    expected: [],
  },
  // NoEndpoints
  {
    name: 'a selector that matches no pod is NoEndpoints and says so',
    about: 'NoEndpoints',
    input: world({ services: [svc('web', { selector: { app: 'wbe' } })], pods: [w1], probes: allOpen }),
    expected: [['NoEndpoints', 'web', 'selector app=wbe matches no pod in namespace shop']],
  },
  {
    name: 'a selector that matches only pods without an IP or not Running says none is Running with an IP',
    about: 'NoEndpoints',
    input: world({
      services: [web],
      pods: [
        pod('web-1', { phase: 'Pending', ready: false }),
        pod('web-2', { ip: '10.0.0.2', phase: 'Failed' }),
      ],
    }),
    expected: [
      [
        'NoEndpoints',
        'web',
        'selector app=web matches 2 pods, none Running with an IP: web-1 Pending without an IP, web-2 Failed',
      ],
    ],
  },
  {
    name: 'Running pods with IPs but no endpoints point at the endpointslice controller',
    about: 'NoEndpoints',
    input: world({ services: [web], pods: [w1], slices: [], probes: allOpen }),
    expected: [
      [
        'NoEndpoints',
        'web',
        "selector app=web matches 1 Running pod with an IP (web-1) but the Service has no endpoints: check the endpointslice controller and that the pods' nodes exist",
      ],
    ],
  },
  {
    name: 'a Service seconds old, before the endpointslice controller lists its Running pods, is not NoEndpoints yet',
    about: 'NoEndpoints',
    input: world({
      services: [{ ...web, createdAt: new Date(NOW.getTime() - 2_000) }],
      pods: [w1],
      slices: [],
      probes: allOpen,
    }),
    expected: [],
  },
  {
    name: 'pods that started seconds ago and are in no slice yet are the controller catching up, not NoEndpoints',
    about: 'NoEndpoints',
    input: world({
      services: [web],
      pods: [pod('web-1', { ip: '10.0.0.1', startTime: new Date(NOW.getTime() - 2_000) })],
      slices: [],
      probes: allOpen,
    }),
    expected: [],
  },
  {
    name: 'a selector-less Service without endpoints is not judged unless opted in',
    about: 'NoEndpoints',
    input: world({ services: [svc('db', { selector: undefined })], slices: [] }),
    expected: [],
  },
  {
    name: 'an opted-in selector-less Service without endpoints is NoEndpoints',
    about: 'NoEndpoints',
    input: world({
      services: [svc('db', { selector: undefined })],
      slices: [],
      options: { selectorless: true },
    }),
    expected: [
      ['NoEndpoints', 'db', 'the Service has no selector and no EndpointSlice lists an endpoint for it'],
    ],
  },
  {
    name: 'an ExternalName Service is skipped, not failed',
    about: 'NoEndpoints',
    input: world({ services: [svc('ext', { type: 'ExternalName', selector: undefined })] }),
    expected: [],
  },
  // NoReadyEndpoints
  {
    name: 'endpoints that are all not ready or terminating are NoReadyEndpoints',
    about: 'NoReadyEndpoints',
    input: world({
      services: [web],
      pods: [ready('web-1', '10.0.0.1', { ready: false }), ready('web-2', '10.0.0.2', { terminating: true })],
      probes: probes(['10.0.0.1', 8080, 'open']),
    }),
    expected: [['NoReadyEndpoints', 'web', '2 endpoints, none ready: web-1 not ready, web-2 terminating']],
  },
  {
    name: 'publishNotReadyAddresses makes not-ready endpoints targets, so they are not NoReadyEndpoints',
    about: 'NoReadyEndpoints',
    input: world({
      services: [svc('web', { publishNotReadyAddresses: true })],
      pods: [ready('web-1', '10.0.0.1', { ready: false })],
      probes: probes(['10.0.0.1', 8080, 'open']),
    }),
    expected: [],
  },
  {
    name: 'publishNotReadyAddresses counts a refusing not-ready pod as a target of the Service',
    about: 'NoHealthyTargets',
    input: world({
      services: [svc('web', { publishNotReadyAddresses: true })],
      pods: [ready('web-1', '10.0.0.1', { ready: false })],
      probes: probes(['10.0.0.1', 8080, 'refused']),
    }),
    expected: [
      ['NoHealthyTargets', 'web', 'port http (80/TCP): 1 ready target fails (1 refused: web-1)'],
      [
        'PortNotListening',
        'web-1',
        'port http (8080/TCP) refuses connections on 10.0.0.1: nothing listens on it',
      ],
    ],
  },
  {
    name: 'a terminating pod that refuses beside a ready one is not a failure',
    about: 'TargetsRefusing',
    input: world({
      services: [web],
      pods: [w1, ready('web-0', '10.0.0.9', { terminating: true })],
      probes: probes(['10.0.0.1', 8080, 'open'], ['10.0.0.9', 8080, 'refused']),
    }),
    expected: [],
  },
  // NoHealthyTargets and TargetsRefusing
  {
    name: 'every ready target of a port refusing or timing out is NoHealthyTargets, with each pod explained',
    about: 'NoHealthyTargets',
    input: world({
      services: [web],
      pods: [w1, w2, w3],
      probes: outcomes('refused', 'refused', 'timeout'),
    }),
    expected: [
      [
        'NoHealthyTargets',
        'web',
        'port http (80/TCP): all 3 ready targets fail (2 refused: web-1, web-2; 1 timeout: web-3)',
      ],
      [
        'ReadyButRefusing',
        'web-1',
        'pod is Ready but port http (8080/TCP), a target of Service web, refuses on 10.0.0.1; the pod has no readiness probe',
      ],
      [
        'ReadyButRefusing',
        'web-2',
        'pod is Ready but port http (8080/TCP), a target of Service web, refuses on 10.0.0.2; the pod has no readiness probe',
      ],
      [
        'ConnectTimeout',
        'web-3',
        'port http (8080/TCP) times out on 10.0.0.3; no NetworkPolicy explains it: look at the CNI, node firewall or security groups',
      ],
    ],
  },
  {
    name: 'one refusing target out of three is TargetsRefusing, not NoHealthyTargets',
    about: 'TargetsRefusing',
    input: world({
      services: [web],
      pods: [w1, w2, ready('web-3', '10.0.0.3', { readiness: { kind: 'port', port: 9090 } })],
      probes: outcomes('open', 'open', 'refused'),
    }),
    expected: [
      ['TargetsRefusing', 'web', 'port http (80/TCP): 1 of 3 ready targets fails (1 refused: web-3)'],
      [
        'ReadyButRefusing',
        'web-3',
        'pod is Ready but port http (8080/TCP), a target of Service web, refuses on 10.0.0.3; its readiness probe checks port 9090',
      ],
    ],
  },
  {
    name: 'a prober-side error is never blamed on the target',
    about: 'NoHealthyTargets',
    input: world({ services: [web], pods: [w1, w2, w3], probes: outcomes('error', 'error', 'error') }),
    expected: [],
  },
  {
    name: 'UDP ports are not probed, so they are never failed',
    about: 'NoHealthyTargets',
    input: world({
      services: [svc('dns', { ports: [[53, 53, 'dns', 'UDP']] })],
      pods: [pod('web-1', { ip: '10.0.0.1', ports: [[53, 'dns', 'UDP']] })],
      probes: probes(['10.0.0.1', 53, 'refused']),
    }),
    expected: [],
  },
  // TargetPortMismatch
  {
    name: 'a numeric targetPort that pods declaring other ports do not declare is TargetPortMismatch',
    about: 'TargetPortMismatch',
    input: world({
      services: [svc('web', { ports: [[80, 8000, 'http']] })],
      pods: [w1],
      probes: probes(['10.0.0.1', 8000, 'open']),
    }),
    expected: [
      [
        'TargetPortMismatch',
        'web',
        'port http (80/TCP): targetPort 8000/TCP is not declared by the selected pod; it declares 8080/TCP (http)',
      ],
    ],
  },
  {
    name: 'a numeric targetPort is fine when the pods declare no ports at all',
    about: 'TargetPortMismatch',
    input: world({
      services: [web],
      pods: [pod('web-1', { ip: '10.0.0.1' })],
      probes: probes(['10.0.0.1', 8080, 'open']),
    }),
    expected: [],
  },
  {
    name: 'a named targetPort no selected pod defines is TargetPortMismatch',
    about: 'TargetPortMismatch',
    input: world({
      services: [svc('web', { ports: [[80, 'htpp', 'http']] })],
      pods: [w1, w2],
      probes: allOpen,
    }),
    expected: [
      [
        'TargetPortMismatch',
        'web',
        'port http (80/TCP): targetPort "htpp" is not a containerPort name of any of the 2 selected pods, so the Service has no target for it',
      ],
    ],
  },
  {
    name: 'a named targetPort only the new pods define is rollout skew naming the old pods',
    about: 'TargetPortMismatch',
    input: world({
      services: [svc('web', { ports: [[80, 'http', 'http']] })],
      pods: [w1, pod('web-old', { ip: '10.0.0.7', ports: [[8080, 'web']] })],
      probes: probes(['10.0.0.1', 8080, 'open']),
    }),
    expected: [
      [
        'TargetPortMismatch',
        'web',
        'port http (80/TCP): targetPort "http" is defined by 1 of 2 selected pods; web-old does not define it (rollout skew?) and gets no traffic on this port',
      ],
    ],
  },
  {
    name: 'a named targetPort resolved to different numbers on different pods is fine',
    about: 'TargetPortMismatch',
    input: world({
      services: [svc('web', { ports: [[80, 'http', 'http']] })],
      pods: [w1, pod('web-2', { ip: '10.0.0.2', ports: [[9000, 'http']] })],
      probes: probes(['10.0.0.1', 8080, 'open'], ['10.0.0.2', 9000, 'open']),
    }),
    expected: [],
  },
  // Blame the object whose change fixes it: pods that do not declare the port a Service sends to get nothing.
  {
    name: 'a numeric targetPort no pod declares is the Service’s: TargetPortMismatch and NoHealthyTargets say so, the pods get nothing',
    about: 'NoHealthyTargets',
    input: world({
      services: [orders],
      pods: [ordersPod('orders-1', '10.0.2.1'), ordersPod('orders-2', '10.0.2.2')],
      probes: probes(
        ['10.0.2.1', 8081, 'refused'],
        ['10.0.2.2', 8081, 'refused'],
        ['10.0.2.1', 8080, 'open'],
        ['10.0.2.2', 8080, 'open'],
      ),
    }),
    expected: [
      [
        'TargetPortMismatch',
        'orders',
        'port http (80/TCP): targetPort 8081/TCP is not declared by any of the 2 selected pods; they declare 8080/TCP (http)',
      ],
      [
        'NoHealthyTargets',
        'orders',
        "port http (80/TCP): all 2 ready targets fail (2 refused: orders-1, orders-2); none of the 2 pods declares 8081/TCP (they declare 8080/TCP (http)): the Service's targetPort is likely wrong",
      ],
    ],
  },
  {
    name: 'a numeric targetPort its only pod does not declare is the Service’s, in the singular',
    about: 'TargetPortMismatch',
    input: ordersAlone(),
    expected: ORDERS_ALONE,
  },
  {
    name: 'a named targetPort two old pods do not define is rollout skew, in the plural',
    about: 'TargetPortMismatch',
    input: world({
      services: [svc('web', { ports: [[80, 'http', 'http']] })],
      pods: [
        w1,
        pod('web-old-1', { ip: '10.0.0.7', ports: [[8080, 'web']] }),
        pod('web-old-2', { ip: '10.0.0.8', ports: [[8080, 'web']] }),
      ],
      probes: probes(['10.0.0.1', 8080, 'open'], ['10.0.0.7', 8080, 'open'], ['10.0.0.8', 8080, 'open']),
    }),
    expected: [
      [
        'TargetPortMismatch',
        'web',
        'port http (80/TCP): targetPort "http" is defined by 1 of 3 selected pods; web-old-1, web-old-2 do not define it (rollout skew?) and get no traffic on this port',
      ],
    ],
  },
  {
    name: 'a selector that also matches another Deployment’s pod is SelectorMatchesOtherWorkloads, naming it and the telling label',
    about: 'SelectorMatchesOtherWorkloads',
    input: backend('open', 'open', 'refused'),
    expected: [
      [
        'SelectorMatchesOtherWorkloads',
        'api',
        ALSO_MATCHES_WORKER('the 2 pods that declare 8080/TCP answer'),
      ],
    ],
  },
  {
    name: 'pods without controllers told apart by a label are another workload too, in the plural',
    about: 'SelectorMatchesOtherWorkloads',
    input: world({
      services: [api],
      pods: [
        apiPod('api-1', '10.0.3.1', { owner: undefined }),
        workerPod('worker-1', '10.0.3.8', { owner: undefined }),
        workerPod('worker-2', '10.0.3.9', { owner: undefined }),
      ],
      probes: probes(
        ['10.0.3.1', 8080, 'open'],
        ['10.0.3.8', 8080, 'refused'],
        ['10.0.3.9', 8080, 'timeout'],
      ),
    }),
    expected: [
      [
        'SelectorMatchesOtherWorkloads',
        'api',
        "port http (80/TCP): selector tier=backend also matches 2 pods of another workload (app=worker), which declare none of the Service's target ports and fail (1 refused: worker-1; 1 timeout: worker-2); the 1 pod that declares 8080/TCP answers; add app=api to the selector to leave them out",
      ],
    ],
  },
  {
    name: 'another Deployment’s pod with the same labels is still named, and the message says no label tells them apart',
    about: 'SelectorMatchesOtherWorkloads',
    input: world({
      services: [api],
      pods: [
        apiPod('api-1', '10.0.3.1'),
        workerPod('worker-1', '10.0.3.9', { labels: { tier: 'backend', app: 'api' } }),
      ],
      probes: probes(['10.0.3.1', 8080, 'open'], ['10.0.3.9', 8080, 'refused']),
    }),
    expected: [
      [
        'SelectorMatchesOtherWorkloads',
        'api',
        "port http (80/TCP): selector tier=backend also matches 1 pod of Deployment worker, which declares none of the Service's target ports and fails (1 refused: worker-1); the 1 pod that declares 8080/TCP answers; no label outside the selector tells them apart: give the serving pods one and select on it",
      ],
    ],
  },
  {
    name: 'a Deployment’s old pods that do not declare a changed numeric targetPort are its rollout, not another workload',
    about: 'SelectorMatchesOtherWorkloads',
    input: world({
      services: [api],
      pods: [
        apiPod('api-new', '10.0.3.1'),
        apiPod('api-old-1', '10.0.3.5', { ports: [[8000, 'http']] }),
        apiPod('api-old-2', '10.0.3.6', { ports: [[8000, 'http']] }),
      ],
      probes: probes(
        ['10.0.3.1', 8080, 'open'],
        ['10.0.3.5', 8080, 'refused'],
        ['10.0.3.6', 8080, 'refused'],
      ),
    }),
    expected: [
      [
        'TargetsRefusing',
        'api',
        'port http (80/TCP): 2 of 3 ready targets fail (2 refused: api-old-1, api-old-2); api-old-1, api-old-2 do not declare 8080/TCP',
      ],
    ],
  },
  {
    name: 'when pods that declare the port fail too, TargetsRefusing blames them and names the other workload',
    about: 'TargetsRefusing',
    input: backend('open', 'refused', 'refused'),
    expected: [
      [
        'TargetsRefusing',
        'api',
        'port http (80/TCP): 2 of 3 ready targets fail (2 refused: api-2, worker-1); worker-1 does not declare 8080/TCP (Deployment worker, which the selector also matches)',
      ],
      [
        'ReadyButRefusing',
        'api-2',
        'pod is Ready but port http (8080/TCP), a target of Service api, refuses on 10.0.3.2; the pod has no readiness probe',
      ],
    ],
  },
  {
    name: 'a pod that declares no ports keeps its pod-level finding: nothing says the port is not its own',
    about: 'ReadyButRefusing',
    input: world({
      services: [web],
      pods: [pod('legacy-1', { ip: '10.0.0.5' })],
      probes: probes(['10.0.0.5', 8080, 'refused']),
    }),
    expected: [
      ['NoHealthyTargets', 'web', 'port http (80/TCP): 1 ready target fails (1 refused: legacy-1)'],
      [
        'ReadyButRefusing',
        'legacy-1',
        'pod is Ready but port 8080/TCP, a target of Service web, refuses on 10.0.0.5; the pod has no readiness probe',
      ],
    ],
  },
  {
    name: 'a pod that declares the port and refuses keeps its pod-level finding, beside a pod that does not declare it',
    about: 'ReadyButRefusing',
    input: world({
      services: [orders],
      pods: [
        pod('orders-1', { ip: '10.0.2.1', labels: { app: 'orders' }, ports: [[8081, 'http']] }),
        ordersPod('orders-2', '10.0.2.2'),
      ],
      probes: probes(['10.0.2.1', 8081, 'refused'], ['10.0.2.2', 8081, 'refused']),
    }),
    expected: [
      [
        'NoHealthyTargets',
        'orders',
        'port http (80/TCP): all 2 ready targets fail (2 refused: orders-1, orders-2); orders-2 does not declare 8081/TCP',
      ],
      [
        'ReadyButRefusing',
        'orders-1',
        'pod is Ready but port http (8081/TCP), a target of Service orders, refuses on 10.0.2.1; the pod has no readiness probe',
      ],
    ],
  },
  {
    name: 'a pod that claims the Service’s port by name and refuses keeps its pod-level finding',
    about: 'ReadyButRefusing',
    input: world({
      services: [svc('web', { ports: [[80, 'http', 'http']] })],
      pods: [w1],
      probes: probes(['10.0.0.1', 8080, 'refused']),
    }),
    expected: [
      ['NoHealthyTargets', 'web', 'port http (80/TCP): 1 ready target fails (1 refused: web-1)'],
      [
        'ReadyButRefusing',
        'web-1',
        'pod is Ready but port http (8080/TCP), a target of Service web, refuses on 10.0.0.1; the pod has no readiness probe',
      ],
    ],
  },
  {
    name: 'a pod two Services send to names both, in the plural',
    about: 'ReadyButRefusing',
    input: world({
      services: [web, svc('web-internal')],
      pods: [ready('web-1', '10.0.0.1', { readiness: { kind: 'port', port: 9090 } })],
      probes: probes(['10.0.0.1', 8080, 'refused']),
    }),
    expected: [
      ['NoHealthyTargets', 'web', 'port http (80/TCP): 1 ready target fails (1 refused: web-1)'],
      ['NoHealthyTargets', 'web-internal', 'port http (80/TCP): 1 ready target fails (1 refused: web-1)'],
      [
        'ReadyButRefusing',
        'web-1',
        'pod is Ready but port http (8080/TCP), a target of Services web, web-internal, refuses on 10.0.0.1; its readiness probe checks port 9090',
      ],
    ],
  },
  // PortNotListening
  {
    name: 'a not-ready pod whose declared port refuses is PortNotListening',
    about: 'PortNotListening',
    input: world({
      pods: [pod('api-1', { ip: '10.0.1.1', ready: false, ports: [[9000, 'grpc']] })],
      probes: probes(['10.0.1.1', 9000, 'refused']),
    }),
    expected: [
      [
        'PortNotListening',
        'api-1',
        'port grpc (9000/TCP) refuses connections on 10.0.1.1: nothing listens on it',
      ],
    ],
  },
  {
    name: 'a pod that started moments ago and is not Ready yet is booting, not failing',
    about: 'PortNotListening',
    input: world({
      pods: [
        pod('api-1', {
          ip: '10.0.1.1',
          ready: false,
          ports: [[9000]],
          startTime: new Date(NOW.getTime() - 5000),
        }),
      ],
      probes: probes(['10.0.1.1', 9000, 'refused']),
    }),
    expected: [],
  },
  {
    name: 'a port open on IPv4 and refused on IPv6 says the app listens on one family',
    about: 'PortNotListening',
    input: world({
      pods: [pod('api-1', { ip: ['10.0.1.1', 'fd00::11'], ports: [[9000, 'grpc']] })],
      probes: probes(['10.0.1.1', 9000, 'open'], ['fd00::11', 9000, 'refused']),
    }),
    expected: [
      [
        'PortNotListening',
        'api-1',
        'port grpc (9000/TCP) is open on 10.0.1.1 but refuses on fd00::11: the app listens on one address family only',
      ],
    ],
  },
  // ListeningOnLoopbackOnly
  {
    name: 'a port open on loopback and refused on the pod IP is ListeningOnLoopbackOnly',
    about: 'ListeningOnLoopbackOnly',
    input: world({
      pods: [pod('api-1', { ip: '10.0.1.1', ports: [[9000, 'grpc']] })],
      probes: probes(['10.0.1.1', 9000, 'refused']),
      loopback: [loopback('api-1', 9000, 'open')],
    }),
    expected: [
      [
        'ListeningOnLoopbackOnly',
        'api-1',
        'port grpc (9000/TCP) is open on loopback but refuses on the pod IP 10.0.1.1: the app is bound to localhost',
      ],
    ],
  },
  {
    name: 'a port refused on loopback too is PortNotListening, not loopback-only',
    about: 'ListeningOnLoopbackOnly',
    input: world({
      pods: [pod('api-1', { ip: '10.0.1.1', ports: [[9000, 'grpc']] })],
      probes: probes(['10.0.1.1', 9000, 'refused']),
      loopback: [loopback('api-1', 9000, 'refused')],
    }),
    expected: [
      [
        'PortNotListening',
        'api-1',
        'port grpc (9000/TCP) refuses connections on 10.0.1.1: nothing listens on it',
      ],
    ],
  },
  // ReadyButRefusing
  {
    name: 'a Ready pod whose serving port refuses while its readiness probe runs a command is ReadyButRefusing',
    about: 'ReadyButRefusing',
    input: world({
      services: [web],
      pods: [w1, ready('web-2', '10.0.0.2', { readiness: { kind: 'exec' } })],
      probes: probes(['10.0.0.1', 8080, 'open'], ['10.0.0.2', 8080, 'refused']),
    }),
    expected: [
      ['TargetsRefusing', 'web', 'port http (80/TCP): 1 of 2 ready targets fails (1 refused: web-2)'],
      [
        'ReadyButRefusing',
        'web-2',
        'pod is Ready but port http (8080/TCP), a target of Service web, refuses on 10.0.0.2; its readiness probe runs a command, not a connection to this port',
      ],
    ],
  },
  {
    name: 'a not-ready pod refusing on its serving port is PortNotListening, not ReadyButRefusing, and not the Service',
    about: 'ReadyButRefusing',
    input: world({
      services: [web],
      pods: [w1, ready('web-2', '10.0.0.2', { ready: false })],
      probes: probes(['10.0.0.1', 8080, 'open'], ['10.0.0.2', 8080, 'refused']),
    }),
    expected: [
      [
        'PortNotListening',
        'web-2',
        'port http (8080/TCP) refuses connections on 10.0.0.2: nothing listens on it',
      ],
    ],
  },
  // ConnectTimeout
  {
    name: 'a timeout into a pod a deny-all NetworkPolicy isolates is dropped by that policy',
    about: 'ConnectTimeout',
    input: world({
      pods: [pod('api-1', { ip: '10.0.1.1', ports: [[9000, 'grpc']] })],
      networkPolicies: [denyAll('deny-all')],
      probes: probes(['10.0.1.1', 9000, 'timeout']),
    }),
    expected: [
      [
        'ConnectTimeout',
        'api-1',
        'port grpc (9000/TCP) times out on 10.0.1.1: dropped by NetworkPolicy shop/deny-all (ingress to the pod)',
      ],
    ],
  },
  {
    name: "a timeout a policy allowing sockeye's namespace on the named port does not explain points past NetworkPolicy",
    about: 'ConnectTimeout',
    input: world({
      pods: [pod('api-1', { ip: '10.0.1.1', ports: [[9000, 'grpc']] })],
      networkPolicies: [
        {
          ...denyAll('allow-sockeye'),
          ingress: [
            {
              peers: [
                {
                  namespaceSelector: {
                    matchLabels: { 'kubernetes.io/metadata.name': 'sockeye' },
                    matchExpressions: [],
                  },
                },
              ],
              ports: [{ protocol: 'TCP', port: 'grpc' }],
            },
          ],
        },
      ],
      probes: probes(['10.0.1.1', 9000, 'timeout']),
    }),
    expected: [
      [
        'ConnectTimeout',
        'api-1',
        'port grpc (9000/TCP) times out on 10.0.1.1; no NetworkPolicy explains it: look at the CNI, node firewall or security groups',
      ],
    ],
  },
  {
    name: "a timeout an egress policy on sockeye's own pod explains is dropped by that policy",
    about: 'ConnectTimeout',
    input: world({
      pods: [pod('api-1', { ip: '10.0.1.1', ports: [[9000]] })],
      networkPolicies: [{ ...denyAll('no-egress', 'sockeye'), policyTypes: ['Egress'] }],
      probes: probes(['10.0.1.1', 9000, 'timeout']),
    }),
    expected: [
      [
        'ConnectTimeout',
        'api-1',
        "port 9000/TCP times out on 10.0.1.1: dropped by NetworkPolicy sockeye/no-egress (egress from sockeye's pod)",
      ],
    ],
  },
  {
    name: 'a pod that accepts is not ConnectTimeout even when a deny-all policy selects it',
    about: 'ConnectTimeout',
    input: world({
      pods: [pod('api-1', { ip: '10.0.1.1', ports: [[9000]] })],
      networkPolicies: [denyAll('deny-all')],
      probes: probes(['10.0.1.1', 9000, 'open']),
    }),
    expected: [],
  },
  // InvalidConfiguration
  {
    name: 'a bad timeout on a Service is InvalidConfiguration and does not hide its other findings',
    about: 'InvalidConfiguration',
    input: world({
      services: [svc('web', { annotations: { 'sockeye.dev/timeout': '2 seconds' } })],
      pods: [w1, ready('web-2', '10.0.0.2', { ready: false })],
      probes: probes(['10.0.0.1', 8080, 'refused']),
    }),
    expected: [
      [
        'InvalidConfiguration',
        'web',
        'annotation sockeye.dev/timeout="2 seconds" is ignored: want a duration such as 1500ms, 2s or 1m; defaults apply',
      ],
      ['NoHealthyTargets', 'web', 'port http (80/TCP): 1 ready target fails (1 refused: web-1)'],
      [
        'ReadyButRefusing',
        'web-1',
        'pod is Ready but port http (8080/TCP), a target of Service web, refuses on 10.0.0.1; the pod has no readiness probe',
      ],
    ],
  },
  {
    name: 'an ignore-ports entry naming a port the pod does not have is InvalidConfiguration',
    about: 'InvalidConfiguration',
    input: world({
      pods: [
        pod('api-1', {
          ip: '10.0.1.1',
          ports: [[9000, 'grpc']],
          annotations: { 'sockeye.dev/ignore-ports': 'metrics' },
        }),
      ],
      probes: probes(['10.0.1.1', 9000, 'open']),
    }),
    expected: [
      [
        'InvalidConfiguration',
        'api-1',
        'annotation sockeye.dev/ignore-ports="metrics" is ignored: no port named "metrics" on this object; defaults apply',
      ],
    ],
  },
  {
    name: 'valid annotations are not InvalidConfiguration, and ignore-ports silences that port',
    about: 'InvalidConfiguration',
    input: world({
      pods: [
        pod('api-1', {
          ip: '10.0.1.1',
          ports: [
            [9000, 'grpc'],
            [9090, 'metrics'],
          ],
          annotations: {
            'sockeye.dev/ignore-ports': 'metrics',
            'sockeye.dev/timeout': '1500ms',
            'sockeye.dev/probe': 'true',
          },
        }),
      ],
      probes: probes(['10.0.1.1', 9000, 'open'], ['10.0.1.1', 9090, 'refused']),
    }),
    expected: [],
  },
  {
    name: 'a pod opted out with sockeye.dev/probe "false" yields nothing, even with a bad timeout',
    about: 'InvalidConfiguration',
    input: world({
      pods: [
        pod('api-1', {
          ip: '10.0.1.1',
          ports: [[9000]],
          annotations: { 'sockeye.dev/probe': 'false', 'sockeye.dev/timeout': 'soon' },
        }),
      ],
      probes: probes(['10.0.1.1', 9000, 'refused']),
    }),
    expected: [],
  },
  {
    name: 'a Namespace opted out silences the Services and pods in it',
    about: 'NoHealthyTargets',
    input: world({
      services: [web],
      pods: [w1],
      namespaces: [namespace('shop', {}, { 'sockeye.dev/probe': 'false' })],
      probes: probes(['10.0.0.1', 8080, 'refused']),
    }),
    expected: [],
  },
  {
    name: 'hostNetwork pods are skipped unless opted in',
    about: 'PortNotListening',
    input: world({
      pods: [pod('node-agent', { ip: '192.168.1.5', hostNetwork: true, ports: [[9100]] })],
      probes: probes(['192.168.1.5', 9100, 'refused']),
    }),
    expected: [],
  },
  {
    name: 'hostNetwork pods are judged when opted in',
    about: 'PortNotListening',
    input: world({
      pods: [pod('node-agent', { ip: '192.168.1.5', hostNetwork: true, ports: [[9100]] })],
      probes: probes(['192.168.1.5', 9100, 'refused']),
      options: { hostNetwork: true },
    }),
    expected: [
      [
        'PortNotListening',
        'node-agent',
        'port 9100/TCP refuses connections on 192.168.1.5: nothing listens on it',
      ],
    ],
  },
  // TargetsRecovered
  {
    name: 'a previous NoHealthyTargets whose port now accepts is TargetsRecovered',
    about: 'TargetsRecovered',
    input: world({
      services: [web],
      pods: [w1],
      probes: probes(['10.0.0.1', 8080, 'open']),
      previous: [warnedBefore('NoHealthyTargets', 'Service', 'web', ['http', 80])],
    }),
    expected: [['TargetsRecovered', 'web', 'NoHealthyTargets no longer holds for port http (80/TCP)']],
  },
  {
    name: 'a previous NoHealthyTargets is not recovered while the port has no probe outcome',
    about: 'TargetsRecovered',
    input: world({
      services: [web],
      pods: [w1],
      previous: [warnedBefore('NoHealthyTargets', 'Service', 'web', ['http', 80])],
    }),
    expected: [],
  },
  {
    name: 'a previous PortNotListening now explained as ReadyButRefusing is not a recovery',
    about: 'TargetsRecovered',
    input: world({
      services: [web],
      pods: [w1],
      probes: probes(['10.0.0.1', 8080, 'refused']),
      previous: [warnedBefore('PortNotListening', 'Pod', 'web-1', ['http', 8080])],
    }),
    expected: [
      ['NoHealthyTargets', 'web', 'port http (80/TCP): 1 ready target fails (1 refused: web-1)'],
      [
        'ReadyButRefusing',
        'web-1',
        'pod is Ready but port http (8080/TCP), a target of Service web, refuses on 10.0.0.1; the pod has no readiness probe',
      ],
    ],
  },
  {
    name: 'a ReadyButRefusing a pod got for a port it does not declare (before this rule) is TargetsRecovered',
    about: 'TargetsRecovered',
    input: ordersAlone([warnedBefore('ReadyButRefusing', 'Pod', 'orders-1', ['', 8081])]),
    expected: [
      ...ORDERS_ALONE,
      ['TargetsRecovered', 'orders-1', 'ReadyButRefusing no longer holds for port 8081/TCP'],
    ],
  },
  {
    name: 'a previous TargetsRefusing now explained as SelectorMatchesOtherWorkloads is not a recovery',
    about: 'TargetsRecovered',
    input: backend('open', undefined, 'refused', [
      warnedBefore('TargetsRefusing', 'Service', 'api', ['http', 80]),
    ]),
    expected: [
      [
        'SelectorMatchesOtherWorkloads',
        'api',
        ALSO_MATCHES_WORKER('the 1 pod that declares 8080/TCP answers'),
      ],
    ],
  },
  {
    name: 'a SelectorMatchesOtherWorkloads cleared by a narrower selector is TargetsRecovered on the Service',
    about: 'TargetsRecovered',
    input: world({
      services: [svc('api', { selector: { tier: 'backend', app: 'api' } })],
      pods: [apiPod('api-1', '10.0.3.1'), apiPod('api-2', '10.0.3.2'), workerPod('worker-1', '10.0.3.9')],
      probes: probes(['10.0.3.1', 8080, 'open'], ['10.0.3.2', 8080, 'open'], ['10.0.3.9', 9100, 'open']),
      previous: [warnedBefore('SelectorMatchesOtherWorkloads', 'Service', 'api', ['http', 80])],
    }),
    expected: [
      ['TargetsRecovered', 'api', 'SelectorMatchesOtherWorkloads no longer holds for port http (80/TCP)'],
    ],
  },
  {
    name: 'a previous InvalidConfiguration on a Namespace whose annotation was fixed is TargetsRecovered',
    about: 'TargetsRecovered',
    input: world({
      previous: [
        {
          reason: 'InvalidConfiguration',
          severity: 'Warning',
          object: { kind: 'Namespace', namespace: '', name: 'shop', uid: 'uid-ns-shop' },
          port: undefined,
        },
      ],
    }),
    expected: [['TargetsRecovered', 'shop', 'InvalidConfiguration no longer holds']],
  },
];

describe('evaluate', () => {
  it.each(cases)('$name', ({ input, expected }) => {
    expect(rows(evaluate(input))).toEqual(sorted(expected));
  });

  it('has a firing case and a near-miss for every reason in the catalog', () => {
    for (const reason of REASON_NAMES) {
      const about = cases.filter((c) => c.about === reason);
      expect(
        about.some((c) => c.expected.some(([r]) => r === reason)),
        `${reason} fires`,
      ).toBe(true);
      expect(
        about.some((c) => !c.expected.some(([r]) => r === reason)),
        `${reason} near-miss`,
      ).toBe(true);
    }
  });

  it('gives every finding its catalog severity, a hint naming the explain command, and no times', () => {
    const all = cases.flatMap((c) => evaluate(c.input));
    expect(all.length).toBeGreaterThan(20);
    for (const f of all) {
      expect(f.hint.endsWith(`run: sockeye explain ${f.reason}`)).toBe(true);
      expect(f.severity).toBe(f.reason === 'TargetsRecovered' ? 'Normal' : 'Warning');
      // InvalidConfiguration echoes the user's value, whatever it is; nothing else may carry a duration or date.
      if (f.reason !== 'InvalidConfiguration')
        expect(f.message).not.toMatch(/\d+(\.\d+)?\s?(ms|s)\b|\d{4}-\d{2}-\d{2}/);
    }
  });

  it.each([
    [
      'a wrong numeric targetPort: set the targetPort',
      ordersAlone(),
      'NoHealthyTargets',
      "set the Service's targetPort to the port the pods declare and listen on; run: sockeye explain NoHealthyTargets",
    ],
    [
      'a selector that also matches another workload: narrow the selector',
      backend('open', undefined, 'refused'),
      'SelectorMatchesOtherWorkloads',
      'add a label only the serving pods carry to the Service selector; run: sockeye explain SelectorMatchesOtherWorkloads',
    ],
    [
      'a readiness probe on another port: point it at the serving port',
      world({
        services: [web],
        pods: [ready('web-1', '10.0.0.1', { readiness: { kind: 'port', port: 9090 } })],
        probes: probes(['10.0.0.1', 8080, 'refused']),
      }),
      'ReadyButRefusing',
      'point the readiness probe at the serving port; run: sockeye explain ReadyButRefusing',
    ],
    [
      'a readiness probe on the serving port already: not told to point it there',
      world({
        services: [web],
        pods: [ready('web-1', '10.0.0.1', { readiness: { kind: 'port', port: 'http' } })],
        probes: probes(['10.0.0.1', 8080, 'refused']),
      }),
      'ReadyButRefusing',
      'look at why the app stopped listening (kubectl logs POD); its readiness probe will notice; run: sockeye explain ReadyButRefusing',
    ],
  ] as const)('hints at the object and change that fix it: %s', (_, input, reason, hint) => {
    expect(evaluate(input).find((f) => f.reason === reason)?.hint).toBe(hint);
  });

  it('names the pods of the other workload, not the serving ones, in SelectorMatchesOtherWorkloads evidence', () => {
    const [f] = evaluate(backend('open', 'open', 'refused'));
    expect(f?.evidence.pods).toEqual([{ namespace: 'shop', name: 'worker-1' }]);
  });

  it('names the NetworkPolicy it blames in the evidence', () => {
    const input = world({
      pods: [pod('api-1', { ip: '10.0.1.1', ports: [[9000]] })],
      networkPolicies: [denyAll('deny-all'), denyAll('other', 'shop', { app: 'other' })],
      probes: probes(['10.0.1.1', 9000, 'timeout']),
    });
    const [f] = evaluate(input);
    expect(f?.evidence.policies).toEqual(['shop/deny-all']);
    expect(f?.evidence.outcomes).toEqual([{ ip: '10.0.1.1', port: 9000, outcome: 'timeout', pod: 'api-1' }]);
  });
});

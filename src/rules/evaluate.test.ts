import { describe, expect, it } from 'vitest';
import type { Outcome } from '../probe/outcome.ts';
import { REASON_NAMES, type Reason } from './catalog.ts';
import { evaluate } from './evaluate.ts';
import { denyAll, loopback, NOW, namespace, type PodSpec, pod, probes, svc, world } from './fixtures.ts';
import type { EvaluateInput, Finding } from './types.ts';

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
const outcomes = (o1: Outcome, o2: Outcome, o3: Outcome) =>
  probes(['10.0.0.1', 8080, o1], ['10.0.0.2', 8080, o2], ['10.0.0.3', 8080, o3]);

interface Case {
  readonly name: string;
  readonly input: EvaluateInput;
  readonly expected: readonly Row[];
  /** The reason this case is about (firing or near-miss), for the coverage check below. */
  readonly about: Reason;
}

const cases: readonly Case[] = [
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
      ['NoHealthyTargets', 'web', 'port http (80/TCP): all 1 ready target fail (1 refused: web-1)'],
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
      ['TargetsRefusing', 'web', 'port http (80/TCP): 1 of 3 ready targets fail (1 refused: web-3)'],
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
        'port http (80/TCP): targetPort 8000/TCP is not declared by any selected pod; they declare 8080/TCP (http)',
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
        'port http (80/TCP): targetPort "http" is defined by 1 of 2 selected pods; web-old does not define it (rollout skew?) and get no traffic on this port',
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
      ['TargetsRefusing', 'web', 'port http (80/TCP): 1 of 2 ready targets fail (1 refused: web-2)'],
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
      ['NoHealthyTargets', 'web', 'port http (80/TCP): all 1 ready target fail (1 refused: web-1)'],
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
      previous: [
        {
          reason: 'NoHealthyTargets',
          severity: 'Warning',
          object: { kind: 'Service', namespace: 'shop', name: 'web', uid: 'uid-web' },
          port: { name: 'http', number: 80, protocol: 'TCP' },
        },
      ],
    }),
    expected: [['TargetsRecovered', 'web', 'NoHealthyTargets no longer holds for port http (80/TCP)']],
  },
  {
    name: 'a previous NoHealthyTargets is not recovered while the port has no probe outcome',
    about: 'TargetsRecovered',
    input: world({
      services: [web],
      pods: [w1],
      previous: [
        {
          reason: 'NoHealthyTargets',
          severity: 'Warning',
          object: { kind: 'Service', namespace: 'shop', name: 'web', uid: 'uid-web' },
          port: { name: 'http', number: 80, protocol: 'TCP' },
        },
      ],
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
      previous: [
        {
          reason: 'PortNotListening',
          severity: 'Warning',
          object: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'uid-web-1' },
          port: { name: 'http', number: 8080, protocol: 'TCP' },
        },
      ],
    }),
    expected: [
      ['NoHealthyTargets', 'web', 'port http (80/TCP): all 1 ready target fail (1 refused: web-1)'],
      [
        'ReadyButRefusing',
        'web-1',
        'pod is Ready but port http (8080/TCP), a target of Service web, refuses on 10.0.0.1; the pod has no readiness probe',
      ],
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

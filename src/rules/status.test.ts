import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.ts';
import { loopback, NOW, pod, probes, svc, world } from './fixtures.ts';
import {
  describeAll,
  describePod,
  describeService,
  joinCapped,
  MAX_SUMMARY_CHARS,
  type ObjectStatus,
} from './status.ts';
import type { EvaluateInput } from './types.ts';

const web = svc('web');
const w = (name: string, ip: string, extra = {}) => pod(name, { ip, ports: [[8080, 'http']], ...extra });
const pods = [w('web-1', '10.0.0.1'), w('web-2', '10.0.0.2'), w('web-7d9', '10.0.0.3')];

interface Case {
  readonly name: string;
  readonly input: EvaluateInput;
  readonly status: ObjectStatus;
  readonly summary: string;
}

const serviceCases: readonly Case[] = [
  {
    name: 'all targets open is Healthy',
    input: world({
      services: [web],
      pods,
      probes: probes(['10.0.0.1', 8080, 'open'], ['10.0.0.2', 8080, 'open'], ['10.0.0.3', 8080, 'open']),
    }),
    status: 'Healthy',
    summary: 'http: 3/3 open',
  },
  {
    name: 'one refusing target is Degraded and names the pod and port',
    input: world({
      services: [web],
      pods,
      probes: probes(['10.0.0.1', 8080, 'open'], ['10.0.0.2', 8080, 'open'], ['10.0.0.3', 8080, 'refused']),
    }),
    status: 'Degraded',
    summary: 'http: 2/3 open, 1 refused (pod web-7d9 8080)',
  },
  {
    name: 'every target failing is NoHealthyTargets',
    input: world({
      services: [web],
      pods,
      probes: probes(
        ['10.0.0.1', 8080, 'refused'],
        ['10.0.0.2', 8080, 'timeout'],
        ['10.0.0.3', 8080, 'refused'],
      ),
    }),
    status: 'NoHealthyTargets',
    summary: 'http: 0/3 open, 2 refused (pods web-1, web-7d9 8080), 1 timeout (pod web-2 8080)',
  },
  {
    name: 'a selector matching nothing is NoEndpoints with the finding as summary',
    input: world({ services: [svc('web', { selector: { app: 'nope' } })], pods }),
    status: 'NoEndpoints',
    summary: 'selector app=nope matches no pod in namespace shop',
  },
  {
    name: 'no ready endpoint is NoHealthyTargets',
    input: world({ services: [web], pods: [w('web-1', '10.0.0.1', { ready: false })] }),
    status: 'NoHealthyTargets',
    summary: '1 endpoint, none ready: web-1 not ready',
  },
  {
    name: 'a UDP port is reported as not probed and nothing probed is Unknown',
    input: world({
      services: [svc('dns', { ports: [[53, 53, 'dns', 'UDP']] })],
      pods: [pod('dns-1', { ip: '10.0.0.5' })],
    }),
    status: 'Unknown',
    summary: 'dns: not probed (UDP is not probed)',
  },
  {
    name: 'an ExternalName Service is Unknown, not probed',
    input: world({ services: [svc('ext', { type: 'ExternalName', selector: undefined })] }),
    status: 'Unknown',
    summary: 'not probed: ExternalName Service',
  },
  {
    name: 'targets without results yet are Unknown',
    input: world({ services: [web], pods }),
    status: 'Unknown',
    summary: 'http: no probe results',
  },
];

const podCases: readonly Case[] = [
  {
    name: "a Service's target the pod does not declare (beside one it does) leaves the pod Healthy",
    input: world({
      services: [svc('web', { ports: [[80, 8081, 'http']] })],
      pods: [w('web-1', '10.0.0.1')],
      probes: probes(['10.0.0.1', 8080, 'open'], ['10.0.0.1', 8081, 'refused']),
    }),
    status: 'Healthy',
    summary: 'http: open',
  },
  {
    name: "a Service's target on a pod that declares no ports is the pod's: NotListening",
    input: world({
      services: [svc('web', { ports: [[80, 8081, 'http']] })],
      pods: [pod('web-1', { ip: '10.0.0.1' })],
      probes: probes(['10.0.0.1', 8081, 'refused']),
    }),
    status: 'NotListening',
    summary: '8081: refused',
  },
  {
    name: 'an open port is Healthy',
    input: world({ pods: [w('web-1', '10.0.0.1')], probes: probes(['10.0.0.1', 8080, 'open']) }),
    status: 'Healthy',
    summary: 'http: open',
  },
  {
    name: 'a port bound to loopback is NotListening and says so',
    input: world({
      pods: [w('web-1', '10.0.0.1')],
      probes: probes(['10.0.0.1', 8080, 'refused']),
      loopback: [loopback('web-1', 8080, 'open')],
    }),
    status: 'NotListening',
    summary: 'http: refused (open on loopback)',
  },
  {
    name: 'a timeout is Degraded',
    input: world({ pods: [w('web-1', '10.0.0.1')], probes: probes(['10.0.0.1', 8080, 'timeout']) }),
    status: 'Degraded',
    summary: 'http: timeout',
  },
  {
    name: 'a dual-stack pod open on one family only lists both',
    input: world({
      pods: [pod('web-1', { ip: ['10.0.0.1', 'fd00::1'], ports: [[8080, 'http']] })],
      probes: probes(['10.0.0.1', 8080, 'open'], ['fd00::1', 8080, 'refused']),
    }),
    status: 'NotListening',
    summary: 'http: open on 10.0.0.1, refused on fd00::1',
  },
  {
    name: 'a booting pod that refuses is Unknown, not failed',
    input: world({
      pods: [w('web-1', '10.0.0.1', { ready: false, startTime: new Date(NOW.getTime() - 1000) })],
      probes: probes(['10.0.0.1', 8080, 'refused']),
    }),
    status: 'Unknown',
    summary: 'http: refused',
  },
  {
    name: 'a hostNetwork pod is Unknown, not probed',
    input: world({ pods: [pod('agent', { ip: '192.168.0.4', hostNetwork: true, ports: [[9100]] })] }),
    status: 'Unknown',
    summary: 'not probed: hostNetwork pod (opt-in)',
  },
];

describe('describeService', () => {
  it.each(serviceCases)('$name', ({ input, status, summary }) => {
    const [service] = input.services;
    if (!service) throw new Error('case without a Service');
    expect(describeService(input, service, evaluate(input))).toMatchObject({ status, summary });
  });
});

describe('describePod', () => {
  it.each(podCases)('$name', ({ input, status, summary }) => {
    const [p] = input.pods;
    if (!p) throw new Error('case without a pod');
    expect(describePod(input, p, evaluate(input))).toMatchObject({ status, summary });
  });
});

describe('describeAll', () => {
  it('describes every Service and pod of the input, agreeing with the single-object functions', () => {
    const input = serviceCases[1]?.input ?? world({});
    const findings = evaluate(input);
    const all = describeAll(input, findings);
    expect(all.map((r) => `${r.object.kind}/${r.object.name}=${r.status}`)).toEqual([
      'Service/web=Degraded',
      'Pod/web-1=Healthy',
      'Pod/web-2=Healthy',
      'Pod/web-7d9=NotListening',
    ]);
  });
});

describe('summary length', () => {
  it('keeps a Service with 400 ports under the cap, saying how many ports it left out', () => {
    const ports = Array.from({ length: 400 }, (_, i) => [8000 + i, 8000 + i, `port-${i}`] as const);
    const input = world({
      services: [svc('wide', { ports })],
      pods: [
        pod('wide-1', {
          ip: '198.18.0.9',
          labels: { app: 'web' },
          ports: ports.map(([p, , n]) => [p, n] as const),
        }),
      ],
      probes: probes(...ports.map(([p]) => ['198.18.0.9', p, 'open'] as const)),
    });
    const [service] = input.services;
    if (!service) throw new Error('no Service');
    const { summary } = describeService(input, service, evaluate(input));
    expect(summary.length).toBeLessThanOrEqual(MAX_SUMMARY_CHARS);
    expect(summary).toMatch(/^port-0: 1\/1 open; port-1: 1\/1 open; .*; … and \d+ more ports$/);
    const shown = summary.split('; ').length - 1;
    expect(summary).toContain(`… and ${400 - shown} more ports`);
  });

  it('joins everything that fits, and says "1 more port" in the singular', () => {
    expect(joinCapped(['a', 'b'], 10)).toBe('a; b');
    expect(joinCapped(['aaaa', 'bbbb', 'cccc'], 16)).toBe('aaaa; bbbb; cccc');
    expect(joinCapped(['aaaa', 'bbbb', 'cccc'], 15)).toBe('… and 3 more ports');
    expect(joinCapped(['aa', 'b'.repeat(25)], 25)).toBe('aa; … and 1 more port');
  });
});

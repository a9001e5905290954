import { describe, expect, it } from 'vitest';
import { pod, svc } from './fixtures.ts';
import { namespaceHome, podHome, sendsTo } from './shard.ts';

describe('podHome: the one Service whose shard reports a pod', () => {
  const web = pod('web-1', { ports: [[8080, 'http']] });

  it.each([
    ['selects it and has a port reaching it', svc('web'), true],
    ['selects other pods', svc('web', { selector: { app: 'db' } }), false],
    ['has no selector', svc('web', { selector: undefined }), false],
    ['is opted out', svc('web', { annotations: { 'sockeye.dev/probe': 'false' } }), false],
    ['is opted out in capitals', svc('web', { annotations: { 'sockeye.dev/probe': 'FALSE' } }), false],
    [
      'has a bad opt-out value (judged with defaults)',
      svc('web', { annotations: { 'sockeye.dev/probe': 'no' } }),
      true,
    ],
    ['is an ExternalName', svc('web', { type: 'ExternalName' }), false],
    ['names a targetPort the pod does not declare', svc('web', { ports: [[80, 'metrics', 'm']] }), false],
    ['names the declared targetPort', svc('web', { ports: [[80, 'http', 'http']] }), true],
    ['sends UDP only', svc('web', { ports: [[53, 53, 'dns', 'UDP']] }), false],
  ])('a Service that %s: sends to it = %s', (_, service, expected) => {
    expect(sendsTo(service, web)).toBe(expected);
  });

  it('is the least name of the Services sending to the pod, whatever their order', () => {
    const services = [svc('web'), svc('api'), svc('zz-metrics'), svc('aaa-db', { selector: { app: 'db' } })];
    expect(podHome(web, services)?.name).toBe('api');
    expect(podHome(web, [...services].reverse())?.name).toBe('api');
  });

  it('is none when no Service sends to the pod', () => {
    expect(podHome(web, [svc('db', { selector: { app: 'db' } })])).toBeUndefined();
    expect(podHome(web, [])).toBeUndefined();
  });
});

describe('namespaceHome', () => {
  it('is the least name of the namespace Services', () => {
    expect(namespaceHome([svc('web'), svc('api'), svc('cart')])?.name).toBe('api');
    expect(namespaceHome([])).toBeUndefined();
  });
});

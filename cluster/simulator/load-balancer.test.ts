import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ipToInt } from '../addresses.ts';
import { IngressPool, LB_HEALTH_CHECKS_ANNOTATION, lbRuleset, lbServiceOf } from './load-balancer.ts';

const service = (spec: NonNullable<V1Service['spec']>, annotations?: Record<string, string>): V1Service => ({
  metadata: { name: 'web', namespace: 'shop', ...(annotations ? { annotations } : {}) },
  spec,
});

describe('the load-balancer stand-in', () => {
  it('serves LoadBalancer Services of no other class, checking nodes as a cloud load balancer does', () => {
    const ports = [
      { port: 80, nodePort: 30080 },
      { port: 53, nodePort: 30053, protocol: 'UDP' },
    ];
    expect(lbServiceOf(service({ type: 'LoadBalancer', ports }))).toEqual({
      key: 'shop/web',
      ports: [{ port: 80, nodePort: 30080 }],
      healthCheck: { port: 10256, path: '/healthz' },
    });
    expect(
      lbServiceOf(
        service({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 31000, ports }),
      )?.healthCheck,
    ).toEqual({ port: 31000, path: '/' });
    expect(
      lbServiceOf(service({ type: 'LoadBalancer', ports }, { [LB_HEALTH_CHECKS_ANNOTATION]: 'ignore' }))
        ?.healthCheck,
    ).toBeUndefined();
    expect(lbServiceOf(service({ type: 'NodePort', ports }))).toBeUndefined();
    expect(
      lbServiceOf(service({ type: 'LoadBalancer', loadBalancerClass: 'x.dev/lb', ports })),
    ).toBeUndefined();
  });

  it('forwards round robin to the nodes in rotation, drops a port with none, refuses the rest of the pool', () => {
    const rules = lbRuleset('198.19.178.0/24', [
      {
        ip: '198.19.178.3',
        ports: [{ port: 80, nodePort: 30080 }],
        nodes: ['198.18.159.254', '198.18.175.254'],
      },
      { ip: '198.19.178.4', ports: [{ port: 443, nodePort: 30443 }], nodes: [] },
    ]);
    expect(rules).toContain(
      'ip daddr 198.19.178.3 tcp dport 80 dnat ip to numgen inc mod 2 map { 0 : 198.18.159.254 . 30080, 1 : 198.18.175.254 . 30080 }',
    );
    expect(rules).toContain('ip daddr 198.19.178.4 tcp dport 443 drop');
    expect(rules).toContain('ip daddr 198.19.178.0/24 ip protocol tcp reject with tcp reset');
    // One transaction replaces the whole table.
    expect(rules.split('\n').slice(0, 2)).toEqual(['table ip sockeye_lb', 'delete table ip sockeye_lb']);
  });

  it('hands out pool addresses, keeping the one a Service already has', () => {
    const pool = new IngressPool(ipToInt('198.19.178.3'), ipToInt('198.19.178.4'));
    expect(pool.ipOf('a/x', '198.19.178.4')).toBe('198.19.178.4');
    expect(pool.ipOf('a/y', '198.19.178.4')).toBe('198.19.178.3');
    expect(pool.ipOf('a/x')).toBe('198.19.178.4');
    expect(() => pool.ipOf('a/z')).toThrow('pool exhausted');
    // a/x is gone (deleted, or no longer a LoadBalancer): its address is free again.
    pool.retain(new Set(['a/y']));
    expect(pool.ipOf('a/z', '10.0.0.1')).toBe('198.19.178.4');
  });
});

import { describe, expect, it } from 'vitest';
import {
  AddressPool,
  clusterAddressPlan,
  clusterIPsFit,
  contains,
  intToIp,
  ipToInt,
  nodeAddresses,
  parseCidr,
  splitCidr,
} from './addresses.ts';

describe('simulator address plan', () => {
  it('round-trips IPv4 addresses through integers', () => {
    expect(intToIp(ipToInt('198.19.255.254'))).toBe('198.19.255.254');
    expect(() => ipToInt('198.18.0')).toThrow('not an IPv4 address: "198.18.0"');
  });

  it('splits a cluster range into equal node ranges', () => {
    const nodes = splitCidr(parseCidr('198.18.0.0/17'), 3);
    expect(nodes.map((n) => n.text)).toEqual(['198.18.0.0/19', '198.18.32.0/19', '198.18.64.0/19']);
    expect(contains(nodes[1]!, '198.18.63.255')).toBe(true);
    expect(contains(nodes[1]!, '198.18.64.0')).toBe(false);
  });

  it('reserves the first and last usable addresses of a node range for its link', () => {
    const plan = nodeAddresses(parseCidr('198.18.32.0/19'));
    expect(plan.hostEnd).toBe('198.18.32.1');
    expect(plan.nodeEnd).toBe('198.18.63.254');
    expect(intToIp(plan.firstPod)).toBe('198.18.32.2');
  });

  it('keeps a preferred free address and reuses released ones only when the range is exhausted', () => {
    const pool = new AddressPool(parseCidr('198.18.0.0/29'));
    expect(pool.allocate('198.18.0.4')).toBe('198.18.0.4');
    expect(pool.allocate()).toBe('198.18.0.2');
    expect(pool.allocate('198.18.0.4')).toBe('198.18.0.3');
    pool.release('198.18.0.2');
    expect(pool.allocate()).toBe('198.18.0.5');
    expect(pool.allocate()).toBe('198.18.0.2');
    expect(() => pool.allocate()).toThrow('exhausted');
  });
});

describe('IPv6 twins of simulated addresses', () => {
  it('maps 198.B.C.D into 2001:2::/48, one address per address', async () => {
    const { ipv6Twin } = await import('./addresses.ts');
    expect(ipv6Twin('198.18.32.5')).toBe('2001:2:0:20::5');
    expect(ipv6Twin('198.19.255.254')).toBe('2001:2:0:1ff::fe');
    expect(ipv6Twin('198.18.0.2')).toBe('2001:2::2');
    expect(() => ipv6Twin('10.0.0.1')).toThrow('not in 198.18.0.0/15');
  });

  it('maps a node range to one IPv6 range', async () => {
    const { ipv6TwinCidr } = await import('./addresses.ts');
    expect(ipv6TwinCidr(parseCidr('198.18.32.0/19'))).toBe('2001:2:0:20::/59');
    expect(ipv6TwinCidr(parseCidr('198.18.0.0/17'))).toBe('2001:2::/57');
    expect(ipv6TwinCidr(parseCidr('198.19.64.0/18'))).toBe('2001:2:0:140::/58');
  });
});

describe('Service ranges and load-balancer pools', () => {
  it('derives them from the pod range, disjoint for disjoint pod ranges, inside 198.18.0.0/15', () => {
    const plans = [
      '198.18.0.0/17',
      '198.18.128.0/18',
      '198.18.192.0/18',
      '198.19.0.0/18',
      '198.19.64.0/18',
    ].map((r) => clusterAddressPlan(parseCidr(r)));
    expect(plans[0]).toMatchObject({
      services: { text: '198.19.128.0/20' },
      services6: '2001:2:0:180::/112',
      lb: { pool: { text: '198.19.176.0/23' }, hostEnd: '198.19.176.1', lbEnd: '198.19.176.2' },
    });
    expect(plans[1]?.services.text).toBe('198.19.144.0/21');
    expect(plans[1]?.lb.pool.text).toBe('198.19.178.0/24');
    const blocks = plans.flatMap((p) => [p.services, p.lb.pool]);
    for (const [i, a] of blocks.entries()) {
      expect(contains(parseCidr('198.19.128.0/18'), intToIp(a.base + a.size - 1))).toBe(true);
      for (const b of blocks.slice(i + 1))
        expect(a.base + a.size <= b.base || b.base + b.size <= a.base).toBe(true);
    }
    expect(new Set(plans.map((p) => p.services6)).size).toBe(plans.length);
  });

  it('gives a /18 of pods room for 2,045 Services and a /17 for 4,093', () => {
    expect(clusterIPsFit('198.18.128.0/18')).toBe(2045);
    expect(clusterIPsFit('198.18.0.0/17')).toBe(4093);
  });

  it('refuses pod ranges in the derived quarter or too small to derive from', () => {
    expect(() => clusterAddressPlan(parseCidr('198.19.128.0/18'))).toThrow(
      'must lie in 198.18.0.0-198.19.127.255',
    );
    expect(() => clusterAddressPlan(parseCidr('198.18.0.0/22'))).toThrow('use a /21 or wider');
  });
});

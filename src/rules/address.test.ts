import { describe, expect, it } from 'vitest';
import { cidrContains, forbiddenAddress, parseIP } from './address.ts';

describe('forbiddenAddress', () => {
  it.each([
    ['10.0.0.1', undefined],
    ['192.168.1.5', undefined],
    ['fd00::1', undefined],
    ['2001:db8::1', undefined],
    ['0.0.0.0', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['169.254.169.254', 'link-local (cloud metadata lives here)'],
    ['100.100.100.200', 'cloud metadata'],
    ['100.100.100.201', undefined],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved or broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['fd00:ec2:0:0:0:0:0:254', 'cloud metadata'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local (cloud metadata lives here)'],
    ['web.example.com', 'not an IP address'],
    ['10.0.0.256', 'not an IP address'],
    ['1::2::3', 'not an IP address'],
  ])('%s is %s', (ip, why) => {
    expect(forbiddenAddress(ip)).toBe(why);
  });
});

describe('cidrContains', () => {
  it.each([
    ['10.0.0.0/8', '10.1.2.3', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.1.0/25', '10.0.1.127', true],
    ['10.0.1.0/25', '10.0.1.128', false],
    ['fd00::/8', 'fd12::1', true],
    ['fd00::/8', '10.0.0.1', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['10.0.0.0/33', '10.0.0.1', false],
  ])('%s contains %s: %s', (cidr, ip, expected) => {
    expect(cidrContains(cidr, ip)).toBe(expected);
  });

  it('parses an IPv6 address with an embedded IPv4 tail', () => {
    expect(parseIP('::ffff:10.0.0.1')?.bytes).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 0, 0, 1]);
  });
});

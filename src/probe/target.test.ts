import { describe, expect, it } from 'vitest';
import { formatAddress, parseTarget } from './target.ts';

describe('parseTarget', () => {
  it.each([
    ['127.0.0.1:80', '127.0.0.1', 80, 4],
    ['[::1]:8080', '::1', 8080, 6],
    ['[fe80::1%eth0]:22', 'fe80::1%eth0', 22, 6],
    ['web.default.svc.cluster.local:443', 'web.default.svc.cluster.local', 443, 0],
    ['localhost:65535', 'localhost', 65535, 0],
    ['  10.0.0.1:1 ', '10.0.0.1', 1, 4],
  ] as const)('reads %s', (input, host, port, family) => {
    const parsed = parseTarget(input);
    expect(parsed).toMatchObject({ kind: 'target', target: { host, port, family } });
  });

  it.each([
    ['foo', 'missing :PORT'],
    ['1.2.3.4:99999', 'outside 1-65535'],
    ['1.2.3.4:0', 'outside 1-65535'],
    ['[::1', 'missing "]"'],
    ['[::1]', 'missing :PORT'],
    ['[::1]:', 'missing :PORT'],
    ['::1:80', 'needs brackets'],
    ['host:http', 'not a number'],
    [':80', 'missing host'],
    ['1.2.3.4:', 'missing port'],
    ['[example.com]:80', 'not an IPv6 address'],
    ['bad_host!:80', 'not an IP address or host name'],
    ['', 'empty target'],
  ])('rejects %j: %s', (input, reason) => {
    const parsed = parseTarget(input);
    expect(parsed.kind).toBe('invalid');
    if (parsed.kind === 'invalid') expect(parsed.reason).toContain(reason);
  });
});

describe('formatAddress', () => {
  it('brackets IPv6 only', () => {
    expect(formatAddress('::1', 80)).toBe('[::1]:80');
    expect(formatAddress('127.0.0.1', 80)).toBe('127.0.0.1:80');
  });
});

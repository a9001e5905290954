import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { selfSignedCert } from './tls.ts';

describe('selfSignedCert', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const { cert, key } = selfSignedCert({
    commonName: 'sockeye-operator-0',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    now,
    validDays: 30,
  });
  const x509 = new X509Certificate(cert);

  it('is self-signed by the key it comes with', () => {
    expect(x509.subject).toBe('CN=sockeye-operator-0');
    expect(x509.issuer).toBe(x509.subject);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.checkPrivateKey(createPrivateKey(key))).toBe(true);
    expect(x509.ca).toBe(false);
  });

  it('names the pod, localhost and the loopback addresses', () => {
    expect(x509.checkHost('sockeye-operator-0')).toBe('sockeye-operator-0');
    expect(x509.checkHost('localhost')).toBe('localhost');
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x509.checkIP('::1')).toBe('::1');
    expect(x509.checkHost('example.com')).toBeUndefined();
  });

  it('is valid from an hour before now for the days asked', () => {
    expect(new Date(x509.validFrom).toISOString()).toBe('2026-03-01T11:00:00.000Z');
    expect(new Date(x509.validTo).toISOString()).toBe('2026-03-31T12:00:00.000Z');
  });

  it('gets a new key each time', () => {
    expect(selfSignedCert({ commonName: 'a' }).key).not.toBe(key);
  });
});

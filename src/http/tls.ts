/**
 * The serving certificate of the metrics listener: self-signed, made at start-up and kept in memory
 * only, as controller-runtime does when no certificate is given. Nothing to mount, rotate or leak from
 * a Secret; clients that scrape it (Prometheus) skip verification or pin nothing, and what protects
 * the data is the bearer token check, not the certificate. The key pair comes from node:crypto; the
 * X.509 encoding and signature from node-forge (node:crypto cannot issue certificates).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface ServingCert {
  readonly cert: string;
  readonly key: string;
}

export interface SelfSignedOptions {
  /** Subject CN and the first DNS name. */
  readonly commonName: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly now?: Date;
  readonly validDays?: number;
}

/** A fresh RSA-2048 key and a self-signed certificate for serverAuth on the given names. */
export function selfSignedCert(options: SelfSignedOptions): ServingCert {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  // A positive 16-byte serial (the top bit clear: DER integers are signed).
  cert.serialNumber = `0${randomBytes(16).toString('hex').slice(1)}`;
  const now = options.now ?? new Date();
  // An hour of slack for clients whose clock is behind.
  cert.validity.notBefore = new Date(now.getTime() - 3_600_000);
  cert.validity.notAfter = new Date(now.getTime() + (options.validDays ?? 365) * 86_400_000);
  const subject = [{ name: 'commonName', value: options.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const dns = [...new Set([options.commonName, ...(options.dnsNames ?? [])])];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...dns.map((value) => ({ type: 2, value })),
        ...(options.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
      ],
    },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

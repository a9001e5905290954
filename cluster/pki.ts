import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.ts';

export interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
}

/**
 * A throw-away PKI for one local cluster, made with the openssl CLI: a CA, the API server's
 * serving certificate for localhost/127.0.0.1, an admin client certificate (O=system:masters, so
 * RBAC lets it do anything) and the service-account signing key pair.
 */
export async function makePki(dir: string, extraIPs: readonly string[] = []): Promise<Pki> {
  const p = (name: string) => join(dir, name);
  const pki: Pki = {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('apiserver.crt'),
    serverKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
  };
  const days = '3650';
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    pki.caKey,
    '-out',
    pki.caCert,
    '-days',
    days,
    '-subj',
    '/CN=sockeye-local-ca',
  ]);
  await signedCert(pki, pki.serverKey, pki.serverCert, '/CN=kube-apiserver', [
    `subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:::1${extraIPs.map((ip) => `,IP:${ip}`).join('')}`,
    'extendedKeyUsage=serverAuth',
  ]);
  await signedCert(pki, pki.adminKey, pki.adminCert, '/O=system:masters/CN=sockeye-admin', [
    'extendedKeyUsage=clientAuth',
  ]);
  await run('openssl', ['genrsa', '-out', pki.serviceAccountKey, '2048']);
  await run('openssl', ['rsa', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub]);
  return pki;
}

/** A client certificate for `user` in `groups`, signed by the cluster CA (for RBAC tests). */
export async function makeClientCert(
  pki: Pki,
  dir: string,
  user: string,
  groups: readonly string[] = [],
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${user}.crt`);
  const key = join(dir, `${user}.key`);
  const subject = `${groups.map((g) => `/O=${g}`).join('')}/CN=${user}`;
  await signedCert(pki, key, cert, subject, ['extendedKeyUsage=clientAuth']);
  return { cert, key };
}

async function signedCert(
  pki: Pki,
  keyFile: string,
  certFile: string,
  subject: string,
  extensions: readonly string[],
): Promise<void> {
  const csr = `${certFile}.csr`;
  const ext = `${certFile}.ext`;
  await writeFile(
    ext,
    `${['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature,keyEncipherment', ...extensions].join('\n')}\n`,
  );
  await run('openssl', [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    csr,
    '-subj',
    subject,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    pki.caCert,
    '-CAkey',
    pki.caKey,
    '-CAcreateserial',
    '-out',
    certFile,
    '-days',
    '3650',
    '-extfile',
    ext,
  ]);
}

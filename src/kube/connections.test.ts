import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, RequestContext } from '@kubernetes/client-node';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { shareConnections } from './connections.ts';

const CA = `-----BEGIN CERTIFICATE-----
MIIBdzCCAR2gAwIBAgIUJ0iRx6W6Yv1mOyhtj7z4bS0rH3EwCgYIKoZIzj0EAwIw
-----END CERTIFICATE-----`;

function kubeconfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from(CA).toString('base64') }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function authenticated(kc: KubeConfig): Promise<RequestContext> {
  const context = new RequestContext('https://127.0.0.1:6443/api', 'GET' as never);
  await kc.applySecurityAuthentication(context);
  return context;
}

async function dispatcherOf(kc: KubeConfig): Promise<unknown> {
  return (await authenticated(kc)).getDispatcher();
}

describe('shared API connections', () => {
  it('gives every request of one cluster and user the same dispatcher', async () => {
    const kc = shareConnections(kubeconfig());
    const first = await dispatcherOf(kc);
    expect(first).toBeDefined();
    expect(await dispatcherOf(kc)).toBe(first);
  });

  // Its PING interval shows in test/operator/faults-apiserver.test.ts (a frozen connection is dropped).
  it('builds an undici Agent for a direct connection, also where client-node would use the global dispatcher (system CAs)', async () => {
    expect(await dispatcherOf(shareConnections(kubeconfig()))).toBeInstanceOf(Agent);
    const systemCAs = new KubeConfig();
    systemCAs.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443' }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    expect(await dispatcherOf(systemCAs)).toBeUndefined();
    expect(await dispatcherOf(shareConnections(systemCAs))).toBeInstanceOf(Agent);
  });

  it('reads the certificate files once per cluster and user, and still sends each request its headers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sockeye-connections-'));
    try {
      const caFile = join(dir, 'ca.crt');
      writeFileSync(caFile, CA);
      const options = {
        clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caFile }],
        users: [{ name: 'u', token: 't', impersonateUser: 'someone' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      };
      const shared = new KubeConfig();
      shared.loadFromOptions(options);
      shareConnections(shared);
      const plain = new KubeConfig();
      plain.loadFromOptions(options);
      const first = await authenticated(shared);
      await authenticated(plain);
      // Gone after the first request: client-node alone fails every later request reading it.
      rmSync(caFile);
      await expect(authenticated(plain)).rejects.toThrow(/ENOENT/);
      const second = await authenticated(shared);
      expect(second.getDispatcher()).toBe(first.getDispatcher());
      for (const context of [first, second])
        expect(context.getHeaders()).toMatchObject({
          Authorization: 'Bearer t',
          'Impersonate-User': 'someone',
        });
      // Callers that build their TLS options per request (the sidecar's) still read the files each
      // time, and keep the headers they set.
      const opts: { headers?: Record<string, string>; ca?: unknown } = {
        headers: { accept: 'application/json' },
      };
      await expect(shared.applyToHTTPSOptions(opts as never)).rejects.toThrow(/ENOENT/);
      writeFileSync(caFile, CA);
      await shared.applyToHTTPSOptions(opts as never);
      expect(opts.headers).toMatchObject({ accept: 'application/json', 'Impersonate-User': 'someone' });
      expect(String(opts.ca)).toBe(CA);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is needed: without it client-node builds a dispatcher per request', async () => {
    const kc = kubeconfig();
    expect(await dispatcherOf(kc)).not.toBe(await dispatcherOf(kc));
  });
});

import { Registry } from 'prom-client';
import { Agent, fetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenReviewer } from '../../src/http/authz.ts';
import { fallbackHost } from '../../src/http/listen.ts';
import { type OperatorHttp, serveOperatorHttp } from '../../src/http/serve.ts';
import { logger } from '../../src/log.ts';

/** Trusts the self-signed certificate: the test checks authentication, not the chain. */
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

const registry = new Registry();
registry.setDefaultLabels({});
const deps = {
  ready: () => true,
  registry,
  findings: () => ({ leading: true, findings: [{ reason: 'NoHealthyTargets' }] }),
  logger: logger.child({ test: 'operator-http' }),
};

/** Tokens: `reader` may get both paths, `nobody` is authenticated but granted nothing. */
const reviewer: TokenReviewer = {
  async reviewToken(token) {
    return ['reader', 'nobody'].includes(token)
      ? { authenticated: true, user: { username: `system:serviceaccount:test:${token}` } }
      : { authenticated: false };
  },
  async reviewAccess(user) {
    return { allowed: user.username.endsWith(':reader') };
  },
};

let served: OperatorHttp | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

/** Serves with the fake reviewer; closed after each test. */
async function serve(host: string, metrics: { secure: boolean; port: number | undefined }) {
  served = await serveOperatorHttp({
    host,
    port: 0,
    metrics,
    deps,
    reviewer: () => reviewer,
    serverName: 'sockeye-test',
  });
  return served;
}

async function get(url: string, token?: string): Promise<number> {
  const res = await fetch(url, {
    dispatcher: insecure,
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('the operator listeners', () => {
  it('serve health open in plain HTTP, and metrics over HTTPS to RBAC-allowed tokens only', async () => {
    served = await serve('127.0.0.1', { secure: true, port: 0 });
    const health = `http://127.0.0.1:${served.port}`;
    const metrics = `https://127.0.0.1:${served.metricsPort}`;
    expect(served.metricsPort).not.toBe(served.port);
    expect(await get(`${health}/healthz`)).toBe(200);
    expect(await get(`${health}/readyz`)).toBe(200);
    // The health listener has no metrics, and the metrics listener no health.
    expect(await get(`${health}/metrics`)).toBe(404);
    expect(await get(`${metrics}/healthz`, 'reader')).toBe(404);
    for (const path of ['/metrics', '/sockeye/v1/findings']) {
      expect(await get(`${metrics}${path}`), path).toBe(401);
      expect(await get(`${metrics}${path}`, 'forged'), path).toBe(401);
      expect(await get(`${metrics}${path}`, 'nobody'), path).toBe(403);
      expect(await get(`${metrics}${path}`, 'reader'), path).toBe(200);
    }
    const denied = await fetch(`${metrics}/metrics`, { dispatcher: insecure });
    expect(denied.headers.get('www-authenticate')).toBe('Bearer');
    // Plain HTTP is not answered on the TLS port.
    await expect(fetch(`http://127.0.0.1:${served.metricsPort}/metrics`)).rejects.toThrow();
  });

  it('serve everything on one plain listener with --no-metrics-secure and no metrics port', async () => {
    served = await serve('127.0.0.1', { secure: false, port: undefined });
    expect(served.metricsPort).toBe(served.port);
    const res = await fetch(`http://127.0.0.1:${served.port}/sockeye/v1/findings`);
    expect(await res.json()).toEqual(deps.findings());
  });

  it('listen on both address families on ::', async () => {
    served = await serve('::', { secure: true, port: 0 });
    expect(await get(`http://127.0.0.1:${served.port}/healthz`)).toBe(200);
    expect(await get(`https://127.0.0.1:${served.metricsPort}/metrics`, 'reader')).toBe(200);
    expect(await get(`http://[::1]:${served.port}/healthz`)).toBe(200);
    expect(await get(`https://[::1]:${served.metricsPort}/metrics`, 'reader')).toBe(200);
  });
});

describe('fallbackHost', () => {
  it.each([
    ['::', 'EAFNOSUPPORT', '0.0.0.0'],
    ['::', 'EADDRNOTAVAIL', '0.0.0.0'],
    ['::', 'EADDRINUSE', undefined],
    ['127.0.0.1', 'EAFNOSUPPORT', undefined],
  ])('%s after %s → %s', (host, code, fallback) => {
    expect(fallbackHost(host, Object.assign(new Error(code), { code }))).toBe(fallback);
  });
});

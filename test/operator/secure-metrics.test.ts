import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINDINGS_PATH } from '../../src/http/app.ts';
import type { Operator } from '../../src/operator/operator.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { startOperator } from './support.ts';

/** The self-signed serving certificate is not what this test checks: the token and RBAC are. */
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

/**
 * The operator's /metrics and /sockeye/v1/findings as a real API server judges their callers: tokens
 * from the TokenRequest API, a TokenReview of each, and a SubjectAccessReview against a ClusterRole
 * with nonResourceURLs, as Prometheus's ServiceAccount gets from the chart's metrics-reader role.
 */
describe('sockeye operator: secure metrics serving', () => {
  let kube: TestKube;
  let operator: Operator | undefined;
  const ns = uniqueNamespace('op-authz');
  const role = `${ns}-metrics-reader`;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    await applyYaml(
      kube,
      `
apiVersion: v1
kind: ServiceAccount
metadata: {name: prometheus, namespace: ${ns}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: stranger, namespace: ${ns}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ${role}}
rules: [{nonResourceURLs: [/metrics], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ${role}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${role}}
subjects: [{kind: ServiceAccount, name: prometheus, namespace: ${ns}}]
`,
    );
    for (const name of ['prometheus', 'stranger']) {
      const request = await kube.core.createNamespacedServiceAccountToken({
        name,
        namespace: ns,
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      });
      tokens[name] = request.status?.token ?? '';
    }
    operator = await startOperator([ns], { argv: ['--metrics-secure', '--metrics-port=0'] });
  });

  afterAll(async () => {
    await operator?.stop();
    const rbac = kube?.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac?.deleteClusterRoleBinding({ name: role }).catch(() => undefined);
    await rbac?.deleteClusterRole({ name: role }).catch(() => undefined);
    if (kube) await deleteNamespace(kube, ns);
  });

  const get = async (path: string, token?: string) => {
    const res = await fetch(`https://127.0.0.1:${operator?.metricsPort}${path}`, {
      dispatcher: insecure,
      ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
    });
    return { status: res.status, body: await res.text() };
  };

  it('gives /metrics to a token whose ClusterRole grants get on it, and 401/403 to the others', async () => {
    const allowed = await get('/metrics', tokens.prometheus);
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatch(/^# HELP sockeye_/m);
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', 'not-a-token')).status).toBe(401);
    const forbidden = await get('/metrics', tokens.stranger);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toContain(`system:serviceaccount:${ns}:stranger may not get /metrics`);
  });

  it('authorizes each path: the grant on /metrics does not open the findings', async () => {
    expect((await get(FINDINGS_PATH, tokens.prometheus)).status).toBe(403);
  });

  it('keeps the findings out of what the default roles give every authenticated user', async () => {
    // system:discovery grants get on /api/* to system:authenticated: the findings were there once.
    expect((await get(FINDINGS_PATH, tokens.stranger)).status).toBe(403);
    expect((await get('/api/v1/findings', tokens.stranger)).status).toBe(404);
  });

  it('keeps the health port open and plain', async () => {
    expect(operator?.port).not.toBe(operator?.metricsPort);
    expect((await fetch(`http://127.0.0.1:${operator?.port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${operator?.port}/metrics`)).status).toBe(404);
  });
});

import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { corePatcher, type Patcher } from '../../src/operator/annotation-patch.ts';
import type { Operator } from '../../src/operator/operator.ts';
import { type Dialer, defaultDialer } from '../../src/probe/dialer.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { annotationsWhen, listEvents, podIPs, startOperator } from './support.ts';

const pod = (name: string, app: string, listen?: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${app}}${listen ? `, annotations: {sim.sockeye.dev/listen: "${listen}"}` : ''}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
`;
const service = (name: string) => `
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {selector: {app: ${name}}, ports: [{name: http, port: 80, targetPort: 8080}]}
`;

const status = (code: number, reason: string) =>
  new ApiException(code, reason, JSON.stringify({ kind: 'Status', code, reason, message: reason }), {
    ...(code === 429 ? { 'retry-after': '1' } : {}),
  });

describe('sockeye operator: faults', () => {
  let kube: TestKube;
  let operator: Operator | undefined;
  const ns = uniqueNamespace('op-faults');
  /** Patch attempts per object, and the failures still to inject (in order) for the `retry` Service. */
  const attempts = new Map<string, number>();
  const failures = [status(409, 'Conflict'), status(429, 'TooManyRequests'), status(500, 'InternalError')];
  let doomedIP = '';
  let deletedMidProbe = false;

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    await applyYaml(
      kube,
      [
        service('retry'),
        pod('retry-1', 'retry', '8080'),
        service('churn'),
        pod('churn-ok', 'churn', '8080'),
        pod('churn-doomed', 'churn'),
      ].join('---'),
      ns,
    );
    doomedIP = (await podIPs(kube, ns, 3))['churn-doomed'] ?? '';
    const kc = new KubeConfig();
    kc.loadFromFile(inject('kubeconfig'));
    const real = corePatcher(kc.makeApiClient(CoreV1Api));
    const patcher: Patcher = {
      async patch(kind, namespace, name, annotations) {
        attempts.set(`${kind}/${name}`, (attempts.get(`${kind}/${name}`) ?? 0) + 1);
        const failure = kind === 'Service' && name === 'retry' ? failures.shift() : undefined;
        if (failure) throw failure;
        await real.patch(kind, namespace, name, annotations);
      },
    };
    // The first dial to the doomed pod deletes it and completes only once the operator's cache has
    // seen it go: the probe result is about a pod that no longer exists.
    const dialer: Dialer = {
      name: 'deleting',
      dial(ip, port, done) {
        if (ip !== doomedIP || deletedMidProbe) return defaultDialer.dial(ip, port, done);
        deletedMidProbe = true;
        let aborted = false;
        void (async () => {
          await kube.core.deleteNamespacedPod({ name: 'churn-doomed', namespace: ns, gracePeriodSeconds: 0 });
          await eventually('the operator to see the pod deleted', async () =>
            operator?.cache.get('Pod', ns, 'churn-doomed') === undefined ? true : undefined,
          );
          if (!aborted) done({ kind: 'failed', errno: 'ECONNREFUSED', message: 'refused' });
        })();
        return {
          abort() {
            aborted = true;
          },
        };
      },
    };
    operator = await startOperator([ns], { patcher, dialer, argv: ['--confirmations=1'] });
  });

  afterAll(async () => {
    await operator?.stop(2000);
    if (kube) await deleteNamespace(kube, ns);
  });

  it('retries 409, 429 and 500 on annotation writes with backoff, then converges', async () => {
    await annotationsWhen(kube, 'Service', ns, 'retry', 'Healthy');
    expect(failures).toEqual([]);
    // Three failures, one success; later cycles write nothing: no hot loop.
    await annotationsWhen(kube, 'Service', ns, 'churn', 'Healthy');
    expect(attempts.get('Service/retry')).toBe(4);
    const text = await (await fetch(`http://127.0.0.1:${operator?.port}/metrics`)).text();
    expect(text).toMatch(/sockeye_workqueue_retries_total \d+/);
    expect(text).toContain('sockeye_api_writes_total{kind="patch",result="error"} 3');
  });

  it('a pod deleted mid-probe is not reported: the Service is judged again on fresh state', async () => {
    const a = await annotationsWhen(kube, 'Service', ns, 'churn', 'Healthy');
    expect(deletedMidProbe).toBe(true);
    expect(a['sockeye.dev/summary']).toBe('http: 1/1 open');
    const about = (await listEvents(kube, ns)).filter(
      (e) => e.regarding?.name === 'churn' || e.regarding?.name === 'churn-doomed',
    );
    expect(about.map((e) => e.reason)).toEqual([]);
  });
});

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';

const exec = promisify(execFile);
const cli = new URL('../../cluster/cli.ts', import.meta.url).pathname;

const scenario = `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels: {app: web}
  annotations: {sim.sockeye.dev/listen: "8080"}
spec:
  containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]
`;

/** The pod's IP once the Service's EndpointSlice lists it ready (the controller that always runs). */
async function readyInSlice(kube: TestKube, namespace: string): Promise<string> {
  return eventually('the EndpointSlice of web to list web-1 ready', async () => {
    const slices = await kube.discovery.listNamespacedEndpointSlice({
      namespace,
      labelSelector: 'kubernetes.io/service-name=web',
    });
    const ready = slices.items
      .flatMap((s) => s.endpoints ?? [])
      .find((e) => e.targetRef?.name === 'web-1' && e.conditions?.ready === true);
    return ready?.addresses[0];
  });
}

/** Whether the Service `web` has v1 Endpoints, and the addresses they list. */
async function v1Endpoints(kube: TestKube, namespace: string): Promise<string[] | 'none'> {
  const list = await kube.core.listNamespacedEndpoints({ namespace });
  const web = list.items.find((e) => e.metadata?.name === 'web');
  if (!web) return 'none';
  return (web.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
}

describe('the local cluster and v1 Endpoints (cluster/local.ts endpointsController)', () => {
  let dir = '';
  const run = (...args: string[]) =>
    exec(process.execPath, [cli, ...args, '--dir', dir], { timeout: 300_000 });
  afterAll(async () => {
    if (!dir) return;
    await run('down').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(inject('localCluster') === null)(
    'runs without the endpoints controller by default: a Service gets EndpointSlices, no v1 Endpoints',
    async () => {
      const kube = testKube();
      const ns = uniqueNamespace('no-endpoints');
      await createNamespace(kube, ns);
      try {
        await applyYaml(kube, scenario, ns);
        await readyInSlice(kube, ns);
        // The endpoints controller, where it runs, writes as soon as the slice controller does; a
        // little longer still leaves room for it to lag.
        await new Promise((r) => setTimeout(r, 3000));
        expect(await v1Endpoints(kube, ns)).toBe('none');
      } finally {
        await deleteNamespace(kube, ns);
      }
    },
  );

  it('with `npm run cluster -- up --endpoints-controller`, a Service gets v1 Endpoints listing its ready pod', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sockeye-endpoints-'));
    const up = await run('up', '--cidr', 'auto', '--nodes', '1', '--no-kube-proxy', '--endpoints-controller');
    const kubeconfig = (up.stdout.trim().split('\n').at(-1) ?? '').replace('export KUBECONFIG=', '');
    const kube = testKube(kubeconfig);
    const ns = uniqueNamespace('endpoints');
    await createNamespace(kube, ns);
    await applyYaml(kube, scenario, ns);
    const ip = await readyInSlice(kube, ns);
    const listed = await eventually('v1 Endpoints of web to list web-1', async () => {
      const eps = await v1Endpoints(kube, ns);
      return eps !== 'none' && eps.includes(ip) ? eps : undefined;
    });
    expect(listed).toEqual([ip]);
  }, 400_000);
});

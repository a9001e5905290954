import { execFile } from 'node:child_process';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { binaryPath } from '../../cluster/binaries.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { parseObjects, renderChart, VAP_API } from './helm.ts';

/**
 * The chart's ValidatingAdmissionPolicy on the local API server (v1.36): the operator's
 * ServiceAccount, impersonated with kubectl --as and granted patch on Services and Pods by a Role, may
 * change sockeye.dev/ annotations and nothing else, on either.
 */
describe('charts/sockeye: the admission policy fencing the operator', () => {
  let kube: TestKube;
  const ns = uniqueNamespace('sockeye-vap');
  // A release name with "sockeye" in it: the chart's fullname, ServiceAccount and policy are that name.
  const release = ns;
  const asOperator = `system:serviceaccount:${ns}:${release}`;
  const cleanup: KubernetesObject[] = [];

  const kubectl = (args: readonly string[]) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        binaryPath('kubectl'),
        ['--kubeconfig', inject('kubeconfig'), ...args],
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }),
      );
    });
  const patchAsOperator = (kind: string, name: string, patch: unknown) =>
    kubectl([
      '-n',
      ns,
      'patch',
      kind,
      name,
      '--type=merge',
      '-p',
      JSON.stringify(patch),
      `--as=${asOperator}`,
    ]);

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    const objects = parseObjects(await renderChart({ release, namespace: ns, apiVersions: [VAP_API] }));
    for (const obj of objects.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))) {
      cleanup.push(await kube.objects.create(obj as KubernetesObject));
    }
    expect(cleanup.map((o) => o.kind)).toEqual([
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]);
    await applyYaml(
      kube,
      `
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${release}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: patch-services}
rules: [{apiGroups: [""], resources: [services, pods], verbs: [get, patch, create, delete]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: patch-services}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: patch-services}
subjects: [{kind: ServiceAccount, name: ${release}, namespace: ${ns}}]
---
apiVersion: v1
kind: Service
metadata: {name: warm-up}
spec: {selector: {app: warm-up}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}, annotations: {team: shop}}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, labels: {app: web}, annotations: {team: shop}}
spec: {containers: [{name: app, image: example.com/web:1}]}
`,
      ns,
    );
    // The policy takes effect once the API server has compiled it: wait for the first denial, on a
    // Service of its own (a change let through before then must not touch `web`).
    await eventually(
      'the policy to deny a label change',
      async () => {
        const patch = { metadata: { labels: { try: String(Date.now()) } } };
        return (await patchAsOperator('service', 'warm-up', patch)).code ? true : undefined;
      },
      30_000,
    );
  });

  afterAll(async () => {
    for (const obj of cleanup.reverse()) await kube?.objects.delete(obj).catch(() => undefined);
    if (kube) await deleteNamespace(kube, ns);
  });

  const svcWeb = ['service', 'web'] as const;
  const podWeb = ['pod', 'web-0'] as const;
  it.each([
    [...svcWeb, 'a label', { metadata: { labels: { app: 'other' } } }],
    [...svcWeb, 'a port', { spec: { ports: [{ name: 'http', port: 81, targetPort: 8080 }] } }],
    [...svcWeb, 'the selector', { spec: { selector: { app: 'db' } } }],
    [...svcWeb, 'an annotation outside sockeye.dev/', { metadata: { annotations: { team: 'payments' } } }],
    [
      ...svcWeb,
      'a new annotation outside sockeye.dev/',
      { metadata: { annotations: { 'example.com/x': 'y' } } },
    ],
    [...svcWeb, 'removing an annotation outside sockeye.dev/', { metadata: { annotations: { team: null } } }],
    [...svcWeb, 'a finalizer', { metadata: { finalizers: ['example.com/hold'] } }],
    [...podWeb, 'a label', { metadata: { labels: { app: 'other' } } }],
    [...podWeb, 'an annotation outside sockeye.dev/', { metadata: { annotations: { team: 'payments' } } }],
    [...podWeb, 'the image', { spec: { containers: [{ name: 'app', image: 'example.com/web:2' }] } }],
  ])('denies the operator changing %s %s: %s', async (kind, name, _what, patch) => {
    const result = await patchAsOperator(kind, name, patch);
    expect(result.code).toBe(1);
    expect(result.out).toContain(
      `${asOperator} may change only sockeye.dev/ annotations on Pods and Services`,
    );
  });

  // Each value is read back from the object: written, changed, removed (null).
  it.each([
    ['Service', 'web', ['NoHealthyTargets', 'Healthy', null], { selector: { app: 'web' } }],
    ['Pod', 'web-0', ['Refusing', null], { containers: [{ image: 'example.com/web:1' }] }],
  ] as const)(
    'lets the operator write, change and remove its sockeye.dev/ annotations on a %s',
    async (kind, name, values, spec) => {
      const read = async () =>
        kind === 'Service'
          ? await kube.core.readNamespacedService({ name, namespace: ns })
          : await kube.core.readNamespacedPod({ name, namespace: ns });
      for (const value of values) {
        const result = await patchAsOperator(kind.toLowerCase(), name, {
          metadata: { annotations: { 'sockeye.dev/status': value } },
        });
        expect(result, result.out).toMatchObject({ code: 0 });
        expect((await read()).metadata?.annotations?.['sockeye.dev/status']).toBe(value ?? undefined);
      }
      const object = await read();
      expect(object.metadata?.labels).toEqual({ app: 'web' });
      expect(object.metadata?.annotations).toEqual({ team: 'shop' });
      // Nor did the writes touch the spec.
      expect(object.spec).toMatchObject(spec);
    },
  );

  it('denies the operator deleting a Service its RBAC would allow', async () => {
    const result = await kubectl(['-n', ns, 'delete', 'service', 'web', `--as=${asOperator}`]);
    expect(result.code).toBe(1);
    expect(result.out).toContain('may only update Pods and Services');
  });

  it('leaves every other user alone', async () => {
    const result = await kubectl(['-n', ns, 'label', 'service', 'web', 'tier=frontend']);
    expect(result, result.out).toMatchObject({ code: 0 });
  });
});

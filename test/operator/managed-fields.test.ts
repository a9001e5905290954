import { type KubernetesObject, PatchStrategy, type V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually, managedFieldsOf, ownedAnnotationKeys } from '../support/kube.ts';
import { annotationsWhen, eventFor, operatorScenario } from './support.ts';

/**
 * What GitOps tools see of sockeye's writes (README "GitOps tools"): every write names field manager
 * `sockeye`, so managedFields give sockeye exactly the sockeye.dev/* annotations it sets, and a
 * server-side applier that does not declare them (Flux's kustomize-controller, played here by the
 * same requests under its name) neither sees them as drift nor removes them.
 */

const scenario = `
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {selector: {app: api}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api-1, labels: {app: api}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
`;

const SOCKEYE = 'sockeye';
/** The server-side applier standing in for a GitOps tool. */
const GITOPS = 'kustomize-controller';
/** What sockeye writes; `sockeye.dev/probe` and the other read keys belong to users. */
const WRITTEN = ['sockeye.dev/since', 'sockeye.dev/status', 'sockeye.dev/summary'];

describe('sockeye operator: field ownership of what it writes', () => {
  const s = operatorScenario('op-fields', scenario, 2);

  /** Service web as its manifest in Git says it. */
  const manifest = (annotations: Record<string, string> = {}): V1Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: s.ns,
      labels: { team: 'shop' },
      annotations: { 'example.com/owner': 'shop', ...annotations },
    },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  /** A server-side apply of the manifest as the GitOps tool; `dryRun` is how Flux detects drift. */
  const apply = (service: V1Service, dryRun = false): Promise<KubernetesObject> =>
    s.kube.objects.patch(
      service,
      undefined,
      dryRun ? 'All' : undefined,
      GITOPS,
      false,
      PatchStrategy.ServerSideApply,
    );
  const readWeb = () => s.kube.core.readNamespacedService({ name: 'web', namespace: s.ns });

  /** Asserts that sockeye's one entry owns exactly `keys`, and that no other manager owns any of them. */
  const expectOwnedBySockeye = (object: KubernetesObject, keys: readonly string[]) => {
    const entries = managedFieldsOf(object.metadata, SOCKEYE);
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry?.operation).toBe('Update');
    expect(entry?.subresource ?? '').toBe('');
    expect(Object.keys(entry?.fieldsV1 ?? {})).toEqual(['f:metadata']);
    expect(Object.keys(entry?.fieldsV1['f:metadata'])).toEqual(['f:annotations']);
    expect(entry && ownedAnnotationKeys(entry)).toEqual([...keys].sort());
    const others = (object.metadata?.managedFields ?? []).filter((e) => e.manager !== SOCKEYE);
    expect(others.flatMap(ownedAnnotationKeys).filter((k) => keys.includes(k))).toEqual([]);
  };
  /** Flux's drift check: a dry-run apply of the manifest changes nothing sockeye or the manifest set. */
  const expectNoDrift = async (service: V1Service) => {
    const live = await readWeb();
    const dryRun = await apply(service, true);
    expect(dryRun.metadata?.annotations).toEqual(live.metadata?.annotations);
    expect(dryRun.metadata?.labels).toEqual(live.metadata?.labels);
    expect(dryRun.metadata?.resourceVersion).toBe(live.metadata?.resourceVersion);
  };

  it('owns exactly the sockeye.dev annotations it writes on a Service; the applier keeps its fields and sees no drift', async () => {
    await apply(manifest());
    const annotations = await annotationsWhen(s.kube, 'Service', s.ns, 'web', 'Healthy');
    expect(
      Object.keys(annotations)
        .filter((k) => k.startsWith('sockeye.dev/'))
        .sort(),
    ).toEqual(WRITTEN);

    const web = await readWeb();
    expectOwnedBySockeye(web, WRITTEN);
    const gitops = managedFieldsOf(web.metadata, GITOPS);
    expect(gitops.map((e) => e.operation)).toEqual(['Apply']);
    expect(gitops[0] && ownedAnnotationKeys(gitops[0])).toEqual(['example.com/owner']);
    expect(Object.keys(gitops[0]?.fieldsV1['f:metadata'])).toContain('f:labels');
    expect(Object.keys(gitops[0]?.fieldsV1 ?? {})).toContain('f:spec');

    await expectNoDrift(manifest());
    // The next reconcile of the GitOps tool: sockeye's annotations and ownership stay as they were.
    await apply(manifest());
    const after = await readWeb();
    expect(after.metadata?.annotations).toEqual(web.metadata?.annotations);
    expectOwnedBySockeye(after, WRITTEN);
  });

  it('owns exactly its annotations on a Pod, and writes Events as sockeye.dev/operator with manager sockeye', async () => {
    await annotationsWhen(s.kube, 'Pod', s.ns, 'api-1', 'NotListening');
    expectOwnedBySockeye(await s.kube.core.readNamespacedPod({ name: 'api-1', namespace: s.ns }), WRITTEN);

    const event = await eventFor(s.kube, s.ns, 'Service', 'api', 'NoHealthyTargets');
    expect(event.reportingController).toBe('sockeye.dev/operator');
    expect(event.reportingInstance).toBe('sockeye-test');
    expect(event.metadata?.managedFields?.map((e) => e.manager)).toEqual([SOCKEYE]);
  });

  it('gives up ownership with the annotations when an object is opted out', async () => {
    await apply(manifest());
    await annotationsWhen(s.kube, 'Service', s.ns, 'web', 'Healthy');
    expectOwnedBySockeye(await readWeb(), WRITTEN);
    const optedOut = manifest({ 'sockeye.dev/probe': 'false' });
    await apply(optedOut);
    const web = await eventually('sockeye annotations removed from Service web', async () => {
      const w = await readWeb();
      return w.metadata?.annotations?.['sockeye.dev/status'] === undefined ? w : undefined;
    });
    expect(
      Object.keys(web.metadata?.annotations ?? {})
        .filter((k) => k.startsWith('sockeye.dev/'))
        .sort(),
    ).toEqual(['sockeye.dev/probe']);
    // A merge-patch null drops the key from sockeye's set; with no key left the entry goes.
    expect(managedFieldsOf(web.metadata, SOCKEYE)).toEqual([]);
    const gitops = managedFieldsOf(web.metadata, GITOPS);
    expect(gitops[0] && ownedAnnotationKeys(gitops[0])).toEqual(['example.com/owner', 'sockeye.dev/probe']);
    await expectNoDrift(optedOut);
  });
});

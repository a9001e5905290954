import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type V1ManagedFieldsEntry,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import { inject } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { shareConnections } from '../../src/kube/connections.ts';

export interface TestKube {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly objects: KubernetesObjectApi;
}

/** Clients for the suite's cluster (see test/setup/cluster.global.ts), or for another one's kubeconfig. */
export function testKube(kubeconfig: string = inject('kubeconfig')): TestKube {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  shareConnections(kc);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

/** A namespace name no other test uses. */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Creates every object of a multi-document YAML scenario, in order, in `namespace`. */
export async function applyYaml(
  kube: TestKube,
  yaml: string,
  namespace?: string,
): Promise<KubernetesObject[]> {
  const created: KubernetesObject[] = [];
  for (const doc of parseAllDocuments(yaml)) {
    const obj = doc.toJS() as KubernetesObject | null;
    if (!obj) continue;
    if (namespace && obj.kind !== 'Namespace') obj.metadata = { ...obj.metadata, namespace };
    created.push(await kube.objects.create(obj));
  }
  return created;
}

export async function createNamespace(kube: TestKube, name: string): Promise<void> {
  await kube.core.createNamespace({ body: { metadata: { name } } });
}

/** Deletes a namespace's pods at once (no kubelet waits for them) and then the namespace. */
export async function deleteNamespace(kube: TestKube, name: string): Promise<void> {
  await kube.core
    .deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0 })
    .catch(() => undefined);
  await kube.core.deleteNamespace({ name }).catch(() => undefined);
}

export async function patchPodAnnotations(
  kube: TestKube,
  namespace: string,
  name: string,
  annotations: Record<string, string | null>,
): Promise<void> {
  await kube.core.patchNamespacedPod(
    { name, namespace, body: { metadata: { annotations } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** The managedFields entries of an object written by `manager`. */
export function managedFieldsOf(metadata: V1ObjectMeta | undefined, manager: string): V1ManagedFieldsEntry[] {
  return (metadata?.managedFields ?? []).filter((e) => e.manager === manager);
}

/** The annotation keys a managedFields entry owns: fieldsV1 `f:metadata` → `f:annotations` → `f:KEY`. */
export function ownedAnnotationKeys(entry: V1ManagedFieldsEntry): string[] {
  const fields = entry.fieldsV1 as Record<string, Record<string, Record<string, unknown>>> | undefined;
  return Object.keys(fields?.['f:metadata']?.['f:annotations'] ?? {})
    .filter((k) => k.startsWith('f:'))
    .map((k) => k.slice(2))
    .sort();
}

/** Polls until `check` returns a value other than undefined; the last failure is in the error. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A copy of the suite's kubeconfig whose current context is a decoy (a loopback port nothing listens
 * on), written to `dir`: a process reaches the API server through it only when told `--context`.
 */
export async function decoyKubeconfig(dir: string): Promise<{ kubeconfig: string; context: string }> {
  const suite = new KubeConfig();
  suite.loadFromFile(inject('kubeconfig'));
  const context = suite.getCurrentContext();
  const config = JSON.parse(suite.exportConfig()) as {
    clusters: { name: string; cluster: { server: string } }[];
    contexts: { name: string; context: { cluster: string; user: string } }[];
    users: { name: string }[];
    'current-context': string;
  };
  const user = config.users[0]?.name ?? '';
  config.clusters.push({ name: 'decoy', cluster: { server: 'https://127.0.0.1:1' } });
  config.contexts.push({ name: 'decoy', context: { cluster: 'decoy', user } });
  config['current-context'] = 'decoy';
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, JSON.stringify(config));
  return { kubeconfig, context };
}

/** A kubeconfig for the suite's cluster that authenticates as ServiceAccount `name` of `namespace`. */
export async function asServiceAccount(kube: TestKube, namespace: string, name: string): Promise<KubeConfig> {
  const request = await kube.core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 600 } },
  });
  const cluster = kube.kc.getCurrentCluster();
  if (!cluster) throw new Error('no cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name, token: request.status?.token ?? '' }],
    contexts: [{ name, cluster: cluster.name, user: name }],
    currentContext: name,
  });
  return kc;
}

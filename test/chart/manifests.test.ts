import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { binaryPath } from '../../cluster/binaries.ts';
import { manifestsFile, NAMESPACE, renderManifests } from '../../scripts/render-manifests.ts';
import { deleteNamespace, testKube } from '../support/kube.ts';
import { exec, parseObjects } from './helm.ts';

describe('manifests/sockeye.yaml', () => {
  const kube = testKube();
  let createdNamespace = false;
  const kubectl = (args: readonly string[], input?: string) =>
    exec(binaryPath('kubectl'), ['--kubeconfig', inject('kubeconfig'), ...args], input);

  afterAll(async () => {
    if (createdNamespace) await deleteNamespace(kube, NAMESPACE);
  });

  it('is the chart rendered with its defaults (run `npm run manifests` when this fails)', async () => {
    const committed = await readFile(manifestsFile, 'utf8');
    expect(
      committed === (await renderManifests()),
      'manifests/sockeye.yaml is stale: run `npm run manifests`',
    ).toBe(true);
  });

  it('applies as is with kubectl (server dry-run), its Namespace enforcing restricted Pod Security', async () => {
    const objects = parseObjects(await readFile(manifestsFile, 'utf8'));
    const namespace = objects.find((o) => o.kind === 'Namespace');
    expect(namespace?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // A dry-run creates nothing, so the objects in the namespace need it to exist already.
    const exists = await kube.core.readNamespace({ name: NAMESPACE }).then(
      () => true,
      () => false,
    );
    if (!exists) {
      // Created by kubectl apply itself, so that the dry-run below sees an object apply made.
      const { stringify } = await import('yaml');
      const created = await kubectl(['apply', '-f', '-'], stringify(namespace));
      expect(created.code, created.stderr).toBe(0);
      createdNamespace = true;
    }
    const result = await kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', manifestsFile]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'))).toHaveLength(
      objects.length,
    );
  });
});

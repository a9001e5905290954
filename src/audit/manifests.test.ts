import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { indexManifests, readManifests, syntheticLocation } from './manifests.ts';

const shop = `# the shop
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app: api}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-1
  namespace: shop
spec: {containers: [{name: app, image: api}]}
`;

const other = `apiVersion: v1
kind: Service
metadata: {name: api, namespace: billing}
---
kind: Service
metadata: {name: [not, a, name]}
---
apiVersion: v1
kind: Service
metadata: {name: api}
`;

describe('indexManifests', () => {
  const find = indexManifests([
    { path: 'deploy/billing.yaml', text: other },
    { path: 'deploy/shop.yaml', text: shop },
  ]);

  it('finds the file and line that define an object by kind, namespace and name', () => {
    expect(find({ kind: 'Pod', namespace: 'shop', name: 'api-1' })).toEqual({
      file: 'deploy/shop.yaml',
      line: 8,
    });
    expect(find({ kind: 'Service', namespace: 'billing', name: 'api' })).toEqual({
      file: 'deploy/billing.yaml',
      line: 1,
    });
  });

  it('falls back to a manifest without a namespace, the first one in path order', () => {
    expect(find({ kind: 'Service', namespace: 'shop', name: 'api' })).toEqual({
      file: 'deploy/billing.yaml',
      line: 8,
    });
  });

  it('does not match another kind, another name, or a namespaced manifest of another namespace', () => {
    expect(find({ kind: 'Pod', namespace: 'shop', name: 'api' })).toBeUndefined();
    expect(find({ kind: 'Service', namespace: 'shop', name: 'web' })).toBeUndefined();
    expect(find({ kind: 'Pod', namespace: 'billing', name: 'api-1' })).toBeUndefined();
  });

  it('skips documents that do not parse instead of failing', () => {
    const broken = indexManifests([
      { path: 'a.yaml', text: 'kind: Service\nmetadata: {name: x\n' },
      { path: 'b.yaml', text: 'kind: Service\nmetadata: {name: x}\n' },
    ]);
    expect(broken({ kind: 'Service', namespace: 'ns', name: 'x' })).toEqual({ file: 'b.yaml', line: 1 });
  });
});

describe('readManifests', () => {
  it('reads every .yaml and .yml file below the folder, paths relative to the working directory', async () => {
    const base = await mkdtemp(join(tmpdir(), 'sockeye-manifests-'));
    try {
      await mkdir(join(base, 'k8s/shop'), { recursive: true });
      await writeFile(join(base, 'k8s/shop/api.yaml'), shop);
      await writeFile(join(base, 'k8s/billing.yml'), other);
      await writeFile(join(base, 'k8s/notes.txt'), 'kind: Service\nmetadata: {name: notes}\n');
      const files = await readManifests(join(base, 'k8s'), base);
      expect(files.map((f) => f.path)).toEqual(['k8s/billing.yml', 'k8s/shop/api.yaml']);
      expect(files[1]?.text).toBe(shop);
      await expect(readManifests(join(base, 'missing'), base)).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe('syntheticLocation', () => {
  it('is one stable path per object, under the namespace the report groups it in', () => {
    expect(syntheticLocation({ kind: 'Service', namespace: 'shop', name: 'api' })).toEqual({
      file: 'kubernetes/shop/service/api.yaml',
      line: 1,
    });
    expect(syntheticLocation({ kind: 'Namespace', namespace: '', name: 'team' }).file).toBe(
      'kubernetes/team/namespace/team.yaml',
    );
  });
});

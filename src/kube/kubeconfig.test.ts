import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { apiServerAddressesOf, loadKubeConfig } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'sockeye-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two clusters on loopback ports nothing is asked to listen on: loading never connects. */
const kubeconfig = join(dir, 'config');
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
current-context: dev
clusters:
- {name: dev, cluster: {server: 'https://127.0.0.1:1'}}
- {name: prod, cluster: {server: 'https://127.0.0.1:2'}}
users:
- {name: me, user: {token: t}}
contexts:
- {name: dev, context: {cluster: dev, user: me}}
- {name: prod, context: {cluster: prod, user: me, namespace: shop}}
`,
);

describe('loadKubeConfig', () => {
  it('takes the file and its current context', () => {
    const target = loadKubeConfig({ kubeconfig });
    expect(typeof target === 'object' && [target.context, target.server, target.namespace]).toEqual([
      'dev',
      'https://127.0.0.1:1',
      'default',
    ]);
  });

  it('switches to --context', () => {
    const target = loadKubeConfig({ kubeconfig, context: 'prod' });
    expect(typeof target === 'object' && [target.context, target.server, target.namespace]).toEqual([
      'prod',
      'https://127.0.0.1:2',
      'shop',
    ]);
    expect(typeof target === 'object' && target.kc.getCurrentContext()).toBe('prod');
  });

  it('names an unknown context and the ones there are, in one line', () => {
    expect(loadKubeConfig({ kubeconfig, context: 'staging' })).toBe(
      'no context "staging" in the kubeconfig (it has: dev, prod)',
    );
  });

  it('names a kubeconfig it cannot read or parse, in one line', () => {
    const missing = join(dir, 'missing');
    expect(loadKubeConfig({ kubeconfig: missing })).toMatch(
      new RegExp(`^cannot load kubeconfig ${missing}: ENOENT[^\\n]*$`),
    );
    const broken = join(dir, 'broken');
    writeFileSync(broken, 'clusters: [\n  {name: x\n');
    expect(loadKubeConfig({ kubeconfig: broken })).toMatch(
      new RegExp(`^cannot load kubeconfig ${broken}: [^\\n]+$`),
    );
  });
});

describe('apiServerAddressesOf', () => {
  const kcFor = (server: string) => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  };

  it('names the API server when the kubeconfig gives it by IP, of either family', () => {
    expect(apiServerAddressesOf(kcFor('https://198.18.0.1:6443'))).toEqual(['198.18.0.1']);
    expect(apiServerAddressesOf(kcFor('https://[2001:2::1]:6443'))).toEqual(['2001:2::1']);
  });

  it('names nothing for a host name', () => {
    expect(apiServerAddressesOf(kcFor('https://kubernetes.default.svc'))).toEqual([]);
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { apiServerAddressesOf, loadKubeConfig } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'sockeye-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A kubeconfig of one cluster `name` at `server`. */
function readable(name: string, server: string): string {
  return `apiVersion: v1
kind: Config
current-context: ${name}
clusters: [{name: ${name}, cluster: {server: '${server}'}}]
users: [{name: ${name}, user: {token: t}}]
contexts: [{name: ${name}, context: {cluster: ${name}, user: ${name}}}]
`;
}

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

describe('loadKubeConfig without --kubeconfig', () => {
  const home = join(dir, 'home');
  const emptyHome = join(dir, 'empty-home');
  mkdirSync(join(home, '.kube'), { recursive: true });
  mkdirSync(emptyHome, { recursive: true });
  writeFileSync(join(home, '.kube', 'config'), readable('home', 'https://127.0.0.1:3'));
  const extra = join(dir, 'extra');
  writeFileSync(extra, readable('extra', 'https://127.0.0.1:4'));
  const server = (t: ReturnType<typeof loadKubeConfig>) => (typeof t === 'string' ? t : t.server);
  afterEach(() => vi.unstubAllEnvs());

  it('merges the files of $KUBECONFIG, the first one setting the context', () => {
    const env = { KUBECONFIG: `${kubeconfig}:${extra}`, HOME: home };
    expect(server(loadKubeConfig({}, { env }))).toBe('https://127.0.0.1:1');
    expect(server(loadKubeConfig({ context: 'extra' }, { env }))).toBe('https://127.0.0.1:4');
  });

  it('names a file of $KUBECONFIG it cannot read', () => {
    const missing = join(dir, 'missing');
    expect(loadKubeConfig({}, { env: { KUBECONFIG: `${kubeconfig}:${missing}` } })).toMatch(
      new RegExp(`^cannot load kubeconfig ${missing}: ENOENT[^\\n]*$`),
    );
  });

  it('takes ~/.kube/config', () => {
    expect(server(loadKubeConfig({}, { env: { HOME: home } }))).toBe('https://127.0.0.1:3');
  });

  it('refuses, in one line, when there is no kubeconfig and no cluster around it (no localhost:8080)', () => {
    expect(loadKubeConfig({}, { env: { HOME: emptyHome } })).toBe(
      'no kubeconfig ($KUBECONFIG, ~/.kube/config) and not running in a cluster (KUBERNETES_SERVICE_HOST unset)',
    );
    const root = join(dir, 'no-token');
    expect(
      loadKubeConfig({}, { env: { HOME: emptyHome, KUBERNETES_SERVICE_HOST: '198.18.0.1' }, root }),
    ).toBe(
      `in a cluster (KUBERNETES_SERVICE_HOST=198.18.0.1) but no ServiceAccount token at ${root}/var/run/secrets/kubernetes.io/serviceaccount/token; mount one or pass --kubeconfig`,
    );
  });

  it('takes the in-cluster ServiceAccount when its token is mounted', () => {
    const root = join(dir, 'in-cluster');
    const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 't');
    // client-node reads the address from the process's environment.
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '198.18.0.1');
    vi.stubEnv('KUBERNETES_SERVICE_PORT', '6443');
    const env = { HOME: emptyHome, KUBERNETES_SERVICE_HOST: '198.18.0.1' };
    expect(server(loadKubeConfig({}, { env, root }))).toBe('https://198.18.0.1:6443');
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

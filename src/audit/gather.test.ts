import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ClusterListers, NamespacedPageSource } from '../kube/list.ts';
import type { Page } from '../kube/pager.ts';
import { GatherError, gather, type Resource } from './gather.ts';

const status = (code: number, reason: string) =>
  new ApiException(code, reason, JSON.stringify({ kind: 'Status', reason, message: `${reason} here` }), {});

interface World {
  readonly namespaces: readonly string[];
  /** `resource` or `resource/namespace` ("*" for the cluster-wide list) answered with this status. */
  readonly deny?: Readonly<Record<string, number>>;
  /** The Services' type (default ClusterIP). */
  readonly serviceType?: string;
}

/** Listers over a small world: one Service, slice, pod and policy per namespace. */
function listers(world: World): { listers: ClusterListers; calls: string[] } {
  const calls: string[] = [];
  const check = (resource: Resource, ns: string | undefined) => {
    calls.push(`${resource}/${ns ?? '*'}`);
    const code = world.deny?.[`${resource}/${ns ?? '*'}`] ?? world.deny?.[resource];
    if (code) throw status(code, code === 403 ? 'Forbidden' : code === 401 ? 'Unauthorized' : 'NotFound');
  };
  const page =
    <T>(resource: Resource, make: (ns: string) => T): NamespacedPageSource<T> =>
    (ns) =>
    async (): Promise<Page<T>> => {
      check(resource, ns);
      return { items: (ns === undefined ? world.namespaces : [ns]).map(make) };
    };
  const meta = (ns: string, name: string) => ({ namespace: ns, name, uid: `${ns}-${name}` });
  return {
    calls,
    listers: {
      namespaces: async () => {
        check('namespaces', undefined);
        return { items: world.namespaces.map((n) => ({ metadata: { name: n } })) };
      },
      readNamespace: async (name) => {
        check('namespaces', name);
        return { metadata: { name, annotations: { 'sockeye.dev/timeout': '1s' } } };
      },
      services: page('services', (ns) => ({
        metadata: meta(ns, 'web'),
        spec: { selector: { app: 'web' }, type: world.serviceType ?? 'ClusterIP' },
      })),
      endpointSlices: page('endpointslices', (ns) => ({
        metadata: { ...meta(ns, 'web-1'), labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: [],
      })),
      pods: page('pods', (ns) => ({ metadata: meta(ns, 'web-1') })),
      networkPolicies: page('networkpolicies', (ns) => ({ metadata: meta(ns, 'deny') })),
      nodes: async () => {
        check('nodes', undefined);
        return {
          items: [
            {
              metadata: { name: 'n0' },
              status: { addresses: [{ type: 'InternalIP', address: '198.18.0.1' }] },
            },
          ],
        };
      },
    },
  };
}

const options = { namespaces: [] as string[], contextNamespace: 'team' };

describe('gather', () => {
  it('lists each resource once cluster-wide when it may', async () => {
    const w = listers({ namespaces: ['a', 'b'] });
    const g = await gather(w.listers, options);
    expect(g.namespaces).toEqual(['a', 'b']);
    expect(g.state.services.map((s) => `${s.namespace}/${s.name}`)).toEqual(['a/web', 'b/web']);
    expect(g.problems).toEqual([]);
    expect(w.calls).toEqual([
      'namespaces/*',
      'services/*',
      'endpointslices/*',
      'pods/*',
      'networkpolicies/*',
    ]);
  });

  it('falls back to per-namespace lists when a cluster-wide list is forbidden, and records each denial once', async () => {
    const w = listers({
      namespaces: ['a', 'b', 'c'],
      deny: { 'networkpolicies/*': 403, 'networkpolicies/a': 403, 'networkpolicies/c': 403, 'pods/*': 403 },
    });
    const g = await gather(w.listers, options);
    expect(g.state.pods.length).toBe(3);
    expect(g.state.networkPolicies.map((p) => p.namespace)).toEqual(['b']);
    expect(g.problems).toEqual([
      {
        resource: 'networkpolicies',
        namespaces: ['a', 'c'],
        reason: 'Forbidden',
        consequence: 'timeouts there are not attributed to NetworkPolicies',
      },
    ]);
  });

  it('audits the context namespace when namespaces cannot be listed, and says so', async () => {
    const w = listers({ namespaces: ['team', 'other'], deny: { namespaces: 403, services: 0 } });
    const g = await gather(w.listers, options);
    expect(g.namespaces).toEqual(['team']);
    expect(g.problems.map((p) => p.consequence)).toEqual([
      'cannot list namespaces, so only namespace "team" (the kubeconfig context\'s) was audited; pass -n NAME for others',
      expect.stringMatching(/^Namespace annotations and labels are unknown/),
    ]);
    expect(w.calls).toContain('services/team');
  });

  it('reads named namespaces, keeping their annotations, and leaves out Services whose slices it cannot read', async () => {
    const w = listers({ namespaces: ['a', 'b'], deny: { 'endpointslices/b': 403 } });
    const g = await gather(w.listers, { ...options, namespaces: ['b', 'a', 'b'] });
    expect(g.namespaces).toEqual(['a', 'b']);
    expect(g.state.namespaces[0]?.annotations).toEqual({ 'sockeye.dev/timeout': '1s' });
    expect(g.state.services.map((s) => s.namespace)).toEqual(['a']);
    expect(g.problems.map((p) => `${p.resource} ${p.namespaces.join(',')}`)).toEqual(['endpointslices b']);
  });

  it('says when a named namespace does not exist', async () => {
    const w = listers({ namespaces: ['a'], deny: { 'namespaces/typo': 404 } });
    const g = await gather(w.listers, { ...options, namespaces: ['a', 'typo'] });
    expect(g.problems).toEqual([
      { resource: 'namespaces', namespaces: ['typo'], reason: 'NotFound', consequence: 'no such namespace' },
    ]);
  });

  it('cannot run when no Service is readable, or the credentials are rejected', async () => {
    const none = listers({ namespaces: ['a'], deny: { services: 403 } });
    await expect(gather(none.listers, options)).rejects.toThrow(GatherError);
    await expect(gather(none.listers, options)).rejects.toThrow(
      /cannot list Services in any namespace in scope \(a\)/,
    );
    const rejected = listers({ namespaces: ['a'], deny: { namespaces: 401 } });
    await expect(gather(rejected.listers, options)).rejects.toThrow(/credentials were rejected/);
  });

  it('passes the label selector to the Service list and names the pods it matches', async () => {
    const w = listers({ namespaces: ['a'] });
    const g = await gather(w.listers, { ...options, labelSelector: 'tier=front' });
    expect([...(g.labelledPods ?? [])]).toEqual(['a/web-1']);
  });

  it('lists the Nodes only when asked and a Service has NodePorts; a denial is said once and skips those hops', async () => {
    const clusterIPs = listers({ namespaces: ['a'] });
    expect((await gather(clusterIPs.listers, { ...options, nodes: true })).state.nodes).toBeUndefined();
    expect(clusterIPs.calls).not.toContain('nodes/*');
    const nodePorts = listers({ namespaces: ['a'], serviceType: 'NodePort' });
    expect((await gather(nodePorts.listers, options)).state.nodes).toBeUndefined();
    const g = await gather(nodePorts.listers, { ...options, nodes: true });
    expect(g.state.nodes).toEqual([{ name: 'n0', internalIPs: ['198.18.0.1'] }]);
    const denied = listers({ namespaces: ['a', 'b'], serviceType: 'LoadBalancer', deny: { nodes: 403 } });
    const d = await gather(denied.listers, { ...options, nodes: true });
    expect(d.state.nodes).toBeUndefined();
    expect(d.state.services).toHaveLength(2);
    expect(d.problems).toEqual([
      {
        resource: 'nodes',
        namespaces: [],
        reason: 'Forbidden',
        consequence: 'the NodePort and health-check hops are not checked (they go to node InternalIPs)',
      },
    ]);
  });
});

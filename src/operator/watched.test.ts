import { describe, expect, it } from 'vitest';
import type { EndpointSlice } from '../model/types.ts';
import { denyAll, namespace, node, pod, slicesFor, svc } from '../rules/fixtures.ts';
import { ClusterCache } from './cache.ts';
import { ENDPOINT_SLICES, NAMESPACES, NETWORK_POLICIES, NODES, PODS, SERVICES, WATCHED } from './watched.ts';

/** A cache holding Services web (app=web) and api (app=api) in shop, and db (app=db) in pay. */
function shop(): ClusterCache {
  const cache = new ClusterCache();
  cache.upsert('Service', svc('web'));
  cache.upsert('Service', svc('api', { selector: { app: 'api' } }));
  cache.upsert('Service', svc('db', { ns: 'pay', selector: { app: 'db' } }));
  return cache;
}

function slice(service: string, name = `${service}-abc`): EndpointSlice {
  const [first] = slicesFor(svc(service), []);
  if (!first) throw new Error('no slice');
  return { ...first, name, serviceName: service };
}

describe('the watched resources', () => {
  it('name their list/watch paths, per namespace and cluster-wide', () => {
    expect(WATCHED.map((w) => [w.kind, w.path('shop'), w.path(undefined), w.clusterScoped])).toEqual([
      ['Service', '/api/v1/namespaces/shop/services', '/api/v1/services', false],
      [
        'EndpointSlice',
        '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices',
        '/apis/discovery.k8s.io/v1/endpointslices',
        false,
      ],
      ['Pod', '/api/v1/namespaces/shop/pods', '/api/v1/pods', false],
      [
        'NetworkPolicy',
        '/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies',
        '/apis/networking.k8s.io/v1/networkpolicies',
        false,
      ],
      ['Namespace', '/api/v1/namespaces', '/api/v1/namespaces', true],
    ]);
  });

  it('a Service touches itself when it changes, nothing when unchanged or deleted', () => {
    const cache = shop();
    const web = svc('web', { ports: [[81]] });
    expect(SERVICES.apply(cache, web, false)).toEqual(['shop/web']);
    expect(SERVICES.apply(cache, web, false)).toEqual([]);
    expect(SERVICES.apply(cache, web, true)).toEqual([]);
    expect(cache.get('Service', 'shop', 'web')).toBeUndefined();
  });

  it('an EndpointSlice touches its Service, and the one it belonged to before', () => {
    const cache = shop();
    expect(ENDPOINT_SLICES.apply(cache, slice('web', 's1'), false)).toEqual(['shop/web']);
    expect(ENDPOINT_SLICES.apply(cache, slice('web', 's1'), false)).toEqual([]);
    expect(ENDPOINT_SLICES.apply(cache, slice('api', 's1'), false)).toEqual(['shop/api', 'shop/web']);
    expect(ENDPOINT_SLICES.apply(cache, slice('api', 's1'), true)).toEqual(['shop/api']);
    expect(cache.count('EndpointSlice')).toBe(0);
  });

  it('a Pod touches the Services selecting it, by its labels before and after', () => {
    const cache = shop();
    expect(PODS.apply(cache, pod('p1'), false)).toEqual(['shop/web']);
    expect(PODS.apply(cache, pod('p1'), false)).toEqual([]);
    expect(PODS.apply(cache, pod('p1', { labels: { app: 'api' } }), false)).toEqual(['shop/api', 'shop/web']);
    expect(PODS.apply(cache, pod('p1', { labels: { app: 'api' } }), true)).toEqual(['shop/api']);
    expect(PODS.apply(cache, pod('p2', { labels: { app: 'none' } }), false)).toEqual([]);
  });

  it('a NetworkPolicy touches every Service of its namespace', () => {
    const cache = shop();
    expect(NETWORK_POLICIES.apply(cache, denyAll('deny'), false).sort()).toEqual(['shop/api', 'shop/web']);
    expect(NETWORK_POLICIES.apply(cache, denyAll('deny'), false)).toEqual([]);
    expect(NETWORK_POLICIES.apply(cache, denyAll('deny', 'pay'), true)).toEqual([]);
    expect(NETWORK_POLICIES.apply(cache, denyAll('deny'), true).sort()).toEqual(['shop/api', 'shop/web']);
  });

  it('a Namespace touches every Service in it', () => {
    const cache = shop();
    expect(NAMESPACES.apply(cache, namespace('pay'), false)).toEqual(['pay/db']);
    expect(NAMESPACES.apply(cache, namespace('pay'), false)).toEqual([]);
    expect(NAMESPACES.apply(cache, namespace('pay', { team: 'x' }), false)).toEqual(['pay/db']);
    expect(NAMESPACES.apply(cache, namespace('pay'), true)).toEqual(['pay/db']);
    expect(cache.count('Namespace')).toBe(0);
  });

  it('a Node touches every NodePort and LoadBalancer Service, only when its InternalIPs change', () => {
    const cache = shop();
    cache.upsert('Service', svc('lb', { type: 'LoadBalancer', nodePorts: [30080] }));
    cache.upsert('Service', svc('np', { ns: 'pay', type: 'NodePort', nodePorts: [30081] }));
    expect(NODES.path(undefined)).toBe('/api/v1/nodes');
    expect(NODES.apply(cache, node('n0', '198.18.0.1'), false)).toEqual(['shop/lb', 'pay/np']);
    // A status heartbeat changes nothing sockeye keeps of a Node.
    expect(NODES.apply(cache, node('n0', '198.18.0.1'), false)).toEqual([]);
    expect(NODES.apply(cache, node('n0', '198.18.0.9'), false)).toEqual(['shop/lb', 'pay/np']);
    expect(cache.gather('shop', 'lb', 'sockeye')?.nodes).toEqual([node('n0', '198.18.0.9')]);
    // A ClusterIP Service's judgement does not read the Nodes.
    expect(cache.gather('shop', 'web', 'sockeye')?.nodes).toEqual([]);
    expect(NODES.apply(cache, node('n0', '198.18.0.9'), true)).toEqual(['shop/lb', 'pay/np']);
    expect(cache.count('Node')).toBe(0);
  });
});

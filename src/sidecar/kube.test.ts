import { describe, expect, it } from 'vitest';
import { type ApiCall, sidecarApi } from './kube.ts';

describe('sidecarApi', () => {
  it('reads without a field manager and writes as field manager sockeye', async () => {
    const calls: { method: string; path: string; contentType?: string | undefined }[] = [];
    const call: ApiCall = async (method, path, _body, contentType) => {
      calls.push({ method, path, contentType });
      return JSON.stringify({ metadata: { uid: 'u1' } });
    };
    const api = sidecarApi(call);
    expect((await api.readPod('shop', 'web-1')).uid).toBe('u1');
    await api.patchAnnotations('shop', 'web-1', { 'sockeye.dev/sidecar-status': 'Healthy' });
    await api.createEvent({ metadata: { name: 'web-1.1', namespace: 'shop' } });
    await api.patchEvent('shop', 'web-1.1', { series: { count: 2 } });
    expect(calls).toEqual([
      { method: 'GET', path: '/api/v1/namespaces/shop/pods/web-1', contentType: undefined },
      {
        method: 'PATCH',
        path: '/api/v1/namespaces/shop/pods/web-1?fieldManager=sockeye',
        contentType: 'application/merge-patch+json',
      },
      {
        method: 'POST',
        path: '/apis/events.k8s.io/v1/namespaces/shop/events?fieldManager=sockeye',
        contentType: 'application/json',
      },
      {
        method: 'PATCH',
        path: '/apis/events.k8s.io/v1/namespaces/shop/events/web-1.1?fieldManager=sockeye',
        contentType: 'application/merge-patch+json',
      },
    ]);
  });
});

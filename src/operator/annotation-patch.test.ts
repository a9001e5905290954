import type { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { recordingApi } from '../kube/recording-api.ts';
import { annotationPatch, corePatcher } from './annotation-patch.ts';
import { fingerprintOf, splitWritten } from './cache.ts';

const now = new Date('2025-06-01T12:00:00.123Z');
const healthy = { status: 'Healthy', summary: 'http: 1/1 open' } as const;

describe('annotationPatch', () => {
  it.each([
    {
      name: 'first write sets all three',
      current: {},
      desired: healthy,
      want: {
        'sockeye.dev/status': 'Healthy',
        'sockeye.dev/summary': 'http: 1/1 open',
        'sockeye.dev/since': '2025-06-01T12:00:00Z',
      },
    },
    {
      name: 'nothing changed: no write',
      current: {
        'sockeye.dev/status': 'Healthy',
        'sockeye.dev/summary': 'http: 1/1 open',
        'sockeye.dev/since': 'x',
      },
      desired: healthy,
      want: undefined,
    },
    {
      name: 'summary changed, status not: since stays',
      current: {
        'sockeye.dev/status': 'Healthy',
        'sockeye.dev/summary': 'http: 2/2 open',
        'sockeye.dev/since': 'x',
      },
      desired: healthy,
      want: { 'sockeye.dev/summary': 'http: 1/1 open' },
    },
    {
      name: 'status changed: since moves',
      current: {
        'sockeye.dev/status': 'Degraded',
        'sockeye.dev/summary': 'http: 1/1 open',
        'sockeye.dev/since': 'x',
      },
      desired: healthy,
      want: { 'sockeye.dev/status': 'Healthy', 'sockeye.dev/since': '2025-06-01T12:00:00Z' },
    },
    {
      name: 'opt-out removes what sockeye wrote',
      current: { 'sockeye.dev/status': 'Healthy', 'sockeye.dev/since': 'x' },
      desired: undefined,
      want: { 'sockeye.dev/status': null, 'sockeye.dev/since': null },
    },
    { name: 'opt-out with nothing written: no write', current: {}, desired: undefined, want: undefined },
  ])('$name', ({ current, desired, want }) => {
    expect(annotationPatch(current, desired, now)).toEqual(want);
  });
});

describe('corePatcher', () => {
  it('patches Service and Pod annotations as field manager sockeye', async () => {
    const { api: core, calls } = recordingApi<CoreV1Api>(['patchNamespacedService', 'patchNamespacedPod']);
    const patcher = corePatcher(core);
    await patcher.patch('Service', 'shop', 'api', { 'sockeye.dev/status': 'Healthy' });
    await patcher.patch('Pod', 'shop', 'api-1', { 'sockeye.dev/status': null });
    expect(calls).toEqual([
      {
        method: 'patchNamespacedService',
        param: {
          name: 'api',
          namespace: 'shop',
          body: { metadata: { annotations: { 'sockeye.dev/status': 'Healthy' } } },
          fieldManager: 'sockeye',
        },
      },
      {
        method: 'patchNamespacedPod',
        param: {
          name: 'api-1',
          namespace: 'shop',
          body: { metadata: { annotations: { 'sockeye.dev/status': null } } },
          fieldManager: 'sockeye',
        },
      },
    ]);
  });
});

describe('the cache fingerprint', () => {
  it('ignores sockeye’s own annotations and nothing else', () => {
    const base = { name: 'web', annotations: { team: 'a' } };
    const written = { name: 'web', annotations: { team: 'a', 'sockeye.dev/status': 'Healthy' } };
    expect(fingerprintOf(written)).toBe(fingerprintOf(base));
    expect(fingerprintOf({ ...base, annotations: { team: 'b' } })).not.toBe(fingerprintOf(base));
    expect(fingerprintOf({ ...base, annotations: { team: 'a', 'sockeye.dev/probe': 'false' } })).not.toBe(
      fingerprintOf(base),
    );
    expect(splitWritten(written.annotations)).toEqual({
      own: { team: 'a' },
      written: { 'sockeye.dev/status': 'Healthy' },
    });
  });
});

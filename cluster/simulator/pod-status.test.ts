import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type Exit, podPhase, runningStatus, statusDiffers } from './pod-status.ts';

const pod: V1Pod = { metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } };
const now = new Date('2026-01-01T00:00:00Z');

describe('simulated pod status', () => {
  it('reports a ready running pod with its IPs and container', () => {
    const s = runningStatus(pod, ['198.18.0.5'], '198.18.31.254', true, now);
    expect(s.phase).toBe('Running');
    expect(s.podIPs).toEqual([{ ip: '198.18.0.5' }]);
    expect(s.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(s.containerStatuses?.[0]).toMatchObject({ name: 'app', ready: true, started: true });
  });

  it('needs no write when the pod already has the wanted status', () => {
    const s = runningStatus(pod, ['198.18.0.5'], '198.18.31.254', true, now);
    expect(
      statusDiffers(s, runningStatus({ ...pod, status: s }, ['198.18.0.5'], '198.18.31.254', true, now)),
    ).toBe(false);
  });

  it('needs a write when readiness or the address changes', () => {
    const s = runningStatus(pod, ['198.18.0.5'], '198.18.31.254', true, now);
    expect(
      statusDiffers(s, runningStatus({ ...pod, status: s }, ['198.18.0.5'], '198.18.31.254', false, now)),
    ).toBe(true);
    expect(
      statusDiffers(s, runningStatus({ ...pod, status: s }, ['198.18.0.6'], '198.18.31.254', true, now)),
    ).toBe(true);
    expect(statusDiffers(undefined, s)).toBe(true);
    const dual = runningStatus(pod, ['198.18.0.5', '2001:2::5'], '198.18.31.254', true, now);
    expect(dual.podIPs).toEqual([{ ip: '198.18.0.5' }, { ip: '2001:2::5' }]);
    expect(statusDiffers(s, dual)).toBe(true);
  });

  it('keeps a condition transition time while its status holds', () => {
    const first = runningStatus(pod, ['198.18.0.5'], 'h', true, now);
    const later = runningStatus(
      { ...pod, status: first },
      ['198.18.0.5'],
      'h',
      true,
      new Date('2026-01-02T00:00:00Z'),
    );
    expect(later.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toEqual(now);
  });

  describe('a pod whose containers ran and exited', () => {
    const job = (restartPolicy: string): V1Pod => ({
      metadata: { name: 'test' },
      spec: { restartPolicy, containers: [{ name: 'readyz' }, { name: 'audit' }] },
    });
    const exits = (codes: Record<string, number>) =>
      new Map<string, Exit>(Object.entries(codes).map(([name, code]) => [name, { code, at: now }]));

    it.each([
      ['Never', {}, 'Running'],
      ['Never', { readyz: 0 }, 'Running'],
      ['Never', { readyz: 0, audit: 0 }, 'Succeeded'],
      ['Never', { readyz: 0, audit: 1 }, 'Failed'],
      ['OnFailure', { readyz: 0, audit: 0 }, 'Succeeded'],
      ['OnFailure', { readyz: 0, audit: 1 }, 'Running'],
      ['Always', { readyz: 0, audit: 0 }, 'Running'],
    ] as const)('restartPolicy %s, exits %o: %s', (policy, codes, phase) => {
      expect(podPhase(job(policy), exits(codes))).toBe(phase);
    });

    it('reports each exited container terminated, with its code, and the pod not ready', () => {
      const s = runningStatus(job('Never'), ['198.18.0.5'], 'h', true, now, exits({ readyz: 0, audit: 2 }));
      expect(s.phase).toBe('Failed');
      expect(s.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
      expect(
        s.containerStatuses?.map((c) => [c.name, c.state?.terminated?.exitCode, c.state?.terminated?.reason]),
      ).toEqual([
        ['readyz', 0, 'Completed'],
        ['audit', 2, 'Error'],
      ]);
    });

    it('needs a write when a container exits, and none once reported', () => {
      const running = runningStatus(job('Never'), ['198.18.0.5'], 'h', false, now);
      const oneDone = runningStatus(job('Never'), ['198.18.0.5'], 'h', false, now, exits({ readyz: 0 }));
      expect(oneDone.phase).toBe('Running');
      expect(statusDiffers(running, oneDone)).toBe(true);
      expect(statusDiffers(oneDone, oneDone)).toBe(false);
    });
  });
});

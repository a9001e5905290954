import { describe, expect, it } from 'vitest';
import { applyPatch, sidecarAnnotationPatch } from './annotations.ts';
import { eventBody, microTime } from './events.ts';

const now = new Date('2026-03-01T10:00:00.250Z');

describe('sidecarAnnotationPatch', () => {
  const desired = {
    status: 'NotListening',
    summary: 'http (8080): loopback only',
    loopbackOnly: [9090, 8080],
  } as const;

  it('writes every key the first time, then nothing while nothing changes', () => {
    const patch = sidecarAnnotationPatch({}, desired, now);
    expect(patch).toEqual({
      'sockeye.dev/sidecar-status': 'NotListening',
      'sockeye.dev/sidecar-since': '2026-03-01T10:00:00Z',
      'sockeye.dev/sidecar-summary': 'http (8080): loopback only',
      'sockeye.dev/loopback-only': '8080,9090',
    });
    expect(sidecarAnnotationPatch(applyPatch({}, patch!), desired, new Date())).toBeUndefined();
  });

  it('moves since only with the status, and removes loopback-only when no port is', () => {
    const current = applyPatch({}, sidecarAnnotationPatch({}, desired, now)!);
    expect(
      sidecarAnnotationPatch(
        current,
        { status: 'Healthy', summary: 'http (8080): listening', loopbackOnly: [] },
        now,
      ),
    ).toEqual({
      'sockeye.dev/sidecar-status': 'Healthy',
      'sockeye.dev/sidecar-since': '2026-03-01T10:00:00Z',
      'sockeye.dev/sidecar-summary': 'http (8080): listening',
      'sockeye.dev/loopback-only': null,
    });
    expect(sidecarAnnotationPatch(current, { ...desired, summary: 'changed' }, now)).toEqual({
      'sockeye.dev/sidecar-summary': 'changed',
    });
  });
});

describe('event bodies', () => {
  it('write MicroTime with six fractional digits and the sidecar as reporting controller', () => {
    expect(microTime(now.getTime())).toBe('2026-03-01T10:00:00.250000Z');
    const body = eventBody(
      {
        name: 'web-1.18a',
        namespace: 'shop',
        firstObservedMs: now.getTime(),
        regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'u1' },
        type: 'Warning',
        reason: 'ListeningOnLoopbackOnly',
        action: 'Probe',
        note: 'n',
        series: { count: 2, lastObservedMs: now.getTime() + 1000 },
      },
      'web-1',
    );
    expect(body).toMatchObject({
      eventTime: '2026-03-01T10:00:00.250000Z',
      reportingController: 'sockeye.dev/sidecar',
      reportingInstance: 'web-1',
      regarding: { kind: 'Pod', name: 'web-1', uid: 'u1' },
      series: { count: 2, lastObservedTime: '2026-03-01T10:00:01.250000Z' },
    });
  });
});

import type { V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

/**
 * The status a kubelet would report for a running simulated pod. Pure: the simulator patches it
 * only when `statusDiffers` says the pod's current status is not already this, so a quiet cluster
 * makes no writes.
 */
export function runningStatus(
  pod: V1Pod,
  podIPs: readonly string[],
  hostIP: string,
  ready: boolean,
  now: Date,
): V1PodStatus {
  const started = pod.status?.startTime ?? now;
  const condition = (type: string, status: boolean): V1PodCondition => {
    const previous = pod.status?.conditions?.find((c) => c.type === type);
    const value = status ? 'True' : 'False';
    const since = previous?.status === value ? previous.lastTransitionTime : undefined;
    return { type, status: value, lastTransitionTime: since ?? now };
  };
  return {
    phase: 'Running',
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: podIPs[0] ?? '',
    podIPs: podIPs.map((ip) => ({ ip })),
    startTime: started,
    conditions: [
      condition('PodScheduled', true),
      condition('Initialized', true),
      condition('ContainersReady', ready),
      condition('Ready', ready),
    ],
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: started } },
    })),
  };
}

export function statusDiffers(current: V1PodStatus | undefined, wanted: V1PodStatus): boolean {
  if (!current) return true;
  const cond = (s: V1PodStatus | undefined, type: string) =>
    s?.conditions?.find((c) => c.type === type)?.status;
  return (
    current.phase !== wanted.phase ||
    current.podIP !== wanted.podIP ||
    (current.podIPs ?? []).map((p) => p.ip).join() !== (wanted.podIPs ?? []).map((p) => p.ip).join() ||
    current.hostIP !== wanted.hostIP ||
    ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].some(
      (t) => cond(current, t) !== cond(wanted, t),
    ) ||
    (current.containerStatuses ?? []).length !== (wanted.containerStatuses ?? []).length ||
    (current.containerStatuses ?? []).some((c) => c.ready !== wanted.containerStatuses?.[0]?.ready)
  );
}

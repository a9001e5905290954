import type { V1ContainerState, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

/** How a container that ran for real ended: its exit code and when. */
export interface Exit {
  readonly code: number;
  readonly at: Date;
}

/**
 * The phase a kubelet gives a pod whose containers ran and may have exited: with `restartPolicy`
 * Never, Succeeded once every container exited 0 and Failed once all exited and one did not; with
 * OnFailure, Succeeded once all exited 0 (a failed container would be restarted: the simulator does
 * not, and the pod stays Running); with Always (the default), Running.
 */
export function podPhase(pod: V1Pod, exits: ReadonlyMap<string, Exit>): 'Running' | 'Succeeded' | 'Failed' {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  const containers = pod.spec?.containers ?? [];
  if (policy === 'Always' || containers.length === 0) return 'Running';
  const codes = containers.map((c) => exits.get(c.name)?.code);
  if (codes.some((c) => c === undefined)) return 'Running';
  if (codes.every((c) => c === 0)) return 'Succeeded';
  return policy === 'Never' ? 'Failed' : 'Running';
}

/**
 * The status a kubelet would report for a simulated pod: running, or finished when its containers
 * that ran for real have exited (`exits`, by container name; see `podPhase`). Pure: the simulator
 * patches it only when `statusDiffers` says the pod's current status is not already this, so a
 * quiet cluster makes no writes.
 */
export function runningStatus(
  pod: V1Pod,
  podIPs: readonly string[],
  hostIP: string,
  ready: boolean,
  now: Date,
  exits: ReadonlyMap<string, Exit> = new Map(),
): V1PodStatus {
  const started = pod.status?.startTime ?? now;
  const phase = podPhase(pod, exits);
  // A container that has exited is not ready, and neither is a pod with one.
  if (exits.size > 0) ready = false;
  const state = (name: string): V1ContainerState => {
    const exit = exits.get(name);
    if (!exit) return { running: { startedAt: started } };
    const reason = exit.code === 0 ? 'Completed' : 'Error';
    return { terminated: { exitCode: exit.code, reason, startedAt: started, finishedAt: exit.at } };
  };
  const condition = (type: string, status: boolean): V1PodCondition => {
    const previous = pod.status?.conditions?.find((c) => c.type === type);
    const value = status ? 'True' : 'False';
    const since = previous?.status === value ? previous.lastTransitionTime : undefined;
    return { type, status: value, lastTransitionTime: since ?? now };
  };
  return {
    phase,
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
      started: !exits.has(c.name),
      restartCount: 0,
      state: state(c.name),
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
    (current.containerStatuses ?? []).some((c) => c.ready !== wanted.containerStatuses?.[0]?.ready) ||
    (current.containerStatuses ?? []).some(
      (c) =>
        c.state?.terminated?.exitCode !==
        wanted.containerStatuses?.find((w) => w.name === c.name)?.state?.terminated?.exitCode,
    )
  );
}

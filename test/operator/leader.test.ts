import { afterAll, describe, expect, inject, it } from 'vitest';
import { eventually, patchPodAnnotations } from '../support/kube.ts';
import {
  annotationsWhen,
  eventFor,
  leaseHolder,
  listEvents,
  metricSum,
  REFUSING_WEB,
  type Replica,
  scenarioNamespace,
  spawnReplica,
  stopOperatorProcess,
} from './support.ts';

describe('sockeye operator: two replicas with leader election', () => {
  const s = scenarioNamespace('op-leader', REFUSING_WEB, 1);
  const ns = s.ns;
  const replicas: Replica[] = [];

  async function start(name: string): Promise<Replica> {
    // client-go's ratios at a shorter scale: a 3 s renew deadline was missed once on a loaded CI machine,
    // the Lease changed hands before the test read it, and the "follower" had probed as leader.
    const replica = await spawnReplica(name, ns, inject('kubeconfig'), {
      duration: '10s',
      renewDeadline: '7s',
      retryPeriod: '1s',
    });
    replicas.push(replica);
    return replica;
  }

  const holder = () => leaseHolder(s.kube, ns);

  afterAll(async () => {
    for (const r of replicas) await stopOperatorProcess(r);
  });

  it('only the leader probes and writes; the other takes over when it dies; nothing is written twice', async () => {
    const a = await start('replica-a');
    const b = await start('replica-b');
    await annotationsWhen(s.kube, 'Service', ns, 'web', 'NoHealthyTargets');
    await eventFor(s.kube, ns, 'Service', 'web', 'NoHealthyTargets');
    const leaderName = await eventually('a Lease holder', async () => (await holder()) || undefined);
    const leader = leaderName === a.name ? a : b;
    const follower = leader === a ? b : a;
    // Both serve; only the leader has probed or written anything.
    await eventually('the follower ready', async () =>
      (await fetch(`http://127.0.0.1:${follower.port}/readyz`)).ok ? true : undefined,
    );
    expect(await metricSum(follower.port, 'sockeye_probes_total')).toBe(0);
    expect(await metricSum(follower.port, 'sockeye_api_writes_total')).toBe(0);
    expect(await metricSum(leader.port, 'sockeye_probes_total')).toBeGreaterThan(0);

    // The leader dies without releasing the Lease: the follower takes over once it expires.
    leader.child.kill('SIGKILL');
    await leader.exited;
    await eventually('the follower to hold the Lease', async () =>
      (await holder()) === follower.name ? true : undefined,
    );
    await eventually('the new leader to probe', async () =>
      (await metricSum(follower.port, 'sockeye_probes_total')) > 0 ? true : undefined,
    );
    // It found the same Warning and did not write its Event again.
    await patchPodAnnotations(s.kube, ns, 'web-1', { 'sim.sockeye.dev/listen': '8080' });
    await eventFor(s.kube, ns, 'Service', 'web', 'TargetsRecovered');
    await annotationsWhen(s.kube, 'Service', ns, 'web', 'Healthy');
    const warnings = (await listEvents(s.kube, ns)).filter((e) => e.type === 'Warning');
    const perReason = new Map<string, number>();
    for (const e of warnings) {
      const k = `${e.regarding?.kind}/${e.regarding?.name}/${e.reason}`;
      perReason.set(k, (perReason.get(k) ?? 0) + 1);
    }
    expect([...perReason.values()].every((n) => n === 1)).toBe(true);
    expect([...perReason.keys()].sort()).toEqual([
      'Pod/web-1/ReadyButRefusing',
      'Service/web/NoHealthyTargets',
    ]);

    // SIGTERM: the new leader releases the Lease and exits 0.
    follower.child.kill('SIGTERM');
    expect(await follower.exited).toBe(0);
    expect(await holder()).toBe('');
  });
});

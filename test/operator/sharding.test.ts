import { setTimeout as sleep } from 'node:timers/promises';
import type { EventsV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { shardOf } from '../../src/model/shard.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  patchPodAnnotations,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import {
  annotationsWhen,
  eventFor,
  leaseHolder,
  listEvents,
  podIPs,
  type Replica,
  running,
  scrape,
  servicesWithPods,
  spawnReplica,
  stopOperatorProcess,
} from './support.ts';

const BROKEN = ['web-a', 'web-b', 'web-c', 'web-d', 'web-e'];
const HEALTHY = ['ok-a', 'ok-b', 'ok-c', 'ok-d'];
const LISTEN = 'sim.sockeye.dev/listen';

/**
 * Three shards of two replicas each, then two shards: every broken Service gets exactly one Event
 * (from its own shard's leader), a pod two shards' Services send to gets its own once, a killed
 * leader's standby carries its shard on, and after re-sharding every Service is judged by exactly
 * one replica and carries its current status.
 */
describe('sockeye operator: shards', () => {
  const ns = uniqueNamespace('op-shards');
  // Two Services over one refusing pod, in two different shards of 3 (the namespace is random).
  const shared = Array.from({ length: 40 }, (_, i) => `shared-${i}`);
  const sharedA = shared[0] ?? '';
  const sharedB = shared.find((n) => shardOf(ns, n, 3) !== shardOf(ns, sharedA, 3)) ?? '';
  const all = [...BROKEN, ...HEALTHY, sharedA, sharedB];
  const yaml = [
    servicesWithPods(BROKEN, true),
    servicesWithPods(HEALTHY),
    ...[sharedA, sharedB].map(
      (name) => `
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {selector: {app: shared}, ports: [{name: http, port: 80, targetPort: 8080}]}`,
    ),
    `
apiVersion: v1
kind: Pod
metadata: {name: shared-1, labels: {app: shared}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}`,
  ].join('\n---');
  let kube: TestKube;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    await applyYaml(kube, yaml, ns);
    await podIPs(kube, ns, BROKEN.length + HEALTHY.length + 1);
  });

  afterAll(async () => {
    for (const r of replicas) await stopOperatorProcess(r);
    if (kube) await deleteNamespace(kube, ns);
  });

  async function start(shards: number, prefix: string): Promise<Replica[]> {
    const started: Replica[] = [];
    for (let shard = 0; shard < shards; shard++)
      for (const which of ['a', 'b']) {
        const replica = await spawnReplica(
          `${prefix}${shard}-${which}`,
          ns,
          inject('kubeconfig'),
          { duration: '10s', renewDeadline: '7s', retryPeriod: '1s' },
          [`--shards=${shards}`, `--shard=${shard}`],
        );
        started.push(replica);
      }
    replicas.push(...started);
    return started;
  }

  const holder = (shard: number) => leaseHolder(kube, ns, `sockeye-operator-${shard}`);

  /** Every Warning sockeye wrote in the namespace, counted by `Kind/name/Reason`. */
  async function warnings(): Promise<Map<string, EventsV1Event[]>> {
    const byKey = new Map<string, EventsV1Event[]>();
    for (const e of await listEvents(kube, ns)) {
      if (e.type !== 'Warning' || e.reportingController !== 'sockeye.dev/operator') continue;
      const key = `${e.regarding?.kind}/${e.regarding?.name}/${e.reason}`;
      byKey.set(key, [...(byKey.get(key) ?? []), e]);
    }
    return byKey;
  }

  /** Each Warning Event once: no object has two Events of one reason. */
  async function expectEachWarningOnce(): Promise<Map<string, EventsV1Event[]>> {
    const byKey = await warnings();
    const twice = [...byKey].filter(([, events]) => events.length > 1).map(([k]) => k);
    expect(twice).toEqual([]);
    return byKey;
  }

  /** Which replicas export port series of each Service: the ones that judge it. */
  async function judges(of: readonly Replica[]): Promise<Map<string, string[]>> {
    const byService = new Map<string, string[]>();
    for (const r of of.filter(running)) {
      const names = new Set(
        (await scrape(r.port, 'sockeye_service_targets')).map((s) => s.labels.service ?? ''),
      );
      for (const name of names) byService.set(name, [...(byService.get(name) ?? []), r.name]);
    }
    return byService;
  }

  /** Every Service judged by one replica exactly, of the shard that owns it. */
  function expectJudgedOnce(byService: Map<string, string[]>, shards: number, prefix: string): void {
    for (const name of all) {
      const judgedBy = byService.get(name) ?? [];
      expect(judgedBy, `${name} judged by`).toHaveLength(1);
      expect(
        judgedBy[0]?.startsWith(`${prefix}${shardOf(ns, name, shards)}-`),
        `${name} by ${judgedBy[0]}`,
      ).toBe(true);
    }
  }

  it('3 shards × 2 replicas: one leader per shard, each Service judged and each Warning written once', async () => {
    const three = await start(3, 's');
    for (const name of BROKEN) await annotationsWhen(kube, 'Service', ns, name, 'NoHealthyTargets', 120_000);
    for (const name of HEALTHY) await annotationsWhen(kube, 'Service', ns, name, 'Healthy', 120_000);
    await eventFor(kube, ns, 'Pod', 'shared-1', 'ReadyButRefusing', 120_000);
    for (let shard = 0; shard < 3; shard++)
      await eventually(`a leader of shard ${shard}`, async () => (await holder(shard)) || undefined);
    const byService = await eventually('every Service judged', async () => {
      const j = await judges(three);
      return all.every((n) => j.has(n)) ? j : undefined;
    });
    // A few intervals more: a second writer would have written by now.
    await sleep(3000);
    expectJudgedOnce(await judges(three), 3, 's');
    expect(byService.size).toBe(all.length);

    const byKey = await expectEachWarningOnce();
    for (const name of BROKEN) {
      const [event] = byKey.get(`Service/${name}/NoHealthyTargets`) ?? [];
      // Written by a replica of the Service's shard.
      expect(event?.reportingInstance?.startsWith(`s${shardOf(ns, name, 3)}-`), name).toBe(true);
    }
    // The shared pod: from the shard of its home Service (least name), once.
    const home = [sharedA, sharedB].sort()[0] ?? '';
    const [podEvent] = byKey.get('Pod/shared-1/ReadyButRefusing') ?? [];
    expect(podEvent?.reportingInstance?.startsWith(`s${shardOf(ns, home, 3)}-`)).toBe(true);

    for (const r of three) {
      const [shard] = await scrape(r.port, 'sockeye_shard');
      expect(shard?.labels).toEqual({ shard: r.name.slice(1, 2), shards: '3' });
    }
    // The Lease and the gauge are read at two moments: on a loaded machine a shard may change hands
    // between them, so they must agree once both are read with no change in between.
    await eventually('sockeye_leader to agree with each shard Lease', async () => {
      const disagree: string[] = [];
      // A replica that lost its Lease exits (a restarted pod campaigns again): the living must agree.
      for (const r of three.filter(running)) {
        const shard = Number(r.name.slice(1, 2));
        const before = await holder(shard);
        const [leader] = await scrape(r.port, 'sockeye_leader');
        if (before !== (await holder(shard))) return undefined;
        if (leader?.value !== (before === r.name ? 1 : 0))
          disagree.push(`${r.name}: gauge ${leader?.value}, Lease holder ${before}`);
      }
      if (disagree.length > 0) throw new Error(disagree.join('; '));
      return true;
    });
  }, 300_000);

  it("a shard's leader dies: its standby takes the shard over, loses nothing and writes nothing twice", async () => {
    const shard = shardOf(ns, 'ok-a', 3);
    const leaderName = await holder(shard);
    const leader = replicas.find((r) => r.name === leaderName);
    const standby = replicas.find((r) => r.name.startsWith(`s${shard}-`) && r.name !== leaderName);
    if (!leader || !standby) throw new Error(`shard ${shard}: leader ${leaderName}, no standby`);
    leader.child.kill('SIGKILL');
    await leader.exited;
    await eventually(`${standby.name} to lead shard ${shard}`, async () =>
      (await holder(shard)) === standby.name ? true : undefined,
    );
    // A Service of that shard breaks after the hand-over: the standby reports it, once.
    await patchPodAnnotations(kube, ns, 'ok-a-1', { [LISTEN]: null });
    const event = await eventFor(kube, ns, 'Service', 'ok-a', 'NoHealthyTargets', 120_000);
    expect(event.reportingInstance).toBe(standby.name);
    await annotationsWhen(kube, 'Service', ns, 'ok-a', 'NoHealthyTargets');
    await sleep(3000);
    // What the dead leader wrote is not written again by its successor.
    await expectEachWarningOnce();
  });

  it('3 shards become 2: every Service judged once by its new owner, no stale annotation, no Event twice', async () => {
    for (const r of replicas.filter(running)) {
      r.child.kill('SIGTERM');
      await r.exited;
    }
    const two = await start(2, 't');
    for (let shard = 0; shard < 2; shard++)
      await eventually(
        `a leader of shard ${shard} of 2`,
        async () => (await holder(shard))?.startsWith('t') || undefined,
      );
    const byService = await eventually('every Service judged by the two shards', async () => {
      const j = await judges(two);
      return all.every((n) => j.has(n)) ? j : undefined;
    });
    expect(byService.size).toBe(all.length);
    // The broken Services recover and a healthy one breaks: each owner writes the new state.
    for (const name of BROKEN) await patchPodAnnotations(kube, ns, `${name}-1`, { [LISTEN]: '8080' });
    await patchPodAnnotations(kube, ns, 'ok-b-1', { [LISTEN]: null });
    for (const name of BROKEN) {
      await annotationsWhen(kube, 'Service', ns, name, 'Healthy', 120_000);
      await annotationsWhen(kube, 'Pod', ns, `${name}-1`, undefined);
    }
    await annotationsWhen(kube, 'Service', ns, 'ok-b', 'NoHealthyTargets', 120_000);
    await annotationsWhen(kube, 'Service', ns, 'ok-a', 'NoHealthyTargets');
    for (const name of ['ok-c', 'ok-d']) await annotationsWhen(kube, 'Service', ns, name, 'Healthy');
    await sleep(3000);
    expectJudgedOnce(await judges(two), 2, 't');
    const byKey = await expectEachWarningOnce();
    expect(
      byKey
        .get('Service/ok-b/NoHealthyTargets')?.[0]
        ?.reportingInstance?.startsWith(`t${shardOf(ns, 'ok-b', 2)}-`),
    ).toBe(true);
    // Each recovery written once, by the new owner.
    const recovered = (await listEvents(kube, ns)).filter(
      (e) => e.reason === 'TargetsRecovered' && e.regarding?.kind === 'Service',
    );
    for (const name of BROKEN) {
      const mine = recovered.filter((e) => e.regarding?.name === name);
      expect(mine, name).toHaveLength(1);
      expect(mine[0]?.reportingInstance?.startsWith(`t${shardOf(ns, name, 2)}-`), name).toBe(true);
    }

    // A Service created after its pod: the pod was dropped as it arrived (no Service of the shard
    // selected it); the owner reads it when the Service appears, and judges it.
    await applyYaml(kube, servicesWithPods(['late'], true).split('---')[1] ?? '', ns);
    await podIPs(kube, ns, BROKEN.length + HEALTHY.length + 2);
    await sleep(2000);
    await applyYaml(kube, servicesWithPods(['late'], true).split('---')[0] ?? '', ns);
    await annotationsWhen(kube, 'Service', ns, 'late', 'NoHealthyTargets', 120_000);
    const podEvent = await eventFor(kube, ns, 'Pod', 'late-1', 'ReadyButRefusing');
    expect(podEvent.reportingInstance?.startsWith(`t${shardOf(ns, 'late', 2)}-`)).toBe(true);
  }, 300_000);
});

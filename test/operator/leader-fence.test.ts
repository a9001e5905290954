import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventsV1Event } from '@kubernetes/client-node';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { AUDIT_LOG } from '../../cluster/controlplane.ts';
import { SHUTDOWN_BOUND_MS } from '../../src/cli/operator.ts';
import { FINDINGS_PATH } from '../../src/http/app.ts';
import { REPORTING_CONTROLLER } from '../../src/kube/events.ts';
import { eventually, patchPodAnnotations, type TestKube } from '../support/kube.ts';
import { CuttableProxy, type CuttableProxyOptions, viaProxy } from '../support/proxy.ts';
import {
  annotationsWhen,
  type LeaseTimings,
  leaseHolder,
  listEvents,
  metricSum,
  type Replica,
  scenarioNamespace,
  servicesWithPods,
  spawnReplica,
  stopOperatorProcess,
} from './support.ts';

/**
 * Writes stop the moment leadership ends. Two `sockeye operator` processes; the first leader talks
 * to the API server only through a TCP proxy the test controls (from 127.0.0.2, so the API server's
 * audit log tells its requests apart), the other directly. Services `s0…` each with one pod that
 * listens (healthy) until the test flips them to refusing: the leader then has Events and
 * annotation patches to write.
 */

const SERVICES = 5;
const names = Array.from({ length: SERVICES }, (_, i) => `s${i}`);
const scenario = servicesWithPods(names);

/** What a test starts, all stopped in afterAll whatever happened. */
function harness() {
  const replicas: Replica[] = [];
  const proxies: CuttableProxy[] = [];
  let tmp = '';
  afterAll(async () => {
    for (const r of replicas) await stopOperatorProcess(r);
    for (const p of proxies) await p.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });
  return {
    /** A replica whose API traffic goes through a new proxy; returns both. */
    async proxied(
      kube: TestKube,
      name: string,
      ns: string,
      lease: LeaseTimings,
      options: CuttableProxyOptions,
    ) {
      const server = new URL(kube.kc.getCurrentCluster()?.server ?? '');
      const proxy = new CuttableProxy({ host: server.hostname, port: Number(server.port || 443) }, options);
      proxies.push(proxy);
      await proxy.open();
      tmp ||= await mkdtemp(join(tmpdir(), 'sockeye-fence-'));
      const kubeconfig = join(tmp, `kubeconfig-${name}`);
      await writeFile(kubeconfig, viaProxy(kube.kc, proxy.port).exportConfig());
      const replica = await spawnReplica(name, ns, kubeconfig, lease, ['--confirmations=1']);
      replicas.push(replica);
      return { replica, proxy };
    },
    async direct(name: string, ns: string, lease: LeaseTimings) {
      const replica = await spawnReplica(name, ns, inject('kubeconfig'), lease, ['--confirmations=1']);
      replicas.push(replica);
      return replica;
    },
  };
}

const holderIs = (kube: TestKube, ns: string, name: string, timeoutMs = 60_000) =>
  eventually(
    `${name} to hold the Lease`,
    async () => ((await leaseHolder(kube, ns)) === name ? true : undefined),
    timeoutMs,
  );

const allAnnotated = (kube: TestKube, ns: string, status: string) =>
  Promise.all(names.map((n) => annotationsWhen(kube, 'Service', ns, n, status)));

const flip = (kube: TestKube, ns: string, listen: string | null) =>
  Promise.all(
    names.map((n) => patchPodAnnotations(kube, ns, `${n}-1`, { 'sim.sockeye.dev/listen': listen })),
  );

/** The process's exit code, or `undefined` when it still runs after `ms`. */
/** What SIGTERM -> exit may take beyond SHUTDOWN_BOUND_MS: the bound's timer firing late on a busy machine, and the exit. */
const EXIT_MARGIN_MS = 3_000;

const exitWithin = (r: Replica, ms: number) =>
  Promise.race([r.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms))]);

/** Events by `instance`: name -> series count (a series patch is a write too). */
const writtenBy = (events: readonly EventsV1Event[], instance: string) =>
  Object.fromEntries(
    events
      .filter((e) => e.reportingInstance === instance)
      .map((e) => [e.metadata?.name, e.series?.count ?? 1]),
  );

interface AuditEvent {
  readonly verb: string;
  readonly sourceIPs?: readonly string[];
  readonly requestReceivedTimestamp: string;
  readonly objectRef?: { resource?: string; namespace?: string; name?: string };
  readonly responseStatus?: { code?: number };
}

/** The writes the API server's audit log holds in `ns` from `sourceIP` (the local cluster only). */
async function auditedWrites(dir: string, ns: string, sourceIP: string): Promise<AuditEvent[]> {
  const text = await readFile(join(dir, AUDIT_LOG), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.objectRef?.namespace === ns && e.sourceIPs?.includes(sourceIP));
}

const OLD_LEADER_ADDRESS = '127.0.0.2';

describe('sockeye operator: losing the Lease stops every write of the old leader', () => {
  const s = scenarioNamespace('op-fence', scenario, SERVICES);
  const ns = s.ns;
  const h = harness();
  const local = inject('localCluster');
  // The old leader's fence closes at most RetryPeriod + RenewDeadline (7 s) after its last renewal;
  // the other replica waits LeaseDuration (10 s) from when it last saw the Lease change.
  const lease = { duration: '10s', renewDeadline: '6s', retryPeriod: '1s' };
  const deadlineMs = 1_000 + 6_000;

  it('drops its queued writes at the renew deadline and never resumes, while the new leader writes', async () => {
    const { replica: a, proxy } = await h.proxied(s.kube, 'fence-a', ns, lease, {
      localAddress: OLD_LEADER_ADDRESS,
    });
    await holderIs(s.kube, ns, a.name);
    const b = await h.direct('fence-b', ns, lease);
    await allAnnotated(s.kube, ns, 'Healthy');
    await eventually('the follower ready', async () =>
      (await fetch(`http://127.0.0.1:${b.port}/readyz`)).ok ? true : undefined,
    );

    // Cut the leader off, then break every backend: its probes (straight to the pods, not through
    // the proxy) find it, so it has Events and patches queued that cannot go out.
    const cutAt = Date.now();
    proxy.partition();
    await flip(s.kube, ns, null);
    await eventually(
      'the cut-off leader to have annotation writes queued',
      async () => ((await metricSum(a.port, 'sockeye_annotation_writes_pending')) > 0 ? true : undefined),
      deadlineMs,
    );

    // The other replica takes over and writes what the old one could not.
    await holderIs(s.kube, ns, b.name);
    await allAnnotated(s.kube, ns, 'NoHealthyTargets');
    await eventually('the new leader’s Warning Events', async () => {
      const mine = (await listEvents(s.kube, ns)).filter(
        (e) => e.reportingInstance === b.name && e.reason === 'NoHealthyTargets',
      );
      return mine.length === SERVICES ? true : undefined;
    });
    const before = writtenBy(await listEvents(s.kube, ns), a.name);

    // The network heals: whatever the old leader still held must not go out now.
    proxy.heal();
    const code = await exitWithin(a, 30_000);
    // It exits 1 (lost the Lease) or, still running, is a follower.
    if (code === undefined) {
      const { leading } = (await (await fetch(`http://127.0.0.1:${a.port}${FINDINGS_PATH}`)).json()) as {
        leading: boolean;
      };
      expect(leading).toBe(false);
      await new Promise((r) => setTimeout(r, 5_000));
    } else {
      expect(code).toBe(1);
    }
    expect(writtenBy(await listEvents(s.kube, ns), a.name)).toEqual(before);
    expect(await leaseHolder(s.kube, ns)).toBe(b.name);

    if (local) {
      // The audit log: the old leader wrote before the cut (so it is seen), nothing after its deadline.
      const writes = await auditedWrites(local.dir, ns, OLD_LEADER_ADDRESS);
      expect(writes.filter((w) => Date.parse(w.requestReceivedTimestamp) < cutAt).length).toBeGreaterThan(0);
      const late = writes.filter((w) => Date.parse(w.requestReceivedTimestamp) >= cutAt + deadlineMs);
      expect(late.map((w) => `${w.verb} ${w.objectRef?.resource}/${w.objectRef?.name}`)).toEqual([]);
    }
  });
});

describe('sockeye operator: SIGTERM hands over without losing or duplicating an Event', () => {
  const s = scenarioNamespace('op-sigterm', scenario, SERVICES);
  const ns = s.ns;
  const h = harness();
  const lease = { duration: '4s', renewDeadline: '3s', retryPeriod: '1s' };

  it('writes its queued Events before releasing the Lease; the successor inherits them', async () => {
    // A slow link: each Event the leader writes takes a few hundred ms, so they queue up.
    const { replica: a } = await h.proxied(s.kube, 'term-a', ns, lease, { delayMs: 250 });
    await holderIs(s.kube, ns, a.name);
    const b = await h.direct('term-b', ns, lease);
    await allAnnotated(s.kube, ns, 'Healthy');
    await eventually('the follower ready', async () =>
      (await fetch(`http://127.0.0.1:${b.port}/readyz`)).ok ? true : undefined,
    );

    await flip(s.kube, ns, null);
    const warningsBy = async (name: string) =>
      (await listEvents(s.kube, ns)).filter((e) => e.type === 'Warning' && e.reportingInstance === name);
    await eventually('the leader’s first Warning Event', async () =>
      (await warningsBy(a.name)).length > 0 ? true : undefined,
    );
    a.child.kill('SIGTERM');
    const atSigterm = (await warningsBy(a.name)).length;
    expect(await a.exited).toBe(0);
    // It had Events queued at SIGTERM and wrote them before it let go of the Lease.
    expect((await warningsBy(a.name)).length).toBeGreaterThan(atSigterm);

    await holderIs(s.kube, ns, b.name);
    await allAnnotated(s.kube, ns, 'NoHealthyTargets');
    // The successor has judged every Service (its findings say so) and written what it had to.
    await eventually('the successor to judge every Service', async () => {
      const { findings } = (await (await fetch(`http://127.0.0.1:${b.port}${FINDINGS_PATH}`)).json()) as {
        findings: { reason: string; object: { kind: string } }[];
      };
      const judged = findings.filter((f) => f.reason === 'NoHealthyTargets' && f.object.kind === 'Service');
      return judged.length === SERVICES ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 3_000));
    const perFinding = new Map<string, string[]>();
    // sockeye's only: the API server writes Warnings of its own (ClusterIPNotAllocated while it repairs).
    const sockeyes = (await listEvents(s.kube, ns)).filter(
      (x) => x.type === 'Warning' && x.reportingController === REPORTING_CONTROLLER,
    );
    for (const e of sockeyes) {
      const k = `${e.regarding?.kind}/${e.regarding?.name}/${e.reason}`;
      perFinding.set(k, [...(perFinding.get(k) ?? []), e.reportingInstance ?? '']);
    }
    const expected = names.flatMap((n) => [`Pod/${n}-1/ReadyButRefusing`, `Service/${n}/NoHealthyTargets`]);
    expect([...perFinding.keys()].sort()).toEqual(expected.sort());
    // One Event object per finding: none lost, none written again by the successor.
    expect([...perFinding.entries()].filter(([, by]) => by.length !== 1)).toEqual([]);
  });
});

describe('sockeye operator: SIGTERM with the API server unreachable', () => {
  const s = scenarioNamespace('op-sigterm-cut', scenario, SERVICES);
  const ns = s.ns;
  const h = harness();

  it('drops what it cannot write and exits 0, bounded, with its requests hanging', async () => {
    // Long enough that it still leads when told to stop: its writes in flight get the grace.
    const lease = { duration: '20s', renewDeadline: '15s', retryPeriod: '1s' };
    const { replica: a, proxy } = await h.proxied(s.kube, 'gone-a', ns, lease, {});
    await holderIs(s.kube, ns, a.name);
    await allAnnotated(s.kube, ns, 'Healthy');
    // Every request now hangs (a partition, not a refusal), the Lease release among them.
    proxy.partition();
    await flip(s.kube, ns, null);
    await eventually(
      'writes queued that cannot go out',
      async () => ((await metricSum(a.port, 'sockeye_annotation_writes_pending')) > 0 ? true : undefined),
      15_000,
    );
    const signalled = performance.now();
    a.child.kill('SIGTERM');
    // Waits well past the bound, so a broken bound shows as a time, not as a timeout.
    const code = await exitWithin(a, SHUTDOWN_BOUND_MS + 45_000);
    const tookMs = performance.now() - signalled;
    expect(code).toBe(0);
    // The bound the operator promises (and the chart's terminationGracePeriodSeconds is set above),
    // not a speed figure: the margin is for a loaded machine's timer and process exit.
    expect(tookMs).toBeLessThan(SHUTDOWN_BOUND_MS + EXIT_MARGIN_MS);
  });
});

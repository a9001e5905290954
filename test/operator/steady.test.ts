import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { AUDIT_LOG } from '../../cluster/controlplane.ts';
import { FIELD_MANAGER } from '../../src/kube/field-manager.ts';
import type { Dialer } from '../../src/probe/dialer.ts';
import { defaultDialer } from '../../src/probe/dialer.ts';
import { applyYaml, eventually, patchPodAnnotations } from '../support/kube.ts';
import { annotationsWhen, eventFor, listEvents, operatorScenario, podIPs } from './support.ts';

const scenario = `
apiVersion: v1
kind: Service
metadata: {name: good}
spec: {selector: {app: good}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: good-1, labels: {app: good}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: bad}
spec: {selector: {app: bad}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: bad-1, labels: {app: bad}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: flappy}
spec: {selector: {app: flappy}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: flappy-1, labels: {app: flappy}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
`;

/** A healthy Service added while the operator runs, and its pod. */
const late = {
  pod: `
apiVersion: v1
kind: Pod
metadata: {name: late-1, labels: {app: late}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
`,
  service: `
apiVersion: v1
kind: Service
metadata: {name: late}
spec: {selector: {app: late}, ports: [{name: http, port: 80, targetPort: 8080}]}
`,
};

/** Counts the dials per IP; passes them on to the real dialer. */
function countingDialer(): { dialer: Dialer; dials: Map<string, number>; total: () => number } {
  const dials = new Map<string, number>();
  return {
    dials,
    total: () => [...dials.values()].reduce((a, b) => a + b, 0),
    dialer: {
      name: 'counting',
      dial(ip, port, done) {
        dials.set(ip, (dials.get(ip) ?? 0) + 1);
        return defaultDialer.dial(ip, port, done);
      },
    },
  };
}

describe('sockeye operator: quiet in steady state, bounded under flapping', () => {
  const counting = countingDialer();
  const s = operatorScenario('op-steady', scenario, 3, { dialer: counting.dialer });

  const resourceVersions = async () => ({
    good: (await s.kube.core.readNamespacedService({ name: 'good', namespace: s.ns })).metadata
      ?.resourceVersion,
    bad: (await s.kube.core.readNamespacedService({ name: 'bad', namespace: s.ns })).metadata
      ?.resourceVersion,
    pod: (await s.kube.core.readNamespacedPod({ name: 'bad-1', namespace: s.ns })).metadata?.resourceVersion,
    events: (await listEvents(s.kube, s.ns))
      .map((e) => `${e.metadata?.name}@${e.metadata?.resourceVersion}`)
      .sort(),
  });

  it('writes nothing while nothing changes, over several probe cycles', async () => {
    await annotationsWhen(s.kube, 'Service', s.ns, 'good', 'Healthy');
    await annotationsWhen(s.kube, 'Service', s.ns, 'bad', 'NoHealthyTargets');
    await annotationsWhen(s.kube, 'Pod', s.ns, 'bad-1', 'NotListening');
    await eventFor(s.kube, s.ns, 'Pod', 'bad-1', 'ReadyButRefusing');
    // Let the recorder's writes land, then take the baseline.
    await eventually('the first Events written', async () =>
      (s.operator?.writes.events ?? 0) >= 2 ? true : undefined,
    );
    const writes = s.operator?.writes;
    const before = await resourceVersions();
    const dialsBefore = counting.dials.get(s.ips['good-1'] ?? '') ?? 0;
    // Each cycle probes good-1 once: wait for four more cycles.
    await eventually('four more probe cycles', async () =>
      (counting.dials.get(s.ips['good-1'] ?? '') ?? 0) >= dialsBefore + 4 ? true : undefined,
    );
    expect(s.operator?.writes).toEqual(writes);
    expect(await resourceVersions()).toEqual(before);
  });

  it('turns 20 flips of a backend into a bounded number of Events', async () => {
    await annotationsWhen(s.kube, 'Service', s.ns, 'flappy', 'Healthy');
    for (let i = 0; i < 20; i++) {
      const down = i % 2 === 0;
      await patchPodAnnotations(s.kube, s.ns, 'flappy-1', {
        'sim.sockeye.dev/listen': down ? '9999' : '8080',
      });
      await annotationsWhen(s.kube, 'Service', s.ns, 'flappy', down ? 'NoHealthyTargets' : 'Healthy');
    }
    await eventFor(s.kube, s.ns, 'Service', 'flappy', 'TargetsRecovered');
    const events = (await listEvents(s.kube, s.ns)).filter((e) => e.regarding?.name?.startsWith('flappy'));
    // Repeats fold into series: one Event object per (object, reason, message), not one per flip.
    const objects = new Set(events.map((e) => `${e.regarding?.kind}/${e.reason}`));
    expect(objects).toEqual(
      new Set([
        'Service/NoHealthyTargets',
        'Service/TargetsRecovered',
        'Pod/ReadyButRefusing',
        'Pod/TargetsRecovered',
      ]),
    );
    expect(events.length).toBe(4);
    // 10 failures and 10 recoveries per object were observed; the series count says so, within the
    // per-object spam budget (burst 25).
    for (const e of events) expect(e.series?.count ?? 1).toBeLessThanOrEqual(10);
    const total = events.reduce((n, e) => n + (e.series?.count ?? 1), 0);
    expect(total).toBeLessThanOrEqual(2 * 25);
  });

  it('says nothing about a new Service while the endpointslice controller lists its pods', async () => {
    // The pod first, then its Service: the operator judges the Service at once, before the controller
    // has written a slice listing the pod (no NoEndpoints then TargetsRecovered for a healthy Service).
    await applyYaml(s.kube, late.pod, s.ns);
    const ip = (await podIPs(s.kube, s.ns, 4))['late-1'] ?? '';
    await applyYaml(s.kube, late.service, s.ns);
    await annotationsWhen(s.kube, 'Service', s.ns, 'late', 'Healthy');
    // Two more probe cycles: an Event of the first judgement would have landed.
    const dials = counting.dials.get(ip) ?? 0;
    await eventually('two more probe cycles of late-1', async () =>
      (counting.dials.get(ip) ?? 0) >= dials + 2 ? true : undefined,
    );
    const about = (await listEvents(s.kube, s.ns)).filter((e) => e.regarding?.name === 'late');
    expect(about.map((e) => e.reason)).toEqual([]);
  });
});

const PODS = 4;
/** One Service over PODS pods that all listen: healthy from the start. */
const healthy = [
  `apiVersion: v1
kind: Service
metadata: {name: wide}
spec: {selector: {app: wide}, ports: [{name: http, port: 80, targetPort: 8080}]}`,
  ...Array.from(
    { length: PODS },
    (_, i) => `apiVersion: v1
kind: Pod
metadata: {name: wide-${i + 1}, labels: {app: wide}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}`,
  ),
].join('\n---\n');

/** `VERB resource/name` of every Service and Pod write the API server's audit log holds in `ns`. */
async function auditedWrites(dir: string, ns: string): Promise<string[]> {
  const text = await readFile(join(dir, AUDIT_LOG), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.includes(`"namespace":"${ns}"`))
    .map(
      (l) =>
        JSON.parse(l) as {
          verb: string;
          objectRef?: { resource?: string; namespace?: string; name?: string };
        },
    )
    .filter((e) => e.objectRef?.namespace === ns && ['services', 'pods'].includes(e.objectRef.resource ?? ''))
    .map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`);
}

describe('sockeye operator: a healthy Service costs one patch, its pods none', () => {
  const counting = countingDialer();
  // The scenario starts the operator once every pod is a ready endpoint (slicesCaughtUp): a Service
  // judged while its endpoints still arrive has a new summary per arrival, a patch each (CI saw 2).
  const s = operatorScenario('op-quiet', healthy, PODS, { dialer: counting.dialer });
  const local = inject('localCluster');

  it('patches the Service once in its first judgement and never writes a healthy pod', async () => {
    await annotationsWhen(s.kube, 'Service', s.ns, 'wide', 'Healthy');
    // Pod patches would follow the Service's at once: two more probe cycles of every pod leave time for any.
    const ips = Object.values(s.ips);
    expect(ips).toHaveLength(PODS);
    const before = ips.map((ip) => counting.dials.get(ip) ?? 0);
    await eventually('two more probe cycles of every pod', async () =>
      ips.every((ip, i) => (counting.dials.get(ip) ?? 0) >= (before[i] ?? 0) + 2) ? true : undefined,
    );
    expect(s.operator?.writes).toMatchObject({ patches: 1, patchErrors: 0 });
    for (const pod of (await s.kube.core.listNamespacedPod({ namespace: s.ns })).items) {
      const keys = Object.keys(pod.metadata?.annotations ?? {});
      expect(
        keys.filter((k) => k.startsWith('sockeye.dev/')),
        pod.metadata?.name,
      ).toEqual([]);
      const managers = (pod.metadata?.managedFields ?? []).map((m) => m.manager);
      expect(managers, pod.metadata?.name).not.toContain(FIELD_MANAGER);
    }
    // The API server's own record (the local cluster's audit log): one patch, on the Service.
    if (local)
      expect(
        await eventually('the Service patch in the audit log', async () => {
          const writes = await auditedWrites(local.dir, s.ns);
          return writes.length > 0 ? writes : undefined;
        }),
      ).toEqual(['patch services/wide']);
  });
});

import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyYaml,
  createNamespace,
  eventually,
  managedFieldsOf,
  ownedAnnotationKeys,
  patchPodAnnotations,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import {
  classes,
  deleteNamespaceAndSidecars,
  podIP,
  podWithSidecar,
  reporterRbac,
  SIDECAR_PORT,
  sidecarEvents,
  sidecarGet,
  sidecarLog,
  sidecarStatus,
} from './support.ts';

// Every pod runs the real `sockeye sidecar` inside its own network namespace; the app's sockets are
// the simulator's (sim.sockeye.dev/listen) in that same namespace.
describe('sockeye sidecar in a pod', () => {
  let kube: TestKube;
  const ns = uniqueNamespace('sidecar');
  const ips = new Map<string, string>();

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    await eventually('the default ServiceAccount', () =>
      kube.core.readNamespacedServiceAccount({ name: 'default', namespace: ns }),
    );
    await applyYaml(kube, reporterRbac(ns, 'reporter'), ns);
    const pods = [
      podWithSidecar({ name: 'listening', listen: '8080', serviceAccount: 'reporter' }),
      podWithSidecar({ name: 'loopback', listen: '8080@loopback', serviceAccount: 'reporter' }),
      podWithSidecar({ name: 'nothing', serviceAccount: 'reporter' }),
      podWithSidecar({ name: 'undeclared', listen: '8080,7000@loopback', serviceAccount: 'reporter' }),
      // Dual-stack pod whose app listens on IPv4 only.
      podWithSidecar({
        name: 'v4only',
        listen: '8080@ipv4',
        serviceAccount: 'reporter',
        annotations: { 'sim.sockeye.dev/ipv6': 'true' },
      }),
      // No RBAC: the default ServiceAccount may do nothing, so the ports come from --ports.
      podWithSidecar({ name: 'norbac', listen: '8080@loopback', sidecarArgs: ['--ports=http=8080'] }),
      podWithSidecar({
        name: 'notoken',
        listen: '8080@loopback',
        automountToken: false,
        sidecarArgs: ['--ports=8080'],
      }),
      podWithSidecar({
        name: 'flip',
        listen: '8080@loopback',
        serviceAccount: 'reporter',
        sidecar: { readinessProbe: { httpGet: { path: '/readyz', port: SIDECAR_PORT }, periodSeconds: 2 } },
      }),
    ];
    for (const body of pods) await kube.core.createNamespacedPod({ namespace: ns, body });
    for (const p of pods) ips.set(p.metadata!.name!, await podIP(kube, ns, p.metadata!.name!));
  });

  afterAll(async () => {
    if (kube) await deleteNamespaceAndSidecars(kube, ns, ips.values());
  });

  const ip = (pod: string) => ips.get(pod)!;

  it('classifies each port: listening, loopback only, nothing, undeclared listener', async () => {
    const listening = await sidecarStatus(ip('listening'), 'listening', (s) => s.ports.length > 0);
    expect(listening.portsFrom).toBe('pod spec');
    expect(classes(listening)).toEqual({ 8080: 'Listening' });
    expect(listening.ready).toBe(true);

    const loopback = await sidecarStatus(ip('loopback'), 'loopback', (s) => s.ports.length > 0);
    expect(classes(loopback)).toEqual({ 8080: 'ListeningOnLoopbackOnly' });
    expect(loopback.ports[0]?.detail).toBe(
      `open on 127.0.0.1 and ::1 only, not on ${ip('loopback')} (refused)`,
    );
    expect(loopback.ready).toBe(false);

    const nothing = await sidecarStatus(ip('nothing'), 'nothing', (s) => s.ports.length > 0);
    expect(classes(nothing)).toEqual({ 8080: 'NotListening' });

    const undeclared = await sidecarStatus(ip('undeclared'), 'undeclared', (s) => s.ports.length > 1);
    expect(classes(undeclared)).toEqual({ 8080: 'Listening', 7000: 'UndeclaredListener' });
    expect(undeclared.ports.find((p) => p.port === 7000)?.detail).toBe(
      'listens on 127.0.0.1 and ::1 but no container declares it',
    );
    // Undeclared listeners are informational: they do not make the pod unready.
    expect(undeclared.ready).toBe(true);
  });

  it('finds an app that listens on IPv4 only in a dual-stack pod', async () => {
    const v4only = await sidecarStatus(ip('v4only'), 'v4only', (s) => s.ports.length > 0);
    expect(classes(v4only)).toEqual({ 8080: 'WrongAddressFamily' });
    expect(v4only.ports[0]?.detail).toMatch(/2001:2:/);
  });

  it('writes Events and sockeye.dev annotations on its pod when the ServiceAccount may', async () => {
    const events = await eventually('a ListeningOnLoopbackOnly Event on the pod', async () => {
      const found = await sidecarEvents(kube, ns, 'loopback');
      return found.some((e) => e.reason === 'ListeningOnLoopbackOnly') ? found : undefined;
    });
    const event = events.find((e) => e.reason === 'ListeningOnLoopbackOnly')!;
    expect(event.type).toBe('Warning');
    expect(event.regarding?.kind).toBe('Pod');
    expect(event.note).toBe(
      `port p8080 (8080/TCP) is open on loopback but refuses on the pod IP ${ip('loopback')}: the app is bound to localhost; make the app bind 0.0.0.0 (or ::) instead of localhost; run: sockeye explain ListeningOnLoopbackOnly`,
    );
    const notListening = await eventually('a PortNotListening Event', async () => {
      const found = await sidecarEvents(kube, ns, 'nothing');
      return found.find((e) => e.reason === 'PortNotListening');
    });
    expect(notListening.note).toMatch(/^port p8080 \(8080\/TCP\) refuses connections on /);

    const pod = await eventually('the annotations', async () => {
      const p: V1Pod = await kube.core.readNamespacedPod({ name: 'loopback', namespace: ns });
      return p.metadata?.annotations?.['sockeye.dev/sidecar-status'] ? p : undefined;
    });
    const annotations = pod.metadata?.annotations ?? {};
    expect(annotations['sockeye.dev/sidecar-status']).toBe('NotListening');
    expect(annotations['sockeye.dev/sidecar-summary']).toBe('p8080 (8080): loopback only');
    expect(annotations['sockeye.dev/loopback-only']).toBe('8080');
    expect(annotations['sockeye.dev/sidecar-since']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Field manager sockeye owns exactly the sockeye.dev keys the sidecar wrote (README "GitOps tools").
    const owned = managedFieldsOf(pod.metadata, 'sockeye');
    expect(owned).toHaveLength(1);
    expect(owned[0] && ownedAnnotationKeys(owned[0])).toEqual(
      Object.keys(annotations)
        .filter((k) => k.startsWith('sockeye.dev/'))
        .sort(),
    );
    expect(event.metadata?.managedFields?.map((e) => e.manager)).toEqual(['sockeye']);

    const healthy = await eventually('the listening pod annotated Healthy', async () => {
      const p: V1Pod = await kube.core.readNamespacedPod({ name: 'listening', namespace: ns });
      return p.metadata?.annotations?.['sockeye.dev/sidecar-status'];
    });
    expect(healthy).toBe('Healthy');
  });

  it('keeps working without RBAC: ports from --ports, log and metrics, no Events or annotations', async () => {
    const s = await sidecarStatus(
      ip('norbac'),
      'norbac',
      (x) => x.api.read === 'forbidden' && x.ports.length > 0,
    );
    expect(s.portsFrom).toBe('flags');
    expect(classes(s)).toEqual({ 8080: 'ListeningOnLoopbackOnly' });
    const metrics = (await sidecarGet(ip('norbac'), '/metrics')).body;
    expect(metrics).toContain('sockeye_sidecar_port_class{port="8080",class="ListeningOnLoopbackOnly"} 1');
    const log = await eventually('the 403 in the log', async () => {
      const text = await sidecarLog(ns, 'norbac');
      return text.includes('may not (RBAC)') && text.includes('"class":"ListeningOnLoopbackOnly"')
        ? text
        : undefined;
    });
    expect(log).toContain('"channel":"read"');
    // The Event write was refused (403) and the sidecar stopped trying; nothing reached the pod.
    await sidecarStatus(ip('norbac'), 'events refused', (x) => x.api.event === 'forbidden');
    expect(await sidecarEvents(kube, ns, 'norbac')).toEqual([]);
    const p: V1Pod = await kube.core.readNamespacedPod({ name: 'norbac', namespace: ns });
    expect(p.metadata?.annotations?.['sockeye.dev/sidecar-status']).toBeUndefined();
  });

  it('keeps working with automountServiceAccountToken: false', async () => {
    const s = await sidecarStatus(ip('notoken'), 'notoken', (x) => x.ports.length > 0);
    expect(s.api).toEqual({ read: 'off', event: 'off', patch: 'off' });
    expect(s.portsFrom).toBe('flags');
    expect(classes(s)).toEqual({ 8080: 'ListeningOnLoopbackOnly' });
    expect((await sidecarGet(ip('notoken'), '/healthz')).status).toBe(200);
    expect(await sidecarLog(ns, 'notoken')).toContain('none (no ServiceAccount token mounted)');
  });

  it('/readyz follows the app, and drives the pod’s Ready condition as a readiness gate', async () => {
    const podReady = async () => {
      const p: V1Pod = await kube.core.readNamespacedPod({ name: 'flip', namespace: ns });
      return p.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    };
    await sidecarStatus(
      ip('flip'),
      'flip: loopback only',
      (s) => classes(s)[8080] === 'ListeningOnLoopbackOnly',
    );
    expect((await sidecarGet(ip('flip'), '/readyz')).status).toBe(503);
    await eventually('pod not Ready', async () => ((await podReady()) === 'False' ? true : undefined));

    await patchPodAnnotations(kube, ns, 'flip', { 'sim.sockeye.dev/listen': '8080' });
    await eventually('/readyz 200', async () =>
      (await sidecarGet(ip('flip'), '/readyz')).status === 200 ? true : undefined,
    );
    await eventually('pod Ready', async () => ((await podReady()) === 'True' ? true : undefined));
    const recovered = await eventually('TargetsRecovered', async () =>
      (await sidecarEvents(kube, ns, 'flip')).find((e) => e.reason === 'TargetsRecovered'),
    );
    expect(recovered.type).toBe('Normal');

    await patchPodAnnotations(kube, ns, 'flip', { 'sim.sockeye.dev/listen': null });
    await eventually('/readyz 503 again', async () =>
      (await sidecarGet(ip('flip'), '/readyz')).status === 503 ? true : undefined,
    );
    const s = await sidecarStatus(
      ip('flip'),
      'flip: not listening',
      (x) => classes(x)[8080] === 'NotListening',
    );
    expect(s.ready).toBe(false);
  });

  it('stays within a 64 MiB memory limit', async () => {
    // From source, as the simulator runs it (type stripping adds ~20 MiB that a compiled image does not
    // have). Anonymous memory is what a limit cannot reclaim; the rest is the node binary's pages.
    const s = await sidecarStatus(ip('listening'), 'ten rounds', (x) => x.rounds >= 10);
    const { rssBytes, anonBytes } = (s as unknown as { memory: { rssBytes: number; anonBytes: number } })
      .memory;
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    console.log(`sidecar after ${s.rounds} rounds: RSS ${mib(rssBytes)}, anonymous ${mib(anonBytes)}`);
    expect(anonBytes).toBeGreaterThan(0);
    expect(anonBytes).toBeLessThan(64 * 2 ** 20);
  });
});

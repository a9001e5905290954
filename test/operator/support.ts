import { EventsV1Api, type EventsV1Event, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadOperatorConfig } from '../../src/config/operator.ts';
import { logger } from '../../src/log.ts';
import { Operator, type OperatorOptions } from '../../src/operator/operator.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';

/** Short cycles for tests: 1 s interval, 500 ms timeout, no leader election, HTTP on a free loopback port. */
export function testConfig(namespaces: readonly string[], extra: readonly string[] = []) {
  return loadOperatorConfig({
    argv: [
      '--interval=1s',
      '--interval-jitter=0.1',
      '--timeout=500ms',
      '--no-leader-elect',
      '--http-host=127.0.0.1',
      // Plain HTTP on one port, as the test reads it (secure serving: test/operator/secure-metrics.test.ts).
      '--no-metrics-secure',
      '--http-port=0',
      '--pod-namespace=sockeye-system',
      '--pod-labels=app=sockeye',
      '--pod-name=sockeye-test',
      ...namespaces.map((ns) => `--namespace=${ns}`),
      ...extra,
    ],
    env: {},
    readFile: () => '',
  });
}

/** An operator in this process on the suite's cluster; stop it in afterAll. */
export async function startOperator(
  namespaces: readonly string[],
  options: Partial<Omit<OperatorOptions, 'kc' | 'config'>> & { argv?: readonly string[] } = {},
): Promise<Operator> {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  const operator = new Operator({
    kc,
    config: testConfig(namespaces, options.argv ?? []),
    logger: logger.child({ test: namespaces.join(',') }),
    ...options,
  });
  await operator.start();
  return operator;
}

export function eventsApi(kube: TestKube): EventsV1Api {
  return kube.kc.makeApiClient(EventsV1Api);
}

export async function listEvents(kube: TestKube, namespace: string): Promise<EventsV1Event[]> {
  return (await eventsApi(kube).listNamespacedEvent({ namespace })).items;
}

/** Waits for an Event with `reason` about `kind/name`; returns it. */
export function eventFor(
  kube: TestKube,
  namespace: string,
  kind: string,
  name: string,
  reason: string,
  timeoutMs = 60_000,
): Promise<EventsV1Event> {
  return eventually(
    `Event ${reason} on ${kind} ${namespace}/${name}`,
    async () =>
      (await listEvents(kube, namespace)).find(
        (e) => e.reason === reason && e.regarding?.kind === kind && e.regarding.name === name,
      ),
    timeoutMs,
  );
}

/** Waits until the object's sockeye.dev/status is `status`; returns its sockeye annotations. */
export function annotationsWhen(
  kube: TestKube,
  kind: 'Service' | 'Pod',
  namespace: string,
  name: string,
  status: string,
  timeoutMs = 60_000,
): Promise<Record<string, string>> {
  return eventually(
    `${kind} ${namespace}/${name} annotated ${status}`,
    async () => {
      const obj =
        kind === 'Service'
          ? await kube.core.readNamespacedService({ name, namespace })
          : await kube.core.readNamespacedPod({ name, namespace });
      const a = obj.metadata?.annotations ?? {};
      return a['sockeye.dev/status'] === status ? a : undefined;
    },
    timeoutMs,
  );
}

/** Waits until every pod of the namespace runs with an IP; returns name -> IP. */
export async function podIPs(
  kube: TestKube,
  namespace: string,
  count: number,
): Promise<Record<string, string>> {
  return eventually(`${count} pods running in ${namespace}`, async () => {
    const pods = (await kube.core.listNamespacedPod({ namespace })).items;
    const running = pods.filter((p) => p.status?.phase === 'Running' && p.status.podIP);
    if (running.length < count) return undefined;
    return Object.fromEntries(running.map((p) => [p.metadata?.name ?? '', p.status?.podIP ?? '']));
  });
}

/** What `operatorScenario` gives its tests; filled in by its `beforeAll`. */
export interface Scenario {
  readonly ns: string;
  kube: TestKube;
  operator: Operator;
  /** Pod name -> IP, once every pod runs. */
  ips: Record<string, string>;
}

/**
 * The set-up most operator tests share: a fresh namespace with `yaml` applied, its `pods` pods
 * running, and an operator watching it; the operator stopped and the namespace deleted after the
 * tests of the enclosing `describe`.
 */
export function operatorScenario(
  prefix: string,
  yaml: string,
  pods: number,
  options: Parameters<typeof startOperator>[1] = {},
): Scenario {
  const s = { ns: uniqueNamespace(prefix) } as Scenario;
  beforeAll(async () => {
    s.kube = testKube();
    await createNamespace(s.kube, s.ns);
    await applyYaml(s.kube, yaml, s.ns);
    s.ips = await podIPs(s.kube, s.ns, pods);
    s.operator = await startOperator([s.ns], options);
  });
  afterAll(async () => {
    await s.operator?.stop(2000);
    if (s.kube) await deleteNamespace(s.kube, s.ns);
  });
  return s;
}

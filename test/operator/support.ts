import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api, EventsV1Api, type EventsV1Event, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, inject } from 'vitest';
import { freePort } from '../../cluster/controlplane.ts';
import { loadOperatorConfig } from '../../src/config/operator.ts';
import { toEndpointSlice, toPod, toService } from '../../src/kube/convert.ts';
import { logger } from '../../src/log.ts';
import { Operator, type OperatorOptions } from '../../src/operator/operator.ts';
import { selectsPod } from '../../src/rules/selectors.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';

/**
 * The Service data path checks are the hop tests' (service-hops.test.ts), which turn them back on:
 * the other tests count Events and writes of pod-level scenarios.
 */
const NO_HOP_CHECKS = ['--no-check-cluster-ip', '--no-check-node-ports', '--no-check-load-balancers'];

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
      ...NO_HOP_CHECKS,
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

/**
 * sockeye's Events in `namespace` (operator and sidecar): the control plane writes Events of its own
 * into any namespace (kube-apiserver's repair loop a ClusterIPNotAllocated Warning while it catches
 * up), which no test here is about.
 */
export async function listEvents(kube: TestKube, namespace: string): Promise<EventsV1Event[]> {
  return (await eventsApi(kube).listNamespacedEvent({ namespace })).items.filter((e) =>
    e.reportingController?.startsWith('sockeye.dev/'),
  );
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

/**
 * Waits until the object's sockeye.dev/status is `status` (undefined: until it has none); returns its
 * annotations.
 */
export function annotationsWhen(
  kube: TestKube,
  kind: 'Service' | 'Pod',
  namespace: string,
  name: string,
  status: string | undefined,
  timeoutMs = 60_000,
): Promise<Record<string, string>> {
  return eventually(
    `${kind} ${namespace}/${name} ${status === undefined ? 'without sockeye.dev/status' : `annotated ${status}`}`,
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

/**
 * Waits until the EndpointSlices of every Service with a selector in `namespace` list each running pod
 * it selects, as ready when the pod is Ready. Under load the endpointslice controller can publish a
 * Service's pods over several updates after they run: an operator started before then judges the
 * Service without targets first (Unknown; NoEndpoints only once the start-up grace has passed), or
 * writes a new summary per arrival (3/3 open, then 4/4), and tests that count writes must not see that.
 */
export async function slicesCaughtUp(kube: TestKube, namespace: string): Promise<void> {
  await eventually(`EndpointSlices in ${namespace} listing every running pod`, async () => {
    const [services, pods, slices] = await Promise.all([
      kube.core.listNamespacedService({ namespace }),
      kube.core.listNamespacedPod({ namespace }),
      kube.discovery.listNamespacedEndpointSlice({ namespace }),
    ]);
    const domainPods = pods.items.map(toPod);
    const domainSlices = slices.items.map(toEndpointSlice);
    for (const service of services.items.map(toService)) {
      if (service.type === 'ExternalName') continue;
      const selected = domainPods.filter(
        (p) =>
          p.phase === 'Running' &&
          p.podIPs.length > 0 &&
          p.deletionTimestamp === undefined &&
          selectsPod(service.selector, p.labels),
      );
      /** Pod name -> whether its endpoint is ready. */
      const listed = new Map(
        domainSlices
          .filter((slice) => slice.serviceName === service.name)
          .flatMap((slice) => slice.endpoints)
          .map((e) => [e.targetRef?.name, e.ready]),
      );
      const caughtUp = selected.every((p) => {
        const ready = listed.get(p.name);
        return ready !== undefined && (ready || !p.ready);
      });
      if (!caughtUp) return undefined;
    }
    return true;
  });
}

/** What `scenarioNamespace` gives its tests; filled in by its `beforeAll`. */
export interface ScenarioNamespace {
  readonly ns: string;
  kube: TestKube;
  /** Pod name -> IP, once every pod runs. */
  ips: Record<string, string>;
}

/**
 * A fresh namespace with `yaml` applied and its `pods` pods running, for the tests of the enclosing
 * `describe`; deleted after them (after the enclosing describe's own `afterAll`s: hooks unwind).
 */
export function scenarioNamespace(prefix: string, yaml: string, pods: number): ScenarioNamespace {
  const s = { ns: uniqueNamespace(prefix) } as ScenarioNamespace;
  beforeAll(async () => {
    s.kube = testKube();
    await createNamespace(s.kube, s.ns);
    await applyYaml(s.kube, yaml, s.ns);
    s.ips = await podIPs(s.kube, s.ns, pods);
    await slicesCaughtUp(s.kube, s.ns);
  });
  afterAll(async () => {
    if (s.kube) await deleteNamespace(s.kube, s.ns);
  });
  return s;
}

/** One Service `web` (80 -> 8080) and its pod `web-1`, which refuses: the smallest scenario with a finding. */
export const REFUSING_WEB = `
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
`;

/** What `operatorScenario` gives its tests; filled in by its `beforeAll`. */
export interface Scenario extends ScenarioNamespace {
  operator: Operator;
}

/**
 * The set-up most operator tests share: `scenarioNamespace` and an operator watching it; the
 * operator stopped and the namespace deleted after the tests of the enclosing `describe`.
 */
export function operatorScenario(
  prefix: string,
  yaml: string,
  pods: number,
  options: Parameters<typeof startOperator>[1] = {},
): Scenario {
  const s = scenarioNamespace(prefix, yaml, pods) as Scenario;
  beforeAll(async () => {
    s.operator = await startOperator([s.ns], options);
  });
  afterAll(async () => {
    await s.operator?.stop(2000);
  });
  return s;
}

const sockeye = fileURLToPath(new URL('../../bin/sockeye.js', import.meta.url));

/** `sockeye operator` as its own process, serving HTTP on `port` (loopback). */
export interface OperatorProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<number | null>;
  /** The last lines it logged (stdout and stderr, in order), for a failed test to show. */
  logTail(): string;
}

/** Lines of a process's log kept for logTail. */
const LOG_TAIL_LINES = 200;

/**
 * Starts `sockeye operator ARGS` as a process (the real entry point: flags, kubeconfig loading,
 * signals), HTTP on a free loopback port, logging warnings only; `env` is added to this process's.
 * `entry` is this checkout's bin/sockeye.js (which runs src/) unless another tree's is given.
 */
export async function spawnOperator(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  entry = sockeye,
): Promise<OperatorProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [entry, 'operator', ...NO_HOP_CHECKS, ...args, '--http-host=127.0.0.1', `--http-port=${port}`],
    { env: { ...process.env, SOCKEYE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Read as it comes (a full pipe would stall the process), the last lines kept.
  const lines: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > LOG_TAIL_LINES) lines.splice(0, lines.length - LOG_TAIL_LINES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, port, exited, logTail: () => [...lines, partial].filter(Boolean).join('\n') };
}

/**
 * Runs a test's steps; when one fails, its error carries the operator process's last log lines (a
 * fault test that times out in CI says what the operator was doing instead of only what was missing).
 */
export async function showingLogOnFailure<T>(
  op: OperatorProcess | undefined,
  steps: () => Promise<T>,
): Promise<T> {
  try {
    return await steps();
  } catch (err) {
    const tail = op?.logTail() ?? '';
    if (err instanceof Error && tail !== '')
      err.message += `\n--- the operator's last log lines ---\n${tail}`;
    throw err;
  }
}

export async function stopOperatorProcess(op: OperatorProcess | undefined): Promise<void> {
  if (!op) return;
  if (running(op)) op.child.kill('SIGKILL');
  await op.exited;
}

export const running = (op: OperatorProcess) => op.child.exitCode === null && op.child.signalCode === null;

/** One replica of a leader-elected operator, by its pod name (its Lease identity and Events' reportingInstance). */
export interface Replica extends OperatorProcess {
  readonly name: string;
}

/** Lease timings, short so that tests see hand-overs in seconds. */
export interface LeaseTimings {
  readonly duration: string;
  readonly renewDeadline: string;
  readonly retryPeriod: string;
}

/**
 * `sockeye operator` as replica `name` watching `ns`, with leader election on the Lease
 * `sockeye-operator` in `ns`, through `kubeconfig`; `extra` flags are added.
 */
export function spawnReplica(
  name: string,
  ns: string,
  kubeconfig: string,
  lease: LeaseTimings = { duration: '4s', renewDeadline: '3s', retryPeriod: '1s' },
  extra: readonly string[] = [],
): Promise<Replica> {
  return spawnOperator(
    [
      `--namespace=${ns}`,
      `--lease-namespace=${ns}`,
      '--leader-elect',
      `--lease-duration=${lease.duration}`,
      `--renew-deadline=${lease.renewDeadline}`,
      `--retry-period=${lease.retryPeriod}`,
      '--interval=1s',
      '--timeout=500ms',
      // Plain HTTP on one port, as the tests read it (secure serving: test/operator/secure-metrics.test.ts).
      '--no-metrics-secure',
      `--pod-name=${name}`,
      '--pod-namespace=sockeye-system',
      ...extra,
    ],
    { KUBECONFIG: kubeconfig },
  ).then((op) => ({ name, ...op }));
}

/** The holder of the operator's Lease (`name`) in `ns` ('' when released). */
export async function leaseHolder(kube: TestKube, ns: string, name = 'sockeye-operator'): Promise<string> {
  const lease = await kube.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace: ns });
  return lease.spec?.holderIdentity ?? '';
}

/** Sums a metric family from an operator's /metrics text, e.g. all `sockeye_probes_total{…}` samples. */
export async function metricSum(port: number, name: string): Promise<number> {
  return (await scrape(port, name)).reduce((sum, s) => sum + s.value, 0);
}

/** A Service and its one pod per name; the pod listens on its port unless `refusing`. */
export const servicesWithPods = (names: readonly string[], refusing = false) =>
  names
    .map(
      (name) => `
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {selector: {app: ${name}}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: ${name}-1, labels: {app: ${name}}${refusing ? '' : ', annotations: {sim.sockeye.dev/listen: "8080"}'}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
`,
    )
    .join('---');
/** One sample of a scrape: its labels and value. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Scrapes the operator's /metrics and returns the samples of metric `name`. */
export async function scrape(port: number, name: string): Promise<Sample[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').flatMap((line) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) return [];
    const labels = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
    );
    return [{ labels, value: Number(m[3]) }];
  });
}

import { describe, expect, inject, it } from 'vitest';
import type { AuditReport } from '../../src/audit/report.ts';
import { main } from '../../src/bin/sockeye.ts';
import type { Finding } from '../../src/rules/types.ts';
import { captureIO } from '../net/cli-io.ts';
import { eventually } from '../support/kube.ts';
import { operatorScenario } from './support.ts';

/** A Deployment of one pod: its pods carry the ReplicaSet ownerReference sockeye reads as the Deployment. */
const deployment = (name: string, labels: string, ports: string, listen: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {${labels}}, annotations: {sim.sockeye.dev/listen: "${listen}"}}
    spec: {containers: [{name: app, image: ${name}, ports: [${ports}]}]}
`;

const service = (name: string, selector: string, targetPort: number | string) => `
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {selector: {${selector}}, ports: [{name: http, port: 80, targetPort: ${targetPort}}]}
`;

/** A pod without a listen annotation listens on nothing: every port refuses. */
const barePod = (name: string, labels: string, ports: string, listen?: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {${labels}}, annotations: {${listen === undefined ? '' : `sim.sockeye.dev/listen: "${listen}"`}}}
spec: {containers: [{name: app, image: ${name}, ports: [${ports}]}]}
`;

/** Each way a refusal can be a Service's fault or a pod's, side by side (issue 14). */
const scenario = [
  // Wrong numeric targetPort: the pods declare and serve 8080. The Service's findings only.
  service('orders', 'app: orders', 8081),
  deployment('orders', 'app: orders', '{name: http, containerPort: 8080}', '8080'),
  // A named targetPort the old pod does not define (rollout skew): TargetPortMismatch, kept.
  service('web', 'app: web', 'http'),
  barePod('web-new', 'app: web', '{name: http, containerPort: 8080}', '8080'),
  barePod('web-old', 'app: web', '{name: web, containerPort: 8080}', '8080'),
  // The selector also matches Deployment worker, which serves metrics only.
  service('api', 'tier: backend', 8080),
  deployment('api', 'app: api, tier: backend', '{name: http, containerPort: 8080}', '8080'),
  deployment('worker', 'app: worker, tier: backend', '{name: metrics, containerPort: 9100}', '9100'),
  // A pod that declares no ports and refuses: the pod-level finding stays.
  service('legacy', 'app: legacy', 8080),
  barePod('legacy-1', 'app: legacy', ''),
  // A pod that declares the port and refuses: the pod-level finding stays.
  service('pay', 'app: pay', 8080),
  barePod('pay-1', 'app: pay', '{name: http, containerPort: 8080}'),
].join('\n---\n');

type Row = string;
type Found = Pick<Finding, 'reason' | 'port' | 'severity'> & {
  readonly object: Pick<Finding['object'], 'kind' | 'name'>;
};
/** What both must agree on: reason, object (a Deployment's pods as NAME-*) and port, one line each, sorted. */
const rows = (findings: readonly Found[]): Row[] =>
  findings
    .map(
      (f) =>
        `${f.reason} ${f.object.kind}/${f.object.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, '-*')} ${f.port?.number ?? '-'}`,
    )
    .sort();

const EXPECTED: readonly Row[] = [
  'NoHealthyTargets Service/legacy 80',
  'NoHealthyTargets Service/orders 80',
  'NoHealthyTargets Service/pay 80',
  'ReadyButRefusing Pod/legacy-1 8080',
  'ReadyButRefusing Pod/pay-1 8080',
  'SelectorMatchesOtherWorkloads Service/api 80',
  'TargetPortMismatch Service/orders 80',
  'TargetPortMismatch Service/web 80',
];

describe('blame the object whose change fixes it: the operator and sockeye audit agree', () => {
  const s = operatorScenario('op-blame', scenario, 7);

  it('reports each case on the object to change, and the audit reports the same findings', async () => {
    const fromOperator = await eventually(
      'the operator reports every case',
      async () => {
        // TargetsRecovered needs a previous round, which the audit never has (a Service whose
        // endpoints came after the operator's first look recovers from NoEndpoints).
        const now = rows(s.operator.reconciler.findings().filter((f) => f.severity === 'Warning'));
        return EXPECTED.every((r) => now.includes(r)) ? now : undefined;
      },
      90_000,
    );
    expect(fromOperator).toEqual(EXPECTED);

    const c = captureIO();
    const code = await main(
      ['audit', '--kubeconfig', inject('kubeconfig'), '-n', s.ns, '--timeout', '500ms', '-o', 'json'],
      c.io,
    );
    expect(code, c.err()).toBe(1);
    const report = JSON.parse(c.out()) as AuditReport;
    expect(rows(report.findings)).toEqual(EXPECTED);

    const byReason = Object.fromEntries(report.findings.map((f) => [`${f.reason} ${f.object.name}`, f]));
    expect(byReason['NoHealthyTargets orders']?.message).toMatch(
      /^port http \(80\/TCP\): 1 ready target fails \(1 refused: orders-[a-z0-9]+-[a-z0-9]+\); the pod does not declare 8081\/TCP \(it declares 8080\/TCP \(http\)\): the Service's targetPort is likely wrong$/,
    );
    expect(byReason['SelectorMatchesOtherWorkloads api']?.message).toMatch(
      /^port http \(80\/TCP\): selector tier=backend also matches 1 pod of Deployment worker, which declares none of the Service's target ports and fails \(1 refused: worker-[a-z0-9]+-[a-z0-9]+\); the 1 pod that declares 8080\/TCP answers; add app=api to the selector to leave it out$/,
    );
  });
});

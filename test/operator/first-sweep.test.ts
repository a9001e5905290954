import { afterAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator/operator.ts';
import { eventually } from '../support/kube.ts';
import { scenarioNamespace, servicesWithPods, startOperator } from './support.ts';

const HEALTHY = 5;

const FINE = Array.from({ length: HEALTHY }, (_, i) => `fine-${i}`);

/** `HEALTHY` healthy Services, and `slow`, whose pod drops SYNs: its probes wait out their timeouts. */
const scenario = `${servicesWithPods(FINE)}---${servicesWithPods(['slow']).replace(
  'sim.sockeye.dev/listen: "8080"',
  'sim.sockeye.dev/listen: "8080/drop"',
)}`;

describe('sockeye operator: a first sweep writes what is broken first, what is fine after', () => {
  const s = scenarioNamespace('op-first', scenario, HEALTHY + 1);
  let operator: Operator | undefined;
  afterAll(async () => {
    await operator?.stop(2000);
  });

  it('writes no Healthy status before every Service is judged, and the others as they are judged', async () => {
    // `slow` takes two timeouts (a probe, then its confirmation): 4 s, against the few milliseconds a
    // healthy Service takes. Healthy statuses are held one interval at most: longer than that.
    operator = await startOperator([s.ns], { argv: ['--interval=10s', '--timeout=2s'] });
    const op = operator;
    // Services judged when the first Healthy status showed: with the healthy ones judged at once and
    // `slow` seconds later, a status written as it is judged shows while `slow` is still probing.
    let judgedAtFirstHealthy: number | undefined;
    const statuses = await eventually(
      'every Service annotated',
      async () => {
        const services = (await s.kube.core.listNamespacedService({ namespace: s.ns })).items;
        const status = Object.fromEntries(
          services.map((svc) => [
            svc.metadata?.name ?? '',
            svc.metadata?.annotations?.['sockeye.dev/status'],
          ]),
        );
        if (judgedAtFirstHealthy === undefined && Object.values(status).includes('Healthy'))
          judgedAtFirstHealthy = op.reconciler.tracked().reconciler_findings;
        return Object.values(status).every((v) => v !== undefined) ? status : undefined;
      },
      60_000,
    );
    expect(judgedAtFirstHealthy).toBe(HEALTHY + 1);
    expect(statuses).toMatchObject(Object.fromEntries(FINE.map((name) => [name, 'Healthy'])));
    expect(statuses.slow).not.toBe('Healthy');
    // Held back, not lost: one patch per Service, and one on the pod that drops (its Warning; pod
    // writes wait while Service writes are in flight).
    await eventually('the pod patch', async () => (op.writes.patches > HEALTHY + 1 ? true : undefined));
    expect(op.writes).toMatchObject({ patches: HEALTHY + 2, patchErrors: 0 });
  });
});

import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/kube.ts';
import { operatorScenario, scrape } from './support.ts';

/**
 * Rounds of pod churn under one Service whose pods refuse (so each pod gets a Warning, an Event and
 * annotations: every per-object map of the operator holds it). After each round's pods are deleted,
 * every `sockeye_tracked_objects` map returns to at most the live objects sockeye watches.
 */
const ROUNDS = 3;
const PODS = 1000;
/** Pod creations in flight: the simulator starts ~30-60 pods/s. */
const CREATE_CONCURRENCY = 16;

const service = `
apiVersion: v1
kind: Service
metadata: {name: churn}
spec: {selector: {app: churn}, ports: [{name: http, port: 80, targetPort: 8080}]}
`;

const podNamed = (name: string): V1Pod => ({
  metadata: { name, labels: { app: 'churn' } },
  spec: { containers: [{ name: 'app', image: 'web', ports: [{ name: 'http', containerPort: 8080 }] }] },
});

describe('sockeye operator: per-object state is bounded under pod churn', () => {
  const s = operatorScenario('op-churn', service, 0);

  const tracked = async () =>
    new Map((await scrape(s.operator.port, 'sockeye_tracked_objects')).map((x) => [x.labels.map, x.value]));

  /** What sockeye watches in the namespace now: its pods, Services and the Namespace itself. */
  const live = async () => {
    const [pods, services] = await Promise.all([
      s.kube.core.listNamespacedPod({ namespace: s.ns }),
      s.kube.core.listNamespacedService({ namespace: s.ns }),
    ]);
    return pods.items.length + services.items.length + 1;
  };

  async function createPods(round: number): Promise<void> {
    const names = Array.from({ length: PODS }, (_, i) => `churn-${round}-${i}`);
    await Promise.all(
      Array.from({ length: CREATE_CONCURRENCY }, async () => {
        for (let name = names.pop(); name !== undefined; name = names.pop())
          await s.kube.core.createNamespacedPod({ namespace: s.ns, body: podNamed(name) });
      }),
    );
  }

  for (let round = 1; round <= ROUNDS; round++) {
    it(`round ${round}: ${PODS} pods judged, deleted, forgotten`, { timeout: 600_000 }, async () => {
      await createPods(round);
      // The maps fill: every pod judged (the Service and the Namespace too).
      const peak = await eventually(
        `${PODS} pods judged`,
        async () => {
          const n = (await tracked()).get('reconciler_judged') ?? 0;
          return n >= PODS ? n : undefined;
        },
        300_000,
      );
      expect(peak).toBeGreaterThanOrEqual(PODS);

      await s.kube.core.deleteCollectionNamespacedPod({ namespace: s.ns, gracePeriodSeconds: 0 });
      await eventually('every pod gone', async () => ((await live()) === 2 ? true : undefined), 300_000);
      const settled = await eventually(
        'every tracked map back within the live objects',
        async () => {
          const [maps, objects] = [await tracked(), await live()];
          return [...maps.values()].every((n) => n <= objects) ? { maps, objects } : undefined;
        },
        120_000,
      ).catch(async (err: unknown) => {
        throw new Error(
          `${err instanceof Error ? err.message : String(err)}; tracked: ${JSON.stringify(Object.fromEntries(await tracked()))}`,
        );
      });
      expect(settled.maps.size).toBeGreaterThanOrEqual(7);
      expect(settled.objects).toBe(2);
    });
  }
});

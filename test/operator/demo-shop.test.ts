import type { CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokenShop } from '../../scripts/shop.ts';
import type { Operator } from '../../src/operator/operator.ts';
import {
  applyYaml,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { podIPs, startOperator } from './support.ts';

/** Warning Events of the namespace, as `kubectl get events --field-selector` lists them in the demo. */
async function warnings(
  kube: TestKube,
  namespace: string,
  kind: string,
  name?: string,
): Promise<CoreV1Event[]> {
  const fieldSelector = [
    `type=Warning`,
    `involvedObject.kind=${kind}`,
    ...(name ? [`involvedObject.name=${name}`] : []),
  ];
  return (await kube.core.listNamespacedEvent({ namespace, fieldSelector: fieldSelector.join(',') })).items;
}

/**
 * `npm run demo`'s broken shop (scripts/shop.ts, without its LoadBalancer, which only the demo's own
 * data path checks need) under the operator: Service orders sends to targetPort 8081 while its pods
 * declare and serve 8080. The Service is told its targetPort is likely wrong; its healthy pods get
 * no Warning (issue 14), while the pods of payments, which claim 8080 and refuse, still do.
 */
describe("the demo's broken shop: orders' Service is blamed, not its pods", () => {
  const ns = uniqueNamespace('demo-shop');
  const shop = brokenShop(ns);
  const pods = [...shop.matchAll(/replicas: (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  let kube: TestKube;
  let operator: Operator | undefined;

  beforeAll(async () => {
    kube = testKube();
    await applyYaml(kube, shop);
    await podIPs(kube, ns, pods);
    operator = await startOperator([ns]);
  });

  afterAll(async () => {
    await operator?.stop(2000);
    if (kube) await deleteNamespace(kube, ns);
  });

  it('says on Service orders that its targetPort is likely wrong, and warns none of its pods', async () => {
    // Both orders pods must be ready targets before the messages take their final form: a pod whose
    // endpoint is not ready yet makes the first judgement singular ("1 ready target fails"), and the
    // plural message is then a new Event.
    const mismatch =
      'port http (80/TCP): targetPort 8081/TCP is not declared by any of the 2 selected pods; they declare 8080/TCP (http)';
    const noHealthy =
      /^port http \(80\/TCP\): all 2 ready targets fail \(2 refused: orders-\S+, orders-\S+\); none of the 2 pods declares 8081\/TCP \(they declare 8080\/TCP \(http\)\): the Service's targetPort is likely wrong/;
    await eventually(
      'TargetPortMismatch and NoHealthyTargets on Service orders, about both of its pods',
      async () => {
        const events = await warnings(kube, ns, 'Service', 'orders');
        const said = (reason: string, matches: (m: string) => boolean) =>
          events.some((e) => e.reason === reason && matches(e.message ?? ''));
        return said('TargetPortMismatch', (m) => m.includes(mismatch)) &&
          said('NoHealthyTargets', (m) => noHealthy.test(m))
          ? true
          : undefined;
      },
      90_000,
    );

    // Pod-level Warnings are written (payments' pods claim 8080 and refuse it) ...
    const podWarnings = await eventually('ReadyButRefusing on both payments pods', async () => {
      const events = await warnings(kube, ns, 'Pod');
      const payments = events.filter(
        (e) => e.reason === 'ReadyButRefusing' && e.involvedObject.name?.startsWith('payments-'),
      );
      return payments.length === 2 ? events : undefined;
    });
    // ... and, by then, the operator has judged orders' pods too: none is among them.
    const judged = operator!.reconciler.findings();
    expect(
      judged
        .filter((f) => f.severity === 'Warning' && f.object.kind === 'Service' && f.object.name === 'orders')
        .map((f) => f.reason)
        .sort(),
    ).toEqual(['NoHealthyTargets', 'TargetPortMismatch']);
    expect(judged.filter((f) => f.object.kind === 'Pod' && f.object.name.startsWith('orders-'))).toEqual([]);
    expect(
      podWarnings
        .filter((e) => e.involvedObject.name?.startsWith('orders-'))
        .map((e) => `${e.involvedObject.name} ${e.reason}`),
    ).toEqual([]);
  });
});

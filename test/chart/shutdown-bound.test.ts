import { describe, expect, it } from 'vitest';
import { SHUTDOWN_BOUND_MS } from '../../src/cli/operator.ts';
import { ciDir, ciValuesFiles, parseObjects, renderChart } from './helm.ts';

/**
 * The operator bounds its shutdown (SHUTDOWN_BOUND_MS); the kubelet must not SIGKILL it before:
 * a replica killed mid-shutdown leaves its Lease to expire instead of handing it over.
 */
describe('charts/sockeye gives the operator time to shut down', () => {
  it('sets terminationGracePeriodSeconds above the operator’s shutdown bound, in every mode', async () => {
    for (const values of [[], ...ciValuesFiles().map((f) => [`${ciDir}${f}`])]) {
      const objects = parseObjects(await renderChart({ namespace: 'sockeye-system', valuesFiles: values }));
      const deployment = objects.find((o) => o.kind === 'Deployment') as
        | { spec: { template: { spec: { terminationGracePeriodSeconds?: number } } } }
        | undefined;
      const seconds = deployment?.spec.template.spec.terminationGracePeriodSeconds ?? 30;
      expect(seconds * 1000, `${values[0] ?? 'defaults'}`).toBeGreaterThan(SHUTDOWN_BOUND_MS);
    }
  });
});

/** The Service data path tests' shared parts (operator and audit): scenario YAML, broken nodes. */
import { type BrokenNode, breakNodeDataPath } from '../../cluster/datapath.ts';

/** A pod on `sim-node-N` declaring 8080 (`http`), listening on `listen` (the simulator's annotation). */
export const nodePod = (name: string, node: number, labels: string, listen: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {${labels}}, annotations: {sim.sockeye.dev/listen: "${listen}"}}
spec: {nodeName: sim-node-${node}, containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
---`;

/** A LoadBalancer Service, port `http` 80 -> 8080; `extra` goes on the spec (`, externalTrafficPolicy: Local`). */
export const lbService = (name: string, selector: string, extra = '', annotations = '{}') => `
apiVersion: v1
kind: Service
metadata: {name: ${name}, annotations: ${annotations}}
spec: {type: LoadBalancer, selector: {${selector}}, ports: [{name: http, port: 80, targetPort: 8080}]${extra}}
---`;

/**
 * Breaks simulated nodes' data paths for a test body and always restores them (again in `restoreAll`,
 * for `afterAll`: later test files share the cluster).
 */
export function nodeBreaker(cluster: { readonly id: string; readonly dir: string }) {
  const broken: BrokenNode[] = [];
  return {
    async withBrokenNode(node: string, body: () => Promise<void>): Promise<void> {
      const b = await breakNodeDataPath(cluster, node);
      broken.push(b);
      try {
        await body();
      } finally {
        await b.restore();
        broken.splice(broken.indexOf(b), 1);
      }
    },
    async restoreAll(): Promise<void> {
      for (const b of broken) await b.restore();
    },
  };
}

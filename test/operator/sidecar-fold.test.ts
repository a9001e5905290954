import { describe, expect, it } from 'vitest';
import { eventFor, operatorScenario } from './support.ts';

// A cache bound to 127.0.0.1. Its sidecar (not run here: see test/sidecar) has said so in the
// sockeye.dev/loopback-only annotation; a second pod is refused without that knowledge.
const scenario = `
apiVersion: v1
kind: Service
metadata: {name: cache}
spec: {selector: {app: cache}, ports: [{name: redis, port: 6379, targetPort: 6379}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: cache-1
  labels: {app: cache}
  annotations: {sim.sockeye.dev/listen: "6379@loopback", sockeye.dev/loopback-only: "6379"}
spec: {containers: [{name: redis, image: redis, ports: [{name: redis, containerPort: 6379}]}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: cache-2
  labels: {app: cache}
  annotations: {sim.sockeye.dev/listen: "6379@loopback"}
spec: {containers: [{name: redis, image: redis, ports: [{name: redis, containerPort: 6379}]}]}
`;

describe('the operator folds in what a sidecar says', () => {
  const s = operatorScenario('op-fold', scenario, 2);

  it('names ListeningOnLoopbackOnly for the pod whose sidecar saw it, and only the symptom for the other', async () => {
    const e = await eventFor(s.kube, s.ns, 'Pod', 'cache-1', 'ListeningOnLoopbackOnly');
    expect(e.type).toBe('Warning');
    expect(e.note).toContain('run: sockeye explain ListeningOnLoopbackOnly');
    const other = await eventFor(s.kube, s.ns, 'Pod', 'cache-2', 'ReadyButRefusing');
    expect(other.note).toContain('refuses');
  });
});

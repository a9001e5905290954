import { describe, expect, it } from 'vitest';
import { parseObjects } from '../test/chart/helm.ts';
import { chartProcess } from './chart-process.ts';

const rendered = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: sockeye}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sockeye-operator
  labels: {app.kubernetes.io/component: operator}
spec:
  template:
    spec:
      containers:
        - name: operator
          args: [operator, --check-node-ports=false]
          env:
            - {name: SOCKEYE_INTERVAL, value: "30s"}
            - name: SOCKEYE_POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            - name: SOCKEYE_NODE_NAME
              valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
            - {name: NODE_OPTIONS, value: "--max-old-space-size=192"}
            - {name: MALLOC_ARENA_MAX, value: "2"}
`;

describe('chartProcess', () => {
  it("takes the operator container's args and env, downward-API values from the fields given", () => {
    expect(chartProcess(parseObjects(rendered), { 'metadata.name': 'bench' })).toEqual({
      args: ['operator', '--check-node-ports=false'],
      env: {
        SOCKEYE_INTERVAL: '30s',
        SOCKEYE_POD_NAME: 'bench',
        NODE_OPTIONS: '--max-old-space-size=192',
        MALLOC_ARENA_MAX: '2',
      },
    });
  });

  it('names an env entry with neither a value nor a fieldRef', () => {
    const broken = rendered.replace('- {name: MALLOC_ARENA_MAX, value: "2"}', '- {name: MALLOC_ARENA_MAX}');
    expect(() => chartProcess(parseObjects(broken), {})).toThrow(
      'env MALLOC_ARENA_MAX: neither a value nor a fieldRef',
    );
  });

  it('fails when the render has no operator container', () => {
    expect(() => chartProcess(parseObjects(rendered.split('---')[0] ?? ''), {})).toThrow(/no operator/);
  });
});

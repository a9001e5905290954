import { describe, expect, it } from 'vitest';
import { patchPodAnnotations } from '../support/kube.ts';
import { annotationsWhen, eventFor, operatorScenario } from './support.ts';

/** One Service (and pods) per reason the operator can see; every pod declares the ports it serves. */
const scenario = `
apiVersion: v1
kind: Service
metadata: {name: frontend}
spec: {selector: {app: frontend}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend-1, labels: {app: frontend}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: lonely}
spec: {selector: {app: nobody}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: inventory}
spec: {selector: {app: inventory}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: inventory-1, labels: {app: inventory}, annotations: {sim.sockeye.dev/listen: "8080", sim.sockeye.dev/ready: "false"}}
spec: {containers: [{name: app, image: inv, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: payments}
spec: {selector: {app: payments}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: payments-1, labels: {app: payments}}
spec: {containers: [{name: app, image: pay, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, labels: {app: web}, annotations: {sim.sockeye.dev/listen: "8080,9100"}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9100}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, labels: {app: web}, annotations: {sim.sockeye.dev/listen: "9100"}}
spec: {containers: [{name: app, image: web, ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9100}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: orders}
spec: {selector: {app: orders}, ports: [{name: http, port: 80, targetPort: 9090}]}
---
apiVersion: v1
kind: Pod
metadata: {name: orders-1, labels: {app: orders}, annotations: {sim.sockeye.dev/listen: "8080,9100"}}
spec: {containers: [{name: app, image: orders, ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9100}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: metrics}
spec: {selector: {app: metrics}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: metrics-1, labels: {app: metrics}, annotations: {sim.sockeye.dev/listen: "8080"}}
spec: {containers: [{name: app, image: m, ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9100}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {selector: {app: db}, ports: [{name: pg, port: 5432, targetPort: 5432}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, labels: {app: db}, annotations: {sim.sockeye.dev/listen: "5432/drop"}}
spec: {containers: [{name: pg, image: pg, ports: [{name: pg, containerPort: 5432}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-deny-all}
spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}
---
apiVersion: v1
kind: Service
metadata: {name: typo, annotations: {sockeye.dev/timeout: banana}}
spec: {selector: {app: frontend}, ports: [{name: http, port: 80, targetPort: 8080}]}
`;

describe('sockeye operator: one Event and status per reason', () => {
  const s = operatorScenario('op-reasons', scenario, 8);

  const explain = (reason: string) => new RegExp(`; [^;]*; run: sockeye explain ${reason}$`);

  it('NoEndpoints: a selector that matches no pod', async () => {
    const e = await eventFor(s.kube, s.ns, 'Service', 'lonely', 'NoEndpoints');
    expect(e.type).toBe('Warning');
    expect(e.regarding?.namespace).toBe(s.ns);
    expect(e.note).toMatch(new RegExp(`^selector app=nobody matches no pod in namespace ${s.ns}`));
    expect(e.note).toMatch(explain('NoEndpoints'));
    const a = await annotationsWhen(s.kube, 'Service', s.ns, 'lonely', 'NoEndpoints');
    expect(a['sockeye.dev/summary']).toBe(`selector app=nobody matches no pod in namespace ${s.ns}`);
    expect(Number.isNaN(Date.parse(a['sockeye.dev/since'] ?? ''))).toBe(false);
  });

  it('NoReadyEndpoints: the only endpoint is not ready', async () => {
    const e = await eventFor(s.kube, s.ns, 'Service', 'inventory', 'NoReadyEndpoints');
    expect(e.type).toBe('Warning');
    expect(e.note).toMatch(/^1 endpoint, none ready: inventory-1 not ready; /);
    await annotationsWhen(s.kube, 'Service', s.ns, 'inventory', 'NoHealthyTargets');
  });

  it('NoHealthyTargets and ReadyButRefusing: every backend refuses', async () => {
    const e = await eventFor(s.kube, s.ns, 'Service', 'payments', 'NoHealthyTargets');
    expect(e.type).toBe('Warning');
    expect(e.note).toMatch(/^port http \(80\/TCP\): 1 ready target fails \(1 refused: payments-1\); /);
    expect(e.note).toMatch(explain('NoHealthyTargets'));
    const a = await annotationsWhen(s.kube, 'Service', s.ns, 'payments', 'NoHealthyTargets');
    expect(a['sockeye.dev/summary']).toBe('http: 0/1 open, 1 refused (pod payments-1 8080)');
    const p = await eventFor(s.kube, s.ns, 'Pod', 'payments-1', 'ReadyButRefusing');
    expect(p.type).toBe('Warning');
    expect(p.note).toMatch(
      new RegExp(
        `^pod is Ready but port http \\(8080/TCP\\), a target of Service payments, refuses on ${s.ips['payments-1']?.replaceAll('.', '\\.')}; the pod has no readiness probe; `,
      ),
    );
    await annotationsWhen(s.kube, 'Pod', s.ns, 'payments-1', 'NotListening');
  });

  it('TargetsRefusing: one of two backends refuses', async () => {
    const e = await eventFor(s.kube, s.ns, 'Service', 'web', 'TargetsRefusing');
    expect(e.type).toBe('Warning');
    expect(e.note).toMatch(/^port http \(80\/TCP\): 1 of 2 ready targets fails \(1 refused: web-b\); /);
    const a = await annotationsWhen(s.kube, 'Service', s.ns, 'web', 'Degraded');
    expect(a['sockeye.dev/summary']).toBe('http: 1/2 open, 1 refused (pod web-b 8080)');
  });

  it('TargetPortMismatch: the targetPort is not declared by the pods', async () => {
    const e = await eventFor(s.kube, s.ns, 'Service', 'orders', 'TargetPortMismatch');
    expect(e.type).toBe('Warning');
    expect(e.note).toMatch(
      /^port http \(80\/TCP\): targetPort 9090\/TCP is not declared by the selected pod; it declares 8080\/TCP \(http\), 9100\/TCP \(metrics\); /,
    );
  });

  it('PortNotListening: a declared port no Service sends to refuses', async () => {
    const e = await eventFor(s.kube, s.ns, 'Pod', 'metrics-1', 'PortNotListening');
    expect(e.type).toBe('Warning');
    expect(e.note).toBe(
      `port metrics (9100/TCP) refuses connections on ${s.ips['metrics-1']}: nothing listens on it; check the listening sockets in the pod (kubectl exec POD -- ss -ltn); run: sockeye explain PortNotListening`,
    );
    const a = await annotationsWhen(s.kube, 'Pod', s.ns, 'metrics-1', 'NotListening');
    expect(a['sockeye.dev/summary']).toBe('http: open; metrics: refused');
    await annotationsWhen(s.kube, 'Service', s.ns, 'metrics', 'Healthy');
  });

  it('ConnectTimeout: names the NetworkPolicy that drops the probe', async () => {
    const e = await eventFor(s.kube, s.ns, 'Pod', 'db-1', 'ConnectTimeout');
    expect(e.type).toBe('Warning');
    expect(e.note).toMatch(
      new RegExp(
        `^port pg \\(5432/TCP\\) times out on ${s.ips['db-1']?.replaceAll('.', '\\.')}: dropped by NetworkPolicy ${s.ns}/db-deny-all \\(ingress to the pod\\); `,
      ),
    );
    await annotationsWhen(s.kube, 'Service', s.ns, 'db', 'NoHealthyTargets');
  });

  it('InvalidConfiguration: a sockeye.dev annotation that does not parse', async () => {
    const e = await eventFor(s.kube, s.ns, 'Service', 'typo', 'InvalidConfiguration');
    expect(e.type).toBe('Warning');
    expect(e.note).toMatch(/^annotation sockeye\.dev\/timeout="banana" is ignored: .*; defaults apply; /);
    await annotationsWhen(s.kube, 'Service', s.ns, 'typo', 'Healthy');
  });

  it('Healthy: a Service whose backends all accept gets a Healthy status and no Event', async () => {
    const a = await annotationsWhen(s.kube, 'Service', s.ns, 'frontend', 'Healthy');
    expect(a['sockeye.dev/summary']).toBe('http: 1/1 open');
  });

  it('TargetsRecovered: fixing payments clears the Warnings with Normal Events', async () => {
    await annotationsWhen(s.kube, 'Service', s.ns, 'payments', 'NoHealthyTargets');
    await patchPodAnnotations(s.kube, s.ns, 'payments-1', { 'sim.sockeye.dev/listen': '8080' });
    const e = await eventFor(s.kube, s.ns, 'Service', 'payments', 'TargetsRecovered');
    expect(e.type).toBe('Normal');
    expect(e.note).toMatch(/^NoHealthyTargets no longer holds for port http \(80\/TCP\); /);
    const p = await eventFor(s.kube, s.ns, 'Pod', 'payments-1', 'TargetsRecovered');
    expect(p.note).toMatch(/^ReadyButRefusing no longer holds for port http \(8080\/TCP\); /);
    // A pod carries sockeye's annotations only while a finding about it holds.
    const pod = await annotationsWhen(s.kube, 'Pod', s.ns, 'payments-1', undefined);
    expect(Object.keys(pod).filter((k) => k.startsWith('sockeye.dev/'))).toEqual([]);
    const a = await annotationsWhen(s.kube, 'Service', s.ns, 'payments', 'Healthy');
    expect(a['sockeye.dev/summary']).toBe('http: 1/1 open');
  });
});

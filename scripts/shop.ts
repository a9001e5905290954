/**
 * The demo's broken shop: one healthy Service and five ways for backends to refuse, as plain
 * Kubernetes YAML for the local cluster's pod simulator. Shared by `npm run demo` and the chart's
 * end-to-end test. `loadBalancer` adds a broken LoadBalancer Service (the demo's): its one pod
 * answers, but the load balancer ignores the health checks of an `externalTrafficPolicy: Local`
 * Service and sends to nodes without an endpoint.
 */
export function brokenShop(ns: string, options: { readonly loadBalancer?: boolean } = {}): string {
  const deployment = (name: string, port: number, annotations: Record<string, string>, replicas = 2) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${ns}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata:
      labels: {app: ${name}}
      annotations: ${JSON.stringify(annotations)}
    spec:
      containers: [{name: ${name}, image: shop/${name}, ports: [{name: http, containerPort: ${port}}]}]
`;
  const service = (name: string, port: number, targetPort: number | string, portName = 'http') => `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec: {selector: {app: ${name}}, ports: [{name: ${portName}, port: ${port}, targetPort: ${targetPort}}]}
`;
  return [
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}`,
    // Healthy: listens where the Service sends.
    deployment('frontend', 8080, { 'sim.sockeye.dev/listen': '8080' }),
    service('frontend', 80, 'http'),
    // Its pods run and are Ready, but nothing listens on 8080.
    deployment('payments', 8080, { 'sim.sockeye.dev/listen': '9999' }),
    service('payments', 80, 'http'),
    // The Service targets 8081; the pods declare and listen on 8080.
    deployment('orders', 8080, { 'sim.sockeye.dev/listen': '8080' }),
    service('orders', 80, 8081),
    // Redis bound to 127.0.0.1: refused on the pod IP.
    deployment('cache', 6379, { 'sim.sockeye.dev/listen': '6379@loopback' }, 1),
    service('cache', 6379, 'http', 'redis'),
    // Pods that never become Ready.
    deployment('inventory', 8080, { 'sim.sockeye.dev/listen': '8080', 'sim.sockeye.dev/ready': 'false' }),
    service('inventory', 80, 'http'),
    // The database's SYNs are dropped, as a default-deny NetworkPolicy would.
    deployment('db', 5432, { 'sim.sockeye.dev/listen': '5432/drop' }, 1),
    service('db', 5432, 'http', 'postgres'),
    `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-default-deny, namespace: ${ns}}
spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}`,
    ...(options.loadBalancer
      ? [
          deployment('storefront', 8080, { 'sim.sockeye.dev/listen': '8080' }, 1),
          `apiVersion: v1
kind: Service
metadata: {name: storefront, namespace: ${ns}, annotations: {sim.sockeye.dev/lb-health-checks: ignore}}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: storefront}
  ports: [{name: http, port: 80, targetPort: http}]`,
        ]
      : []),
  ].join('\n---\n');
}

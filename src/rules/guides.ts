/**
 * The troubleshooting guide of every reason, printed by `sockeye explain REASON`. Typed as a record over
 * the catalog, so a new reason without a guide does not compile.
 */
import type { Reason } from './catalog.ts';

export interface Guide {
  /** What the finding means, in a sentence or two. */
  readonly meaning: string;
  readonly causes: readonly string[];
  /** Commands that confirm it; NS, SVC, POD, PORT and IP are placeholders. */
  readonly confirm: readonly string[];
  readonly fix: readonly string[];
}

export const GUIDES: Record<Reason, Guide> = {
  NoEndpoints: {
    meaning:
      'The Service has a selector, but no EndpointSlice lists a single address for it. Connections to its ClusterIP are refused (or time out, depending on kube-proxy mode) because there is nothing to forward to.',
    causes: [
      'The selector does not match the pod labels (a typo, or the Deployment template changed its labels).',
      'The matching pods have no IP yet (Pending: unschedulable, pulling images) or are not Running (Failed, Succeeded).',
      'The pods are in another namespace: a Service only selects pods in its own namespace.',
      'The pods run on a Node object that does not exist, so the endpointslice controller skips them.',
    ],
    confirm: [
      'kubectl get svc SVC -n NS -o jsonpath={.spec.selector}',
      'kubectl get pods -n NS -l KEY=VALUE -o wide',
      'kubectl get endpointslices -n NS -l kubernetes.io/service-name=SVC',
    ],
    fix: [
      'Make the Service selector and the pod template labels agree.',
      'Fix why the pods are not Running (kubectl describe pod POD -n NS: Events).',
    ],
  },
  NoReadyEndpoints: {
    meaning:
      'The Service has endpoints, but none of them is ready: every pod is failing its readiness probe or terminating. kube-proxy sends traffic to ready endpoints only, so nothing answers.',
    causes: [
      'The readiness probe fails (wrong path or port, too short a timeout, a dependency down).',
      'All pods are terminating (a rollout or scale-down with no new pod ready yet).',
      'The application is starting slowly and has not become ready yet.',
    ],
    confirm: [
      'kubectl get endpointslices -n NS -l kubernetes.io/service-name=SVC -o yaml   # conditions.ready/serving/terminating',
      'kubectl describe pod POD -n NS   # Readiness probe failed: ...',
      'kubectl get pod POD -n NS -o jsonpath={.spec.containers[*].readinessProbe}',
    ],
    fix: [
      'Fix the readiness probe or the application behind it.',
      'Give the rollout room: maxUnavailable 0, or a PodDisruptionBudget.',
      'If clients must reach pods before they are ready (peer discovery), set publishNotReadyAddresses: true.',
    ],
  },
  NoHealthyTargets: {
    meaning:
      'Every ready backend of one Service port refused or timed out when sockeye connected to it. A load balancer or kube-proxy in front has nothing healthy to send to.',
    causes: [
      'The targetPort is not the port the application listens on (the message says so when no pod declares it).',
      'The application listens on 127.0.0.1 only.',
      'A NetworkPolicy, node firewall or security group drops the traffic (timeouts).',
      'The readiness probe checks something else, so broken pods stay Ready.',
    ],
    confirm: [
      'kubectl exec POD -n NS -- ss -ltnp   # what listens, on which address',
      'kubectl get svc SVC -n NS -o jsonpath={.spec.ports}',
      'kubectl run probe --rm -it --image=busybox -- nc -vz -w 2 IP PORT',
    ],
    fix: [
      'Point targetPort at the port the application listens on, or make it listen there.',
      'Bind the application to 0.0.0.0 (or ::).',
      'See the pod findings (PortNotListening, ReadyButRefusing, ConnectTimeout) for each backend that declares the port; pods that do not declare it get none.',
    ],
  },
  TargetsRefusing: {
    meaning:
      'Some, but not all, ready backends of one Service port refused or timed out. The Service works for part of the traffic: clients see intermittent connection errors.',
    causes: [
      'Pods from two generations of a rollout behave differently (new port, new bind address).',
      'Some pods crashed their listener but stay Ready (the readiness probe does not check the serving port).',
      'A NetworkPolicy or firewall applies on some nodes only.',
      'Some selected pods do not declare the port: an older generation (numeric targetPort changed), or another workload the selector also matches (the message names them).',
    ],
    confirm: [
      'kubectl get pods -n NS -l KEY=VALUE -o wide   # compare failing pods with healthy ones: image, node, age',
      'kubectl exec POD -n NS -- ss -ltnp',
      'kubectl run probe --rm -it --image=busybox -- nc -vz -w 2 IP PORT',
    ],
    fix: [
      'Fix or replace the failing pods; make the readiness probe check the serving port so they leave rotation.',
      'Finish or roll back a half-done rollout.',
    ],
  },
  TargetPortMismatch: {
    meaning:
      "A Service port's targetPort does not match the selected pods' declared containerPorts. A named targetPort that no pod defines leaves the Service with no target for that port; a number no pod declares is often a typo.",
    causes: [
      'A numeric targetPort that differs from the containerPort (8000 vs 8080).',
      'A named targetPort misspelt, or renamed in the pod template but not in the Service.',
      'A rollout in progress where only new (or only old) pods define the port name.',
    ],
    confirm: [
      'kubectl get svc SVC -n NS -o jsonpath={.spec.ports}',
      'kubectl get pods -n NS -l KEY=VALUE -o jsonpath=\'{range .items[*]}{.metadata.name}{" "}{.spec.containers[*].ports}{"\\n"}{end}\'',
      'kubectl get endpointslices -n NS -l kubernetes.io/service-name=SVC -o jsonpath={.items[*].ports}',
    ],
    fix: [
      'Make targetPort name a containerPort (by name or number) that every selected pod declares.',
      'When renaming a port, keep the old name in the pod template until the Service uses the new one.',
    ],
  },
  SelectorMatchesOtherWorkloads: {
    meaning:
      "The Service's selector also matches pods of another workload. Those pods declare none of the ports the Service sends to and refuse them, while the pods that declare the port answer: clients of the Service fail whenever kube-proxy picks one of the other workload's pods. The fix is the Service's selector, not those pods.",
    causes: [
      'A selector on a label several workloads share (tier=backend, part-of=shop) and nothing more specific.',
      'A worker, metrics or migration Deployment given the same labels as the serving pods (copied from the same template).',
    ],
    confirm: [
      'kubectl get svc SVC -n NS -o jsonpath={.spec.selector}',
      'kubectl get pods -n NS -l KEY=VALUE --show-labels   # which workloads the selector matches',
      'kubectl get endpointslices -n NS -l kubernetes.io/service-name=SVC -o wide',
    ],
    fix: [
      'Add the label the message names (one only the serving pods carry) to the Service selector.',
      "Or change the other workload's pod template labels so the selector no longer matches them.",
    ],
  },
  ServiceIPNotForwarding: {
    meaning:
      "Every backend of the Service port answers on its pod IP, yet a connection to the Service's ClusterIP, made from the node sockeye runs on, is refused or times out. The pods are fine: that node's Service data path (kube-proxy, or the CNI where it replaces kube-proxy) does not forward the ClusterIP to them, so every client on that node fails.",
    causes: [
      'kube-proxy is not running on the node (crash-looping, evicted, its DaemonSet not scheduled there).',
      "kube-proxy's rules on the node are missing or stale (flushed by another tool, a failed sync: see its logs).",
      "The CNI's own service handling (eBPF kube-proxy replacement) failed on the node.",
      'A host firewall on the node drops traffic to the Service range.',
    ],
    confirm: [
      'kubectl get pods -n kube-system -o wide --field-selector spec.nodeName=NODE   # kube-proxy on the node',
      'kubectl logs -n kube-system KUBE_PROXY_POD',
      'nft list table ip kube-proxy   # on the node (iptables-save | grep KUBE-SVC in iptables mode)',
      'sockeye probe svc/SVC -n NS   # from a pod on another node',
    ],
    fix: [
      'Restart kube-proxy (or the CNI agent) on the node; find why it stopped in its logs.',
      "Remove whatever flushes the node's rules, or the firewall rule that drops the Service range.",
    ],
  },
  NodePortFailing: {
    meaning:
      "Every backend of the Service port answers, yet the Service's NodePort is refused or times out on some nodes' InternalIPs (or on all of them) while it should forward there. With externalTrafficPolicy: Local only nodes with a local ready endpoint forward: the others drop the NodePort by design and are not reported.",
    causes: [
      'kube-proxy is not running, or its rules are stale, on the failing nodes.',
      'A node firewall or cloud security group blocks the NodePort range on those nodes.',
      "kube-proxy's --nodeport-addresses leaves out the node's InternalIP.",
    ],
    confirm: [
      'kubectl get svc SVC -n NS -o jsonpath={.spec.ports[*].nodePort}',
      'nc -vz NODE_IP NODEPORT   # from another node',
      "kubectl logs -n kube-system KUBE_PROXY_POD   # the failing node's",
    ],
    fix: [
      'Restart kube-proxy (or the CNI agent) on the failing nodes; find why it stopped.',
      'Open the NodePort range (default 30000-32767) in the node firewall or security group.',
    ],
  },
  LoadBalancerFailing: {
    meaning:
      "Every backend of the Service port answers, yet the load balancer's address (status.loadBalancer.ingress) refuses or times out. The load balancer has no healthy target, or it sends to nodes that drop the traffic: with externalTrafficPolicy: Local, nodes without a local endpoint, whose health check (healthCheckNodePort) tells the load balancer to leave them out.",
    causes: [
      'The load balancer ignores the health checks (or checks the wrong port) and sends to nodes without a local endpoint.',
      "Its health checks fail on every node (a firewall blocks the health check port, kube-proxy's /healthz is down).",
      'Its target nodes or listeners are wrong (nodes missing from the pool, a listener on another port).',
      'The NodePort itself fails on the nodes (NodePortFailing says so).',
    ],
    confirm: [
      'kubectl describe svc SVC -n NS   # LoadBalancer Ingress, NodePort, HealthCheck NodePort, Events',
      "curl -s -o /dev/null -w '%{http_code}' http://NODE_IP:HEALTH_CHECK_NODE_PORT/   # 200 only with a local endpoint",
      "the load balancer's target health in the cloud console or its controller's logs",
    ],
    fix: [
      "Make the load balancer use the Service's healthCheckNodePort (externalTrafficPolicy: Local) or kube-proxy's /healthz.",
      'Run a backend on every node the load balancer targets, or use externalTrafficPolicy: Cluster.',
      "Fix the load balancer's targets and listeners; open the health check port in the node firewall.",
    ],
  },
  PortNotListening: {
    meaning:
      'A port the pod declares (or, for a pod that declares no ports, a port a Service sends to) refused the connection on the pod IP: the pod is reachable, but nothing listens on that port at that address. A pod that declares other ports only is not blamed for a Service port it never declared: the Service gets the finding (its targetPort or selector is wrong).',
    causes: [
      'The application listens on another port than the one declared.',
      'The application crashed or has not started its listener.',
      'The application listens on one address family only (IPv4 but not IPv6, or the reverse).',
    ],
    confirm: [
      'kubectl exec POD -n NS -- ss -ltnp',
      'kubectl logs POD -n NS',
      'kubectl run probe --rm -it --image=busybox -- nc -vz -w 2 IP PORT',
    ],
    fix: [
      'Make the application listen on the declared port, or declare the port it listens on.',
      'On dual-stack clusters, bind [::] with IPV6_V6ONLY off, or both 0.0.0.0 and [::].',
    ],
  },
  ListeningOnLoopbackOnly: {
    meaning:
      'Inside the pod the port is open on 127.0.0.1 (or ::1), but connections to the pod IP are refused: the application is bound to localhost, so nothing outside the pod can reach it.',
    causes: [
      'Framework defaults that bind localhost (development servers, many admin endpoints).',
      'A --host/--bind flag or environment variable set to 127.0.0.1 or localhost.',
    ],
    confirm: [
      'kubectl exec POD -n NS -- ss -ltn   # Local Address shows 127.0.0.1:PORT',
      'kubectl exec POD -n NS -- nc -vz 127.0.0.1 PORT',
      'kubectl run probe --rm -it --image=busybox -- nc -vz -w 2 IP PORT',
    ],
    fix: ['Bind 0.0.0.0 (or :: for dual-stack), e.g. --host 0.0.0.0, HOST=0.0.0.0, server.address=0.0.0.0.'],
  },
  ReadyButRefusing: {
    meaning:
      'The pod claims the port a Service sends to (it declares it, or declares no ports), is Ready, so the Service sends it traffic, and the port refuses. The message says what the readiness probe checks: another port, a command, or nothing, so it cannot see that the serving port is down; or this very port, so the listener went away since the last probe.',
    causes: [
      'No readiness probe: a running container counts as Ready.',
      'The readiness probe checks an admin or metrics port, not the serving one.',
      'An exec readiness probe that does not test the listener.',
    ],
    confirm: [
      'kubectl get pod POD -n NS -o jsonpath={.spec.containers[*].readinessProbe}',
      'kubectl exec POD -n NS -- ss -ltnp',
      'kubectl run probe --rm -it --image=busybox -- nc -vz -w 2 IP PORT',
    ],
    fix: [
      'Give the container a readiness probe on the serving port (tcpSocket or httpGet on the port the Service targets), unless it checks it already.',
      'Then fix why the port refuses (see PortNotListening).',
    ],
  },
  ConnectTimeout: {
    meaning:
      'The connection attempt got no answer at all: the SYN was dropped somewhere. A refusal means nothing listens; a timeout means something is in the way. sockeye names the NetworkPolicies that explain the drop, or says none does.',
    causes: [
      'A NetworkPolicy selects the pod and allows no ingress from sockeye (or sockeye’s own pod is limited by an egress policy).',
      'The CNI, a node firewall (iptables, nftables) or a cloud security group drops the traffic.',
      'The listener is overloaded: its accept queue is full.',
    ],
    confirm: [
      'kubectl get networkpolicy -n NS',
      'kubectl describe networkpolicy NAME -n NS',
      'kubectl run probe --rm -it -n NS --image=busybox -- nc -vz -w 2 IP PORT   # from inside the namespace',
    ],
    fix: [
      "Allow the traffic in the NetworkPolicy: an ingress rule from sockeye's namespace on that port.",
      'Otherwise look below Kubernetes: CNI logs, node firewall rules, security groups between nodes.',
    ],
  },
  InvalidConfiguration: {
    meaning:
      'A sockeye.dev/* annotation on a Service, Pod or Namespace could not be used. sockeye ignored it (the next object up, or the default, applies) and kept checking the object.',
    causes: [
      'sockeye.dev/probe is not "true" or "false".',
      'sockeye.dev/timeout is not a duration such as 1500ms, 2s or 1m, or is longer than 1m.',
      'sockeye.dev/ignore-ports names a port the object does not have.',
      'A misspelt key, e.g. sockeye.dev/timout.',
    ],
    confirm: ['kubectl get svc,pod,namespace NAME -n NS -o jsonpath={.metadata.annotations}'],
    fix: [
      'Correct or remove the annotation: kubectl annotate svc SVC -n NS sockeye.dev/timeout=2s --overwrite',
    ],
  },
  TargetsRecovered: {
    meaning:
      'A Warning sockeye reported earlier for this object no longer holds: the port accepts connections again, or the configuration was fixed.',
    causes: ['A fix was rolled out, the pods recovered, or a transient drop ended.'],
    confirm: ['kubectl get events -n NS --field-selector involvedObject.name=NAME'],
    fix: ['Nothing to do.'],
  },
};

/** The guide as `sockeye explain REASON` prints it. */
export function renderGuide(reason: Reason, summary: string, guide: Guide): string {
  const list = (items: readonly string[]) => items.map((i) => `  - ${i}`).join('\n');
  return [
    `${reason}: ${summary}`,
    '',
    'What it means',
    `  ${guide.meaning}`,
    '',
    'Usual causes',
    list(guide.causes),
    '',
    'Confirm',
    guide.confirm.map((c) => `  $ ${c}`).join('\n'),
    '',
    'Fix',
    list(guide.fix),
    '',
  ].join('\n');
}

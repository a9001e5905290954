/**
 * sockeye's own small view of the Kubernetes objects its rules read. Only the fields a rule needs; built
 * from the API objects in exactly one place (../kube/convert.ts) so the rules never touch the client's
 * heavy, everything-optional types.
 */

export type Labels = Readonly<Record<string, string>>;

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export type ObjectKind = 'Service' | 'Pod' | 'Namespace';

/** What a namespaced object is known by: its `namespace/name` key (client-go's `types.NamespacedName`). */
export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

/** The metadata the rules read of every Service, Pod and Namespace, besides its name. */
export interface ObjectMeta {
  readonly uid: string;
  /** Only the `sockeye.dev/*` annotations (the only ones rules read). */
  readonly annotations: Labels;
}

/** Which object a finding is about. */
export interface ObjectRef {
  readonly kind: ObjectKind;
  /** Empty for Namespaces (cluster-scoped). */
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** `metav1.LabelSelector`: both parts must match; an empty selector matches everything. */
export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface ServicePort {
  /** Empty when the Service has a single unnamed port. */
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** A number, or the name of a containerPort resolved per pod. Defaults to `port`. */
  readonly targetPort: number | string;
  /** `nodePort`, allocated by the API server for NodePort and LoadBalancer Services. */
  readonly nodePort?: number | undefined;
}

export type TrafficPolicy = 'Cluster' | 'Local';

export interface Service extends NamespacedName, ObjectMeta {
  readonly type: ServiceType;
  /** Undefined (or empty) for a selector-less Service, whose EndpointSlices someone else manages. */
  readonly selector?: Labels | undefined;
  readonly ports: readonly ServicePort[];
  readonly publishNotReadyAddresses: boolean;
  /** `spec.clusterIPs` as the API server allocated them; empty for headless and ExternalName Services. */
  readonly clusterIPs?: readonly string[] | undefined;
  /** `spec.externalTrafficPolicy`: with `Local` a node without a local ready endpoint drops the NodePort. */
  readonly externalTrafficPolicy?: TrafficPolicy | undefined;
  /** `spec.internalTrafficPolicy`: with `Local` a ClusterIP forwards only to the client node's endpoints. */
  readonly internalTrafficPolicy?: TrafficPolicy | undefined;
  /** `spec.healthCheckNodePort`: allocated for LoadBalancer Services with `externalTrafficPolicy: Local`. */
  readonly healthCheckNodePort?: number | undefined;
  /** The IPs of `status.loadBalancer.ingress` (hostname-only entries are left out). */
  readonly loadBalancerIngress?: readonly string[] | undefined;
  /** `metadata.creationTimestamp`: a Service's data path takes kube-proxy a moment to follow. */
  readonly createdAt?: Date | undefined;
}

/** A Node, as far as the Service data path checks need it. */
export interface Node {
  readonly name: string;
  /** `status.addresses` of type InternalIP: where kube-proxy serves NodePorts and health checks. */
  readonly internalIPs: readonly string[];
}

/** A `networking.k8s.io/v1` ServiceCIDR: ranges the API server allocates ClusterIPs from. */
export interface ServiceCIDR {
  readonly name: string;
  /** `spec.cidrs`: one range per family. */
  readonly cidrs: readonly string[];
}

export type AddressType = 'IPv4' | 'IPv6' | 'FQDN';

export interface EndpointSlicePort {
  /** Equals the Service port's name. */
  readonly name: string;
  /** Undefined when no pod of this slice defines the named targetPort. */
  readonly port?: number | undefined;
  readonly protocol: Protocol;
}

export interface Endpoint {
  readonly addresses: readonly string[];
  /** A nil `ready` means ready (API convention). */
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly targetRef?: (NamespacedName & { readonly kind: string; readonly uid: string }) | undefined;
  readonly nodeName?: string | undefined;
}

export interface EndpointSlice extends NamespacedName {
  /** From the `kubernetes.io/service-name` label. */
  readonly serviceName: string;
  readonly addressType: AddressType;
  readonly ports: readonly EndpointSlicePort[];
  readonly endpoints: readonly Endpoint[];
  /**
   * When a change of the Service or its pods last changed this slice (the endpointslice controller's
   * `endpoints.kubernetes.io/last-change-trigger-time`; kube-proxy measures its lag from it).
   */
  readonly changedAt?: Date | undefined;
}

export interface ContainerPort {
  readonly name?: string | undefined;
  readonly containerPort: number;
  readonly protocol: Protocol;
}

/** What a container's readiness probe checks: a port (httpGet, tcpSocket, grpc), a command, or nothing. */
export type ReadinessCheck =
  | { readonly kind: 'none' }
  | { readonly kind: 'exec' }
  | { readonly kind: 'port'; readonly port: number | string };

export interface Container {
  readonly name: string;
  readonly ports: readonly ContainerPort[];
  readonly readiness: ReadinessCheck;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface Pod extends NamespacedName, ObjectMeta {
  readonly labels: Labels;
  readonly phase: PodPhase;
  /** `status.podIPs` (falling back to `status.podIP`): one per family on dual-stack clusters. */
  readonly podIPs: readonly string[];
  /** The pod's `Ready` condition is True. */
  readonly ready: boolean;
  readonly containers: readonly Container[];
  readonly hostNetwork: boolean;
  readonly deletionTimestamp?: Date | undefined;
  /** `status.startTime`: when the kubelet acknowledged the pod. */
  readonly startTime?: Date | undefined;
  readonly nodeName?: string | undefined;
  /**
   * The workload the pod belongs to: its controller ownerReference, a ReplicaSet that carries the pod's
   * `pod-template-hash` read as its Deployment. Undefined for a bare pod.
   */
  readonly owner?: WorkloadRef | undefined;
}

/** A pod's controller, lean: what a message names ("Deployment web"). */
export interface WorkloadRef {
  readonly kind: string;
  readonly name: string;
}

export interface IPBlock {
  readonly cidr: string;
  readonly except: readonly string[];
}

/** One `from` (or `to`) entry. A peer with both selectors means pods matching both. */
export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector | undefined;
  readonly namespaceSelector?: LabelSelector | undefined;
  readonly ipBlock?: IPBlock | undefined;
}

export interface NetworkPolicyPort {
  readonly protocol: Protocol;
  /** Undefined means every port; a string is a named containerPort of the selected pod. */
  readonly port?: number | string | undefined;
  readonly endPort?: number | undefined;
}

/** An ingress or egress rule; an empty `peers` list means every peer, an empty `ports` list every port. */
export interface NetworkPolicyRule {
  readonly peers: readonly NetworkPolicyPeer[];
  readonly ports: readonly NetworkPolicyPort[];
}

export interface NetworkPolicy extends NamespacedName {
  readonly podSelector: LabelSelector;
  /** Defaulted as the API server does: Ingress always, Egress when egress rules exist. */
  readonly policyTypes: readonly ('Ingress' | 'Egress')[];
  readonly ingress: readonly NetworkPolicyRule[];
  readonly egress: readonly NetworkPolicyRule[];
}

export interface Namespace extends ObjectMeta {
  readonly name: string;
  readonly labels: Labels;
}

/**
 * Would a NetworkPolicy drop sockeye's probe? Evaluates the ingress policies that select the target pod
 * (from the prober) and the egress policies that select the prober (to the target), as the NetworkPolicy
 * API defines them: a pod selected by at least one policy of a direction is isolated in that direction,
 * and a connection passes when any rule of any of those policies allows it.
 */

import { byText } from '../model/order.ts';
import type {
  Labels,
  Namespace,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicyRule,
  Pod,
  Protocol,
} from '../model/types.ts';
import { cidrContains } from './address.ts';
import { matchesSelector } from './selectors.ts';
import type { ProberIdentity } from './types.ts';

export interface Connection {
  readonly pod: Pod;
  readonly ip: string;
  readonly port: number;
  readonly protocol: Protocol;
}

export type Verdict =
  | { readonly kind: 'allowed' }
  | {
      readonly kind: 'dropped';
      readonly direction: 'ingress' | 'egress';
      readonly policies: readonly string[];
    };

/** A party to a connection, as NetworkPolicy peers see it. */
interface Party {
  readonly namespace: string;
  readonly labels: Labels;
  readonly ips: readonly string[];
}

export function networkPolicyVerdict(
  conn: Connection,
  prober: ProberIdentity,
  policies: readonly NetworkPolicy[],
  namespaces: readonly Namespace[],
): Verdict {
  const nsLabels = (name: string): Labels => ({
    // The API server sets this label on every namespace; policies commonly select by it.
    'kubernetes.io/metadata.name': name,
    ...(namespaces.find((n) => n.name === name)?.labels ?? {}),
  });
  const target: Party = { namespace: conn.pod.namespace, labels: conn.pod.labels, ips: [conn.ip] };
  const source: Party = { namespace: prober.namespace, labels: prober.labels, ips: prober.ips ?? [] };

  const ingress = isolating(policies, 'Ingress', target);
  if (ingress.length > 0) {
    const allowed = ingress.some((np) =>
      np.ingress.some((rule) => ruleAllows(rule, np.namespace, source, nsLabels, conn)),
    );
    if (!allowed) return { kind: 'dropped', direction: 'ingress', policies: ingress.map(policyName) };
  }
  const egress = isolating(policies, 'Egress', source);
  if (egress.length > 0) {
    const allowed = egress.some((np) =>
      np.egress.some((rule) => ruleAllows(rule, np.namespace, target, nsLabels, conn)),
    );
    if (!allowed) return { kind: 'dropped', direction: 'egress', policies: egress.map(policyName) };
  }
  return { kind: 'allowed' };
}

function isolating(
  policies: readonly NetworkPolicy[],
  type: 'Ingress' | 'Egress',
  party: Party,
): NetworkPolicy[] {
  return policies
    .filter(
      (np) =>
        np.namespace === party.namespace &&
        np.policyTypes.includes(type) &&
        matchesSelector(np.podSelector, party.labels),
    )
    .sort((a, b) => byText(policyName(a), policyName(b)));
}

function policyName(np: NetworkPolicy): string {
  return `${np.namespace}/${np.name}`;
}

function ruleAllows(
  rule: NetworkPolicyRule,
  policyNamespace: string,
  peer: Party,
  nsLabels: (name: string) => Labels,
  conn: Connection,
): boolean {
  const peerOk =
    rule.peers.length === 0 || rule.peers.some((p) => peerMatches(p, policyNamespace, peer, nsLabels));
  const portOk = rule.ports.length === 0 || rule.ports.some((p) => portMatches(p, conn));
  return peerOk && portOk;
}

function peerMatches(
  p: NetworkPolicyPeer,
  policyNamespace: string,
  party: Party,
  nsLabels: (name: string) => Labels,
): boolean {
  if (p.ipBlock) {
    const block = p.ipBlock;
    return party.ips.some(
      (ip) => cidrContains(block.cidr, ip) && !block.except.some((e) => cidrContains(e, ip)),
    );
  }
  if (p.namespaceSelector) {
    if (!matchesSelector(p.namespaceSelector, nsLabels(party.namespace))) return false;
    return p.podSelector ? matchesSelector(p.podSelector, party.labels) : true;
  }
  if (p.podSelector) {
    return party.namespace === policyNamespace && matchesSelector(p.podSelector, party.labels);
  }
  return false;
}

/** A named port is the target pod's containerPort of that name (the pod being connected to). */
function portMatches(p: NetworkPolicyPort, conn: Connection): boolean {
  if (p.protocol !== conn.protocol) return false;
  if (p.port === undefined) return true;
  if (typeof p.port === 'string') {
    const name = p.port;
    return conn.pod.containers.some((c) =>
      c.ports.some(
        (cp) => cp.name === name && cp.protocol === conn.protocol && cp.containerPort === conn.port,
      ),
    );
  }
  const end = p.endPort ?? p.port;
  return conn.port >= p.port && conn.port <= end;
}

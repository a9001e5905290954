/**
 * The sidecar's judgement, pure: from the declared ports, the pod's IPs, what each probe saw and what
 * `/proc/net/tcp{,6}` lists, one class per port; from the classes, readiness, the pod's status line and
 * the Events of a state change. Nothing here reads the clock, the network or the API.
 */

import type { Outcome } from '../probe/outcome.ts';
import { hintFor, MESSAGES, type Reason } from '../rules/catalog.ts';
import { type Family, isLoopbackAddress, type Listener } from './proc-net.ts';

export const PORT_CLASSES = [
  'Listening',
  'ListeningOnLoopbackOnly',
  'WrongAddressFamily',
  'NotListening',
  'UndeclaredListener',
] as const;
export type PortClass = (typeof PORT_CLASSES)[number];

/** A TCP port some container of the pod declares (or `--ports` names). */
export interface DeclaredPort {
  /** The containerPort name; empty when it has none. */
  readonly name: string;
  readonly number: number;
}

/** One connect the sidecar made inside its pod. */
export interface AddressProbe {
  readonly ip: string;
  readonly port: number;
  readonly outcome: Outcome;
}

export interface RoundInput {
  readonly declared: readonly DeclaredPort[];
  /** The pod's IPs (one per family); never empty. */
  readonly podIPs: readonly string[];
  readonly probes: readonly AddressProbe[];
  /** Listening sockets from /proc; undefined when the files could not be read. */
  readonly listeners: readonly Listener[] | undefined;
  /** The sidecar's own ports: never reported as undeclared. */
  readonly ownPorts: readonly number[];
}

export interface PortReport {
  readonly port: number;
  readonly name: string;
  readonly declared: boolean;
  readonly class: PortClass;
  /** Pod IPs that accepted a connection. */
  readonly openOnPod: readonly string[];
  /** Pod IPs that did not, with how the connect ended. */
  readonly failedOnPod: readonly { readonly ip: string; readonly outcome: Outcome }[];
  /** Loopback addresses (127.0.0.1, ::1) that accepted a connection. */
  readonly openOnLoopback: readonly string[];
  /** Addresses /proc lists a listener on for this port. */
  readonly listeners: readonly string[];
  /** One line, stable between identical rounds (no times, no latencies). */
  readonly detail: string;
}

export function familyOf(ip: string): Family {
  return ip.includes(':') ? 6 : 4;
}

function familyName(f: Family): string {
  return f === 4 ? 'IPv4' : 'IPv6';
}

function and(items: readonly string[]): string {
  return items.join(' and ');
}

/** One report per declared port (in the order declared), then one per undeclared listening port. */
export function classifyRound(input: RoundInput): PortReport[] {
  const declaredNumbers = new Set(input.declared.map((d) => d.number));
  const reports = input.declared.map((d) => classifyDeclared(d, input));
  const own = new Set(input.ownPorts);
  const undeclared = new Map<number, string[]>();
  for (const l of input.listeners ?? []) {
    if (declaredNumbers.has(l.port) || own.has(l.port)) continue;
    undeclared.set(l.port, [...(undeclared.get(l.port) ?? []), l.address]);
  }
  for (const [port, addresses] of [...undeclared].sort((a, b) => a[0] - b[0])) {
    reports.push({
      port,
      name: '',
      declared: false,
      class: 'UndeclaredListener',
      openOnPod: [],
      failedOnPod: [],
      openOnLoopback: [],
      listeners: addresses,
      detail: `listens on ${and(addresses)} but no container declares it`,
    });
  }
  return reports;
}

function classifyDeclared(d: DeclaredPort, input: RoundInput): PortReport {
  const mine = input.probes.filter((p) => p.port === d.number);
  const onPod = mine.filter((p) => input.podIPs.includes(p.ip));
  const openOnPod = onPod.filter((p) => p.outcome === 'open').map((p) => p.ip);
  const failedOnPod = onPod
    .filter((p) => p.outcome !== 'open')
    .map((p) => ({ ip: p.ip, outcome: p.outcome }));
  const openOnLoopback = mine.filter((p) => isLoopbackAddress(p.ip) && p.outcome === 'open').map((p) => p.ip);
  const listening = (input.listeners ?? []).filter((l) => l.port === d.number);
  const listeners = listening.map((l) => l.address);
  const base = {
    port: d.number,
    name: d.name,
    declared: true,
    openOnPod,
    failedOnPod,
    openOnLoopback,
    listeners,
  };
  const failedText = and(failedOnPod.map((f) => `${f.ip} (${f.outcome})`));

  if (openOnPod.length > 0 && failedOnPod.length === 0) {
    return { ...base, class: 'Listening', detail: `open on ${and(openOnPod)}` };
  }
  if (openOnPod.length > 0) {
    return {
      ...base,
      class: 'WrongAddressFamily',
      detail: `open on ${and(openOnPod.map(withFamily))} but not on ${and(failedOnPod.map((f) => `${withFamily(f.ip)} (${f.outcome})`))}`,
    };
  }
  // Nothing answers on a pod IP. A socket bound to every address of the other family only (0.0.0.0 in an
  // IPv6-only pod, or [::] with IPV6_V6ONLY in an IPv4-only one) is an address-family mistake.
  const podFamilies = new Set(input.podIPs.map(familyOf));
  const otherFamily = listening.filter((l) => !isLoopbackAddress(l.address) && !podFamilies.has(l.family));
  if (otherFamily.length > 0) {
    const pod = [...podFamilies].map(familyName).join('/');
    return {
      ...base,
      class: 'WrongAddressFamily',
      detail: `listens on ${and(otherFamily.map((l) => `${l.address} (${familyName(l.family)})`))} only, but the pod's IPs are ${pod}: ${failedText}`,
    };
  }
  if (openOnLoopback.length > 0 || listening.some((l) => isLoopbackAddress(l.address))) {
    const where = openOnLoopback.length > 0 ? openOnLoopback : listeners.filter(isLoopbackAddress);
    return {
      ...base,
      class: 'ListeningOnLoopbackOnly',
      detail: `open on ${and(where)} only, not on ${failedText}`,
    };
  }
  const elsewhere = listeners.length > 0 ? `; a socket listens on ${and(listeners)}` : '';
  return { ...base, class: 'NotListening', detail: `nothing answers on ${failedText}${elsewhere}` };
}

function withFamily(ip: string): string {
  return `${ip} (${familyName(familyOf(ip))})`;
}

/** Ready when every declared port answers on every pod IP (`/readyz`). No declared port: ready. */
export function isReady(reports: readonly PortReport[]): boolean {
  return reports.every((r) => !r.declared || r.class === 'Listening');
}

/** Ports open on loopback but not on the pod IP: the `sockeye.dev/loopback-only` annotation. */
export function loopbackOnlyPorts(reports: readonly PortReport[]): number[] {
  return reports.filter((r) => r.class === 'ListeningOnLoopbackOnly').map((r) => r.port);
}

const PHRASE: Readonly<Record<PortClass, string>> = {
  Listening: 'listening',
  ListeningOnLoopbackOnly: 'loopback only',
  WrongAddressFamily: 'one address family only',
  NotListening: 'not listening',
  UndeclaredListener: 'undeclared listener',
};

export function portTitle(r: Pick<PortReport, 'name' | 'port'>): string {
  return r.name === '' ? String(r.port) : `${r.name} (${r.port})`;
}

export type SidecarStatus = 'Healthy' | 'NotListening' | 'Unknown';

/** The pod's status and one-line summary, as the sidecar sees it. */
export function podStatus(reports: readonly PortReport[]): { status: SidecarStatus; summary: string } {
  const declared = reports.filter((r) => r.declared);
  const summary =
    reports.length === 0
      ? 'no declared ports, nothing listening'
      : reports
          .map((r) =>
            r.declared
              ? `${portTitle(r)}: ${PHRASE[r.class]}`
              : `${r.port}: undeclared, on ${and(r.listeners)}`,
          )
          .join('; ');
  if (declared.length === 0) return { status: 'Unknown', summary };
  return { status: declared.every((r) => r.class === 'Listening') ? 'Healthy' : 'NotListening', summary };
}

/** The Event reason a port class reports under (docs/design.md "Findings"); undefined: nothing to warn about. */
export function reasonOf(c: PortClass): Reason | undefined {
  switch (c) {
    case 'ListeningOnLoopbackOnly':
      return 'ListeningOnLoopbackOnly';
    case 'WrongAddressFamily':
    case 'NotListening':
      return 'PortNotListening';
    default:
      return undefined;
  }
}

export interface SidecarEvent {
  readonly type: 'Warning' | 'Normal';
  readonly reason: Reason;
  readonly note: string;
}

function portLabel(r: PortReport): string {
  return r.name === '' ? `${r.port}/TCP` : `${r.name} (${r.port}/TCP)`;
}

function warningMessage(r: PortReport): string {
  const label = portLabel(r);
  const failed = r.failedOnPod.map((f) => f.ip);
  switch (r.class) {
    case 'ListeningOnLoopbackOnly':
      return MESSAGES.ListeningOnLoopbackOnly.loopbackOnly(label, failed);
    case 'WrongAddressFamily': {
      const open = r.openOnPod.length > 0 ? r.openOnPod : r.listeners.filter((a) => !isLoopbackAddress(a));
      return MESSAGES.PortNotListening.oneFamily(label, failed, open);
    }
    default:
      return MESSAGES.PortNotListening.refused(label, failed);
  }
}

/**
 * The Events of going from `previous` to `next` (stable classes, by port): a Warning when a declared
 * port enters a failing class (or moves between two), TargetsRecovered when it comes back to
 * Listening. Undeclared listeners are informational: log and metrics only.
 */
export function transitionEvents(
  previous: ReadonlyMap<number, PortClass>,
  next: readonly PortReport[],
): SidecarEvent[] {
  const events: SidecarEvent[] = [];
  for (const r of next) {
    if (!r.declared) continue;
    const before = previous.get(r.port);
    if (before === r.class) continue;
    const reason = reasonOf(r.class);
    if (reason) {
      events.push({ type: 'Warning', reason, note: `${warningMessage(r)}; ${hintFor(reason)}` });
      continue;
    }
    const was = before === undefined ? undefined : reasonOf(before);
    if (r.class === 'Listening' && was) {
      events.push({
        type: 'Normal',
        reason: 'TargetsRecovered',
        note: `${MESSAGES.TargetsRecovered.recovered(was, portLabel(r))}; ${hintFor('TargetsRecovered')}`,
      });
    }
  }
  return events;
}

/**
 * Classes must hold for `confirmations` rounds in a row before they are reported (Events,
 * annotations), so an app still starting, or one restart, does not raise and clear a Warning.
 * Readiness and metrics use each round as it is.
 */
export class Confirmed {
  readonly #needed: number;
  readonly #candidate = new Map<number, { class: PortClass; rounds: number }>();
  readonly #stable = new Map<number, PortReport>();

  constructor(confirmations: number) {
    this.#needed = Math.max(1, confirmations);
  }

  /**
   * Feeds one round; returns, per port, the newest report whose class is confirmed: this round's, or
   * the last confirmed one while a change is still being confirmed. A port not confirmed yet is left out.
   */
  observe(reports: readonly PortReport[]): PortReport[] {
    const out: PortReport[] = [];
    for (const r of reports) {
      const c = this.#candidate.get(r.port);
      const rounds = c?.class === r.class ? c.rounds + 1 : 1;
      this.#candidate.set(r.port, { class: r.class, rounds });
      if (rounds >= this.#needed) this.#stable.set(r.port, r);
      const stable = this.#stable.get(r.port);
      if (stable) out.push(stable);
    }
    const seen = new Set(reports.map((r) => r.port));
    for (const port of [...this.#candidate.keys()]) {
      if (seen.has(port)) continue;
      this.#candidate.delete(port);
      this.#stable.delete(port);
    }
    return out;
  }
}

/** The classes of reports, by port: the `previous` of the next `transitionEvents`. */
export function classesByPort(reports: readonly PortReport[]): Map<number, PortClass> {
  return new Map(reports.map((r) => [r.port, r.class]));
}

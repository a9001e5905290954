import { describe, expect, it } from 'vitest';
import type { Outcome } from '../probe/outcome.ts';
import {
  type AddressProbe,
  Confirmed,
  classesByPort,
  classifyRound,
  isReady,
  loopbackOnlyPorts,
  type PortReport,
  podStatus,
  type RoundInput,
  transitionEvents,
} from './port-classes.ts';
import type { Listener } from './proc-net.ts';

const V4 = '198.18.0.5';
const V6 = 'fd00::5';

function probes(port: number, outcomes: Record<string, Outcome>): AddressProbe[] {
  return Object.entries(outcomes).map(([ip, outcome]) => ({ ip, port, outcome }));
}

function l(address: string, port: number): Listener {
  return { family: address.includes(':') ? 6 : 4, address, port };
}

function round(partial: Partial<RoundInput>): RoundInput {
  return {
    declared: [{ name: 'http', number: 8080 }],
    podIPs: [V4],
    probes: [],
    listeners: [],
    ownPorts: [9876],
    ...partial,
  };
}

interface Case {
  readonly name: string;
  readonly input: RoundInput;
  readonly class: PortReport['class'];
  readonly detail: string;
}

const cases: Case[] = [
  {
    name: 'wildcard listener: open on the pod IP and loopback',
    input: round({
      probes: probes(8080, { '127.0.0.1': 'open', '::1': 'open', [V4]: 'open' }),
      listeners: [l('0.0.0.0', 8080), l('::', 8080)],
    }),
    class: 'Listening',
    detail: `open on ${V4}`,
  },
  {
    name: 'bound to 127.0.0.1 and ::1: loopback only',
    input: round({
      probes: probes(8080, { '127.0.0.1': 'open', '::1': 'open', [V4]: 'refused' }),
      listeners: [l('127.0.0.1', 8080), l('::1', 8080)],
    }),
    class: 'ListeningOnLoopbackOnly',
    detail: `open on 127.0.0.1 and ::1 only, not on ${V4} (refused)`,
  },
  {
    name: 'loopback seen in /proc only (probes unreadable): still loopback only',
    input: round({ probes: probes(8080, { [V4]: 'refused' }), listeners: [l('127.0.0.1', 8080)] }),
    class: 'ListeningOnLoopbackOnly',
    detail: `open on 127.0.0.1 only, not on ${V4} (refused)`,
  },
  {
    name: 'nothing listens',
    input: round({ probes: probes(8080, { '127.0.0.1': 'refused', '::1': 'refused', [V4]: 'refused' }) }),
    class: 'NotListening',
    detail: `nothing answers on ${V4} (refused)`,
  },
  {
    name: 'bound to another address: not listening, and the socket is named',
    input: round({
      probes: probes(8080, { '127.0.0.1': 'refused', [V4]: 'refused' }),
      listeners: [l('10.9.9.9', 8080)],
    }),
    class: 'NotListening',
    detail: `nothing answers on ${V4} (refused); a socket listens on 10.9.9.9`,
  },
  {
    name: 'dual-stack pod, app on IPv4 only',
    input: round({
      podIPs: [V4, V6],
      probes: probes(8080, { '127.0.0.1': 'open', '::1': 'refused', [V4]: 'open', [V6]: 'refused' }),
      listeners: [l('0.0.0.0', 8080)],
    }),
    class: 'WrongAddressFamily',
    detail: `open on ${V4} (IPv4) but not on ${V6} (IPv6) (refused)`,
  },
  {
    name: 'IPv6-only pod, app on 0.0.0.0',
    input: round({
      podIPs: [V6],
      probes: probes(8080, { '127.0.0.1': 'open', '::1': 'refused', [V6]: 'refused' }),
      listeners: [l('0.0.0.0', 8080)],
    }),
    class: 'WrongAddressFamily',
    detail: `listens on 0.0.0.0 (IPv4) only, but the pod's IPs are IPv6: ${V6} (refused)`,
  },
  {
    name: 'IPv4-only pod, app on [::] with IPV6_V6ONLY',
    input: round({
      probes: probes(8080, { '127.0.0.1': 'refused', '::1': 'open', [V4]: 'refused' }),
      listeners: [l('::', 8080)],
    }),
    class: 'WrongAddressFamily',
    detail: `listens on :: (IPv6) only, but the pod's IPs are IPv4: ${V4} (refused)`,
  },
];

describe('classifyRound: declared ports', () => {
  it.each(cases)('$name', (c) => {
    const [report] = classifyRound(c.input);
    expect(report?.class).toBe(c.class);
    expect(report?.detail).toBe(c.detail);
  });
});

describe('classifyRound: undeclared listeners', () => {
  it('reports listening ports nobody declares, except the sidecar’s own, after the declared ones', () => {
    const reports = classifyRound(
      round({
        probes: probes(8080, { [V4]: 'open' }),
        listeners: [
          l('0.0.0.0', 8080),
          l('127.0.0.1', 7000),
          l('::1', 7000),
          l('::', 9876),
          l('0.0.0.0', 15000),
        ],
      }),
    );
    expect(reports.map((r) => [r.port, r.class, r.detail])).toEqual([
      [8080, 'Listening', `open on ${V4}`],
      [7000, 'UndeclaredListener', 'listens on 127.0.0.1 and ::1 but no container declares it'],
      [15000, 'UndeclaredListener', 'listens on 0.0.0.0 but no container declares it'],
    ]);
  });

  it('with /proc unreadable it judges declared ports from the probes alone', () => {
    const reports = classifyRound(
      round({ probes: probes(8080, { '127.0.0.1': 'open', [V4]: 'refused' }), listeners: undefined }),
    );
    expect(reports.map((r) => r.class)).toEqual(['ListeningOnLoopbackOnly']);
  });
});

describe('readiness, status and the loopback-only annotation', () => {
  const listening = classifyRound(round({ probes: probes(8080, { [V4]: 'open' }) }));
  const loopback = classifyRound(
    round({
      declared: [
        { name: 'http', number: 8080 },
        { name: '', number: 9090 },
      ],
      probes: [...probes(8080, { [V4]: 'open' }), ...probes(9090, { '127.0.0.1': 'open', [V4]: 'refused' })],
      listeners: [l('0.0.0.0', 8080), l('127.0.0.1', 9090), l('127.0.0.1', 7000)],
    }),
  );

  it('is ready when every declared port answers on the pod IP; undeclared ones do not count', () => {
    expect(isReady(listening)).toBe(true);
    expect(isReady(loopback)).toBe(false);
    expect(isReady(classifyRound(round({ declared: [], listeners: [l('127.0.0.1', 7000)] })))).toBe(true);
  });

  it('summarises every port in one stable line', () => {
    expect(podStatus(listening)).toEqual({ status: 'Healthy', summary: 'http (8080): listening' });
    expect(podStatus(loopback)).toEqual({
      status: 'NotListening',
      summary: 'http (8080): listening; 9090: loopback only; 7000: undeclared, on 127.0.0.1',
    });
    expect(podStatus([])).toEqual({ status: 'Unknown', summary: 'no declared ports, nothing listening' });
  });

  it('lists the loopback-only ports', () => {
    expect(loopbackOnlyPorts(loopback)).toEqual([9090]);
    expect(loopbackOnlyPorts(listening)).toEqual([]);
  });
});

describe('transitionEvents', () => {
  const loop = classifyRound(
    round({
      probes: probes(8080, { '127.0.0.1': 'open', [V4]: 'refused' }),
      listeners: [l('127.0.0.1', 8080)],
    }),
  );
  const ok = classifyRound(round({ probes: probes(8080, { [V4]: 'open' }) }));
  const down = classifyRound(round({ probes: probes(8080, { [V4]: 'refused' }) }));

  it('warns when a port enters a failing class, with the DESIGN reason and the explain hint', () => {
    expect(transitionEvents(new Map(), loop)).toEqual([
      {
        type: 'Warning',
        reason: 'ListeningOnLoopbackOnly',
        note: `port http (8080/TCP) is open on loopback but refuses on the pod IP ${V4}: the app is bound to localhost; make the app bind 0.0.0.0 (or ::) instead of localhost; run: sockeye explain ListeningOnLoopbackOnly`,
      },
    ]);
    expect(transitionEvents(classesByPort(loop), down).map((e) => e.reason)).toEqual(['PortNotListening']);
  });

  it('says nothing while the class holds, and TargetsRecovered when the port comes back', () => {
    expect(transitionEvents(classesByPort(loop), loop)).toEqual([]);
    expect(transitionEvents(new Map(), ok)).toEqual([]);
    expect(transitionEvents(classesByPort(loop), ok)).toEqual([
      {
        type: 'Normal',
        reason: 'TargetsRecovered',
        note: 'ListeningOnLoopbackOnly no longer holds for port http (8080/TCP); nothing to do; run: sockeye explain TargetsRecovered',
      },
    ]);
  });

  it('names both families when one answers', () => {
    const [event] = transitionEvents(
      new Map(),
      classifyRound(round({ podIPs: [V4, V6], probes: probes(8080, { [V4]: 'open', [V6]: 'refused' }) })),
    );
    expect(event?.note).toMatch(
      /^port http \(8080\/TCP\) is open on 198\.18\.0\.5 but refuses on fd00::5: the app listens on one address family only;/,
    );
  });
});

describe('Confirmed', () => {
  const ok = classifyRound(round({ probes: probes(8080, { [V4]: 'open' }) }));
  const down = classifyRound(round({ probes: probes(8080, { [V4]: 'refused' }) }));

  it('reports a class only after it held for the given rounds, keeping the old one meanwhile', () => {
    const c = new Confirmed(2);
    expect(c.observe(down)).toEqual([]);
    expect(c.observe(down).map((r) => r.class)).toEqual(['NotListening']);
    expect(c.observe(ok).map((r) => r.class)).toEqual(['NotListening']);
    expect(c.observe(ok).map((r) => r.class)).toEqual(['Listening']);
  });

  it('with one confirmation reports every round as it is, and forgets ports that went away', () => {
    const c = new Confirmed(1);
    expect(c.observe(down).map((r) => r.class)).toEqual(['NotListening']);
    expect(c.observe([])).toEqual([]);
    expect(c.observe(ok).map((r) => r.class)).toEqual(['Listening']);
  });
});

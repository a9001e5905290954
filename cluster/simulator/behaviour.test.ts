import { describe, expect, it } from 'vitest';
import { bindAddresses, parseBehaviour, parseListener } from './behaviour.ts';

describe('simulated pod behaviour annotations', () => {
  it('reads PORT[/MODE][@BIND] with accept and any as defaults', () => {
    expect(parseListener('8080')).toEqual({ port: 8080, mode: 'accept', bind: 'any' });
    expect(parseListener('9090/reset@pod')).toEqual({ port: 9090, mode: 'reset', bind: 'pod' });
    expect(parseListener('53/drop')).toEqual({ port: 53, mode: 'drop', bind: 'any' });
  });

  it('names the bad part of a listener item', () => {
    expect(parseListener('http')).toBe('"http" is not PORT[/MODE][@BIND]');
    expect(parseListener('70000')).toBe('port 70000 is outside 1-65535');
    expect(parseListener('80/slow')).toBe('mode "slow" in "80/slow" is not one of accept, reset, drop');
  });

  it('keeps the good listeners of a list that has a bad one', () => {
    const b = parseBehaviour({ 'sim.sockeye.dev/listen': '8080, x, 9090@loopback' });
    expect(b.listeners.map((l) => l.port)).toEqual([8080, 9090]);
    expect(b.problems).toEqual(['sim.sockeye.dev/listen: "x" is not PORT[/MODE][@BIND]']);
  });

  it('gives a pod a private namespace only when loopback behaviour matters or it asks', () => {
    expect(parseBehaviour({ 'sim.sockeye.dev/listen': '8080' }).privateNetns).toBe(false);
    expect(parseBehaviour({ 'sim.sockeye.dev/listen': '8080@loopback' }).privateNetns).toBe(true);
    expect(parseBehaviour({ 'sim.sockeye.dev/netns': 'private' }).privateNetns).toBe(true);
  });

  it('reads readiness, network and terminate delay', () => {
    const b = parseBehaviour({
      'sim.sockeye.dev/ready': 'false',
      'sim.sockeye.dev/network': 'down',
      'sim.sockeye.dev/terminate-delay': '30s',
    });
    expect([b.ready, b.networkDown, b.terminateDelayMs, b.problems]).toEqual([false, true, 30_000, []]);
    expect(parseBehaviour({ 'sim.sockeye.dev/ready': 'yes' }).problems).toEqual([
      'sim.sockeye.dev/ready: "yes" is not "true" or "false"',
    ]);
  });

  it('binds "any" to the pod IP in a shared namespace and to the wildcard in a private one', () => {
    const l = { port: 80, mode: 'accept', bind: 'any' } as const;
    expect(bindAddresses(l, ['198.18.0.9'], false)).toEqual(['198.18.0.9']);
    expect(bindAddresses(l, ['198.18.0.9'], true)).toEqual(['0.0.0.0', '::']);
    expect(bindAddresses({ ...l, bind: 'loopback' }, ['198.18.0.9'], false)).toEqual(['127.0.0.1', '::1']);
  });

  it('binds one family of a dual-stack pod for ipv4 and ipv6', () => {
    const ips = ['198.18.0.9', '2001:2:0:0::9'];
    expect(bindAddresses({ port: 80, mode: 'accept', bind: 'ipv4' }, ips, false)).toEqual(['198.18.0.9']);
    expect(bindAddresses({ port: 80, mode: 'accept', bind: 'ipv6' }, ips, false)).toEqual(['2001:2:0:0::9']);
    expect(bindAddresses({ port: 80, mode: 'accept', bind: 'any' }, ips, false)).toEqual(ips);
    expect(parseBehaviour({ 'sim.sockeye.dev/ipv6': 'true' }).dualStack).toBe(true);
    expect(parseListener('8081@ipv4')).toEqual({ port: 8081, mode: 'accept', bind: 'ipv4' });
    expect(parseListener('80@lan')).toBe(
      'bind "lan" in "80@lan" is not one of any, pod, loopback, ipv4, ipv6',
    );
  });
});

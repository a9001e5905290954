import { describe, expect, it } from 'vitest';
import { readPorts } from '../config/sidecar.ts';
import { UsageError } from '../config/usage-error.ts';
import { loadSidecarConfig, podIdentity, sidecarHelp } from './config.ts';

describe('loadSidecarConfig', () => {
  it('has defaults, and flags win over env', () => {
    const c = loadSidecarConfig([], {});
    expect(c).toMatchObject({
      intervalMs: 10_000,
      timeoutMs: 1000,
      confirmations: 2,
      containerName: 'sockeye',
    });
    expect(c.http).toEqual({ host: undefined, port: 9876 });
    expect(c.ports).toBeUndefined();
    const d = loadSidecarConfig(['--interval=1s', '--no-events'], {
      SOCKEYE_INTERVAL: '5s',
      SOCKEYE_PORTS: '8080',
    });
    expect(d).toMatchObject({ intervalMs: 1000, timeoutMs: 500, events: false, annotations: true });
    expect(d.ports).toEqual([{ name: '', number: 8080 }]);
  });

  it('takes --kubeconfig and --context as flags only, as the other modes do; neither by default', () => {
    expect(loadSidecarConfig([], { KUBECONFIG: '/home/me/.kube/config' }).cluster).toEqual({
      kubeconfig: undefined,
      context: undefined,
    });
    expect(loadSidecarConfig(['--kubeconfig', '/etc/k.yaml', '--context=kind'], {}).cluster).toEqual({
      kubeconfig: '/etc/k.yaml',
      context: 'kind',
    });
    expect(sidecarHelp()).toMatch(/--kubeconfig FILE .*\n.*/);
    expect(sidecarHelp()).toContain('--context NAME');
  });

  it.each([
    [['--kubeconfig'], {}, '--kubeconfig'],
    [['--interval=soon'], {}, '--interval: want a duration'],
    [[], { SOCKEYE_CONFIRMATIONS: '0' }, 'SOCKEYE_CONFIRMATIONS: want at least 1'],
    [['--ports=http=99999'], {}, '--ports: "http=99999" is not a port'],
    [['--interval=1s', '--timeout=2s'], {}, 'timeout (2000ms) must be shorter than interval (1000ms)'],
    [['--bogus'], {}, "Unknown option '--bogus'"],
  ])('%j %j fails naming the setting', (argv, env, message) => {
    expect(() => loadSidecarConfig(argv, env)).toThrow(UsageError);
    expect(() => loadSidecarConfig(argv, env)).toThrow(message);
  });
});

describe('readPorts and podIdentity', () => {
  it('reads numbers and name=number, each number once', () => {
    expect(readPorts('8080, metrics=9090,8080,')).toEqual({
      ok: true,
      value: [
        { name: '', number: 8080 },
        { name: 'metrics', number: 9090 },
      ],
    });
  });

  it('takes the downward API env, POD_IPS before POD_IP', () => {
    expect(
      podIdentity(
        { POD_NAME: 'web-1', POD_NAMESPACE: 'shop', POD_IPS: '10.0.0.5,fd00::5', POD_IP: '10.0.0.5' },
        'x',
      ),
    ).toEqual({ name: 'web-1', namespace: 'shop', uid: undefined, ips: ['10.0.0.5', 'fd00::5'] });
    expect(podIdentity({ HOSTNAME: 'web-2', POD_IP: '10.0.0.6' }, 'from-token')).toEqual({
      name: 'web-2',
      namespace: 'from-token',
      uid: undefined,
      ips: ['10.0.0.6'],
    });
  });
});

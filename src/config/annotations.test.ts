import { describe, expect, it } from 'vitest';
import type { ObjectRef } from '../model/types.ts';
import {
  type AnnotationLayer,
  DEFAULT_CONFIG,
  parseDuration,
  parseLayer,
  parsePortList,
  resolveConfig,
} from './annotations.ts';

const podRef: ObjectRef = { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'p' };
const svcRef: ObjectRef = { kind: 'Service', namespace: 'shop', name: 'web', uid: 's' };
const nsRef: ObjectRef = { kind: 'Namespace', namespace: '', name: 'shop', uid: 'n' };

const layer = (
  object: ObjectRef,
  annotations: Record<string, string>,
  extra: Partial<AnnotationLayer> = {},
) => ({
  object,
  annotations,
  ...extra,
});

describe('parseDuration', () => {
  it.each([
    ['1500ms', 1500],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['1m30s', 90_000],
    [' 250ms ', 250],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });

  it.each(['', '2', 'two seconds', '2 s', '2h', '-1s', '1s2', 'ms'])('refuses %j', (text) => {
    expect(parseDuration(text)).toEqual({ ok: false, problem: 'want a duration such as 1500ms, 2s or 1m' });
  });
});

describe('parsePortList', () => {
  it('reads names and numbers, ignoring blanks and spaces', () => {
    expect(parsePortList('http, 9090,,metrics')).toEqual({ ok: true, value: ['http', 9090, 'metrics'] });
  });

  it.each([
    ['70000', undefined, 'port 70000 is out of range 1-65535'],
    ['http_x', undefined, '"http_x" is neither a port number nor a port name'],
    ['metrics', { names: new Set(['http']) }, 'no port named "metrics" on this object'],
    [
      '9090',
      { names: new Set(['http']), numbers: new Set([80, 8080]) },
      'port 9090 is not a port of this object',
    ],
  ])('refuses %j against %o: %s', (text, known, problem) => {
    expect(parsePortList(text, known)).toEqual({ ok: false, problem });
  });

  it('accepts any number on an object that may be sent to undeclared ports', () => {
    expect(parsePortList('9090', { names: new Set(['http']) })).toEqual({ ok: true, value: [9090] });
  });
});

describe('resolveConfig', () => {
  it('uses the defaults when no object says anything', () => {
    expect(resolveConfig([layer(podRef, {}), layer(nsRef, { team: 'a' })])).toEqual({
      config: DEFAULT_CONFIG,
      problems: [],
    });
  });

  it('lets the nearest object win, key by key', () => {
    const { config } = resolveConfig([
      layer(podRef, { 'sockeye.dev/timeout': '500ms' }),
      layer(svcRef, { 'sockeye.dev/timeout': '3s', 'sockeye.dev/ignore-ports': 'metrics' }),
      layer(nsRef, { 'sockeye.dev/probe': 'false', 'sockeye.dev/ignore-ports': 'admin' }),
    ]);
    expect(config).toEqual({ probe: false, timeoutMs: 500, ignorePorts: ['metrics'] });
  });

  it('reports a bad value on the object that carries it and falls back as if it were absent', () => {
    const result = resolveConfig([
      layer(podRef, { 'sockeye.dev/timeout': 'soon', 'sockeye.dev/probe': 'no' }),
      layer(nsRef, { 'sockeye.dev/timeout': '4s' }),
    ]);
    expect(result.config).toEqual({ probe: true, timeoutMs: 4000, ignorePorts: [] });
    expect(result.problems).toEqual([
      { object: podRef, key: 'sockeye.dev/probe', value: 'no', problem: 'want "true" or "false"' },
      {
        object: podRef,
        key: 'sockeye.dev/timeout',
        value: 'soon',
        problem: 'want a duration such as 1500ms, 2s or 1m',
      },
    ]);
  });

  it('refuses a timeout longer than a minute', () => {
    expect(parseLayer(layer(svcRef, { 'sockeye.dev/timeout': '2m' })).problems.map((p) => p.problem)).toEqual(
      ['want a duration from 1ms to 60s'],
    );
  });

  it.each([
    {
      name: 'flags an unknown sockeye.dev key as a typo but not the keys sockeye writes itself',
      ref: svcRef,
      annotations: {
        'sockeye.dev/timout': '2s',
        'sockeye.dev/status': 'Healthy',
        'sockeye.dev/summary': 'http: 1/1 open',
        'example.com/timout': 'x',
      },
      expected: [
        {
          object: svcRef,
          key: 'sockeye.dev/timout',
          value: '2s',
          problem:
            'unknown annotation; the ones users set are sockeye.dev/probe, sockeye.dev/timeout, sockeye.dev/ignore-ports, sockeye.dev/inject',
        },
      ],
    },
    {
      name: "knows every key of every mode: the webhook's inject and the sidecar's own are no typos",
      ref: podRef,
      annotations: {
        'sockeye.dev/inject': 'true',
        'sockeye.dev/sidecar-status': 'Healthy',
        'sockeye.dev/sidecar-summary': '8080 open',
        'sockeye.dev/sidecar-since': '2026-12-01T00:00:00Z',
        'sockeye.dev/loopback-only': '8081',
        'sockeye.dev/since': '2026-12-01T00:00:00Z',
      },
      expected: [],
    },
  ])('$name', ({ ref, annotations, expected }) => {
    expect(parseLayer(layer(ref, annotations)).problems).toEqual(expected);
  });

  it('checks ignore-ports against the ports the object has', () => {
    const known = { names: new Set(['http']), numbers: new Set([80]) };
    const { config, problems } = parseLayer(
      layer(svcRef, { 'sockeye.dev/ignore-ports': 'http,htp' }, { knownPorts: known }),
    );
    expect(config.ignorePorts).toBeUndefined();
    expect(problems.map((p) => p.problem)).toEqual(['no port named "htp" on this object']);
  });
});

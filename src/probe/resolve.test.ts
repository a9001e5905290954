import { describe, expect, it } from 'vitest';
import { type Lookup, resolveTargets } from './resolve.ts';
import { parseTarget, type TargetSpec } from './target.ts';

function spec(input: string): TargetSpec {
  const parsed = parseTarget(input);
  if (parsed.kind !== 'target') throw new Error(parsed.reason);
  return parsed.target;
}

describe('resolveTargets', () => {
  it('looks each name up once and probes every address it has', async () => {
    const asked: string[] = [];
    const lookup: Lookup = async (host) => {
      asked.push(host);
      return [{ address: '127.0.0.1' }, { address: '::1' }, { address: '127.0.0.1' }];
    };
    const resolution = await resolveTargets([spec('web:80'), spec('web:81'), spec('10.0.0.1:22')], lookup);
    expect(asked).toEqual(['web']);
    expect(resolution.kind).toBe('resolved');
    if (resolution.kind !== 'resolved') return;
    expect(resolution.targets.map((t) => `${t.ip} ${t.port} ${t.spec.input}`)).toEqual([
      '127.0.0.1 80 web:80',
      '::1 80 web:80',
      '127.0.0.1 81 web:81',
      '::1 81 web:81',
      '10.0.0.1 22 10.0.0.1:22',
    ]);
  });

  it('names every target whose host does not resolve', async () => {
    const lookup: Lookup = async (host) => {
      if (host === 'nowhere')
        throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere'), { code: 'ENOTFOUND' });
      return [{ address: '127.0.0.1' }];
    };
    const resolution = await resolveTargets([spec('nowhere:80'), spec('ok:80')], lookup);
    expect(resolution).toEqual({
      kind: 'unresolved',
      failures: [{ spec: spec('nowhere:80'), reason: 'cannot resolve "nowhere" (ENOTFOUND)' }],
    });
  });
});

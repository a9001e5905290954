import { describe, expect, it } from 'vitest';
import type { Reason } from '../rules/catalog.ts';
import { exitCodeFor, type ReportFinding, sortFindings } from './report.ts';
import { routability } from './run.ts';

function f(
  reason: Reason,
  namespace: string,
  name: string,
  kind: 'Service' | 'Pod' = 'Service',
): ReportFinding {
  return {
    reason,
    severity: reason === 'TargetsRecovered' ? 'Normal' : 'Warning',
    object: { kind, namespace, name },
    message: '',
    hint: '',
    evidence: { pods: [], outcomes: [], policies: [] },
  };
}

const routable = { routable: true } as const;

describe('sortFindings', () => {
  it('groups by namespace, the namespace with the worst finding first, worst finding first within', () => {
    const sorted = sortFindings([
      f('PortNotListening', 'a', 'web-1', 'Pod'),
      f('InvalidConfiguration', 'b', 'x'),
      f('NoEndpoints', 'b', 'ghost'),
      f('NoHealthyTargets', 'a', 'api'),
      f('TargetsRefusing', 'a', 'shop'),
    ]);
    expect(sorted.map((x) => `${x.object.namespace}/${x.object.name}`)).toEqual([
      'b/ghost',
      'b/x',
      'a/api',
      'a/shop',
      'a/web-1',
    ]);
  });

  it('groups a Namespace finding under that namespace', () => {
    const ns: ReportFinding = {
      ...f('InvalidConfiguration', '', 'team'),
      object: { kind: 'Namespace', namespace: '', name: 'team' },
    };
    const sorted = sortFindings([
      f('NoEndpoints', 'team', 'web'),
      ns,
      f('ConnectTimeout', 'other', 'p', 'Pod'),
    ]);
    expect(sorted.map((x) => x.object.name)).toEqual(['web', 'team', 'p']);
  });
});

describe('exitCodeFor', () => {
  it('is 1 for findings at or above --fail-on, 0 below, 2 when pods were not reachable', () => {
    const warning = [f('NoEndpoints', 'a', 'x')];
    const normal = [f('TargetsRecovered', 'a', 'x')];
    expect(exitCodeFor(warning, 'warning', routable)).toBe(1);
    expect(exitCodeFor(normal, 'warning', routable)).toBe(0);
    expect(exitCodeFor(normal, 'normal', routable)).toBe(1);
    expect(exitCodeFor(warning, 'never', routable)).toBe(0);
    expect(exitCodeFor([], 'warning', routable)).toBe(0);
    expect(exitCodeFor([], 'never', { routable: false, probes: 3, pods: 3, outcomes: { timeout: 3 } })).toBe(
      2,
    );
  });
});

describe('routability', () => {
  const r = (outcome: 'open' | 'timeout' | 'unreachable' | 'refused', pod: string, errno?: string) => ({
    outcome,
    pod,
    errno,
  });

  it('is lost when every first probe, across several pods, times out or is unreachable', () => {
    expect(routability([r('timeout', 'a'), r('unreachable', 'b'), r('timeout', 'c')])).toEqual({
      routable: false,
      probes: 3,
      pods: 3,
      outcomes: { timeout: 2, unreachable: 1 },
    });
  });

  it('holds when any probe got an answer, or when too few pods fail to tell an outage from routing', () => {
    expect(routability([r('timeout', 'a'), r('refused', 'b'), r('timeout', 'c')]).routable).toBe(true);
    expect(routability([r('timeout', 'a'), r('timeout', 'a'), r('timeout', 'b')]).routable).toBe(true);
    expect(routability([]).routable).toBe(true);
  });

  it('is lost on a single target when the kernel has no route at all', () => {
    expect(routability([r('unreachable', 'a', 'ENETUNREACH')]).routable).toBe(false);
  });
});

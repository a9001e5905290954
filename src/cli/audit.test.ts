import { describe, expect, it } from 'vitest';
import { parseAuditFlags } from './audit.ts';
import { UsageError } from './io.ts';

function usageError(argv: string[]): string {
  try {
    parseAuditFlags(argv);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error(`${argv.join(' ')} parsed`);
}

describe('sockeye audit flags', () => {
  it('takes -A/--all-namespaces, which is the default scope', () => {
    expect(parseAuditFlags(['-A'])['all-namespaces']).toBe(true);
    expect(parseAuditFlags(['--all-namespaces']).namespace).toEqual([]);
    expect(parseAuditFlags([])['all-namespaces']).toBe(false);
  });

  it('refuses -A together with -n, naming both flags on one line', () => {
    for (const argv of [
      ['-A', '-n', 'shop'],
      ['--namespace', 'shop', '--all-namespaces'],
    ]) {
      const message = usageError(argv);
      expect(message).toMatch(/-A\/--all-namespaces/);
      expect(message).toMatch(/-n\/--namespace/);
      expect(message).not.toContain('\n');
    }
  });

  it('takes -o wide and -o yaml, and names --output for any other format', () => {
    expect(parseAuditFlags(['-o', 'wide']).output).toBe('wide');
    expect(parseAuditFlags(['-o', 'yaml']).output).toBe('yaml');
    expect(usageError(['-o', 'xml'])).toMatch(/--output: want one of table, wide, json, yaml,/);
  });

  it('takes --manifests DIR and names it when empty', () => {
    expect(parseAuditFlags(['--manifests', 'deploy']).manifests).toBe('deploy');
    expect(usageError(['--manifests', ''])).toMatch(/--manifests/);
  });

  it("turns each data path check off with the operator's flags and variables, on by default", () => {
    const on = parseAuditFlags([]);
    expect([on.checkClusterIP, on.checkNodePorts, on.checkLoadBalancers]).toEqual([true, true, true]);
    const off = parseAuditFlags(['--no-check-cluster-ip', '--check-load-balancers=false'], {
      SOCKEYE_CHECK_NODE_PORTS: 'false',
    });
    expect([off.checkClusterIP, off.checkNodePorts, off.checkLoadBalancers]).toEqual([false, false, false]);
    // The flag wins over the variable, as in the operator.
    expect(
      parseAuditFlags(['--check-node-ports'], { SOCKEYE_CHECK_NODE_PORTS: 'false' }).checkNodePorts,
    ).toBe(true);
    expect(() => parseAuditFlags([], { SOCKEYE_CHECK_CLUSTER_IP: 'maybe' })).toThrow(
      /SOCKEYE_CHECK_CLUSTER_IP/,
    );
    // In a pod, the node it runs on (downward API), as the operator takes it.
    expect(parseAuditFlags([], { SOCKEYE_NODE_NAME: 'node-1' })['node-name']).toBe('node-1');
    expect(() => parseAuditFlags(['--node-name', 'Bad_Name'])).toThrow(/--node-name: want a node name/);
  });
});

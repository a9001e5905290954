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
});

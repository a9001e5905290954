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
  it('takes -o wide and -o yaml, and names --output for any other format', () => {
    expect(parseAuditFlags(['-o', 'wide']).output).toBe('wide');
    expect(parseAuditFlags(['-o', 'yaml']).output).toBe('yaml');
    expect(usageError(['-o', 'xml'])).toMatch(/--output must be one of table, wide, json, yaml,/);
  });
});

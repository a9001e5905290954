import { readFileSync } from 'node:fs';
import type { AuditReport } from '../../src/audit/report.ts';

/** A golden file of the audit test (written from a real cluster run, pod IPs normalised). */
export function golden(name: string): string {
  return readFileSync(new URL(`testdata/${name}`, import.meta.url), 'utf8');
}

/**
 * The JSON report of the integration test's scenario: every reason the audit can see, as plain data,
 * so renderer unit tests work on a realistic report without a cluster.
 */
export function goldenReport(): AuditReport {
  return JSON.parse(golden('audit.json.golden')) as AuditReport;
}

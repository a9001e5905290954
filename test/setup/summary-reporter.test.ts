import { describe, expect, it } from 'vitest';
import { summaryLine, tally } from './summary-reporter.ts';

describe('the closing summary line', () => {
  it('counts passed, failed and skipped tests across files', () => {
    const t = tally([
      { failed: false, tests: ['passed', 'passed', 'skipped'] },
      { failed: true, tests: ['passed', 'failed', 'pending'] },
    ]);
    expect(summaryLine(t)).toBe('3 passed, 1 failed, 2 skipped');
  });

  it('counts a file that failed before any test ran, and unhandled errors, as failures', () => {
    expect(tally([{ failed: true, tests: [] }], 2)).toEqual({ passed: 0, failed: 3, skipped: 0 });
    expect(tally([{ failed: true, tests: ['skipped'] }])).toEqual({ passed: 0, failed: 1, skipped: 1 });
  });
});

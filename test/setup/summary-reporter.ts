import type { Reporter, SerializedError, TestModule } from 'vitest/node';

export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Counts test results, plus one failure for each file that failed without running a test (an import
 * error, a failing beforeAll or global set-up) and each unhandled error: a run that broke before its
 * tests must not read as "0 failed".
 */
export function tally(
  files: readonly { readonly failed: boolean; readonly tests: readonly string[] }[],
  unhandledErrors = 0,
): Tally {
  const t: Tally = { passed: 0, failed: unhandledErrors, skipped: 0 };
  for (const file of files) {
    if (file.failed && !file.tests.includes('failed')) t.failed++;
    for (const state of file.tests) {
      if (state === 'passed') t.passed++;
      else if (state === 'failed') t.failed++;
      else t.skipped++;
    }
  }
  return t;
}

export const summaryLine = (t: Tally): string =>
  `${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`;

/**
 * Ends every run with the plain `N passed, N failed, N skipped` line that CI reads, so `.ci/run` needs
 * nothing but the README's test command.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    const files = modules.map((m) => ({
      failed: m.state() === 'failed',
      tests: [...m.children.allTests()].map((test) => test.result().state),
    }));
    process.stdout.write(`\n${summaryLine(tally(files, unhandledErrors.length))}\n`);
  }
}

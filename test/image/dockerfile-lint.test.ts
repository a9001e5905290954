import { readFile } from 'node:fs/promises';
import { ValidationSeverity, validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';

// dockerfile-utils is the validator behind the VS Code Docker extension and the Dockerfile
// language server: parse errors, unknown instructions, bad flags and arguments, JSON-form mistakes,
// duplicate CMD/ENTRYPOINT/HEALTHCHECK, relative WORKDIR. Every rule at its strictest.
const strict = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

const describeAll = (d: ReturnType<typeof validate>) =>
  d.map((x) => `line ${x.range.start.line + 1}: ${x.message}`);

describe('the Dockerfile, through a Dockerfile linter (dockerfile-utils)', () => {
  it('has no problem at all with every rule set to error', async () => {
    const dockerfile = await readFile(new URL('../../Dockerfile', import.meta.url), 'utf8');
    expect(describeAll(validate(dockerfile, strict))).toEqual([]);
  });

  it('is a linter that can fail: it flags two ENTRYPOINTs, a relative WORKDIR and single-quoted JSON', () => {
    const bad = ['FROM node:24-slim', 'WORKDIR app', "ENTRYPOINT ['node']", 'ENTRYPOINT ["node"]', ''].join(
      '\n',
    );
    expect(validate(bad, strict).length).toBeGreaterThanOrEqual(3);
  });
});

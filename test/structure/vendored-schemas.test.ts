import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const schemas = new URL('../audit/schemas/', import.meta.url);

describe('the vendored SARIF schema (test/audit/schemas)', () => {
  it('is byte for byte the published file whose sha256 its README names', () => {
    const readme = readFileSync(new URL('README.md', schemas), 'utf8');
    const named = /sha256 `([0-9a-f]{64})`/.exec(readme)?.[1];
    expect(named, 'README.md names no sha256').toMatch(/^[0-9a-f]{64}$/);
    const bytes = readFileSync(new URL('sarif-schema-2.1.0.json', schemas));
    const actual = createHash('sha256').update(bytes).digest('hex');
    expect(
      actual,
      'sarif-schema-2.1.0.json differs from the published bytes (a formatter?): fetch it again as README.md says',
    ).toBe(named);
  });
});

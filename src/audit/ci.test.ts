import { describe, expect, it } from 'vitest';
import { goldenReport } from '../../test/audit/golden.ts';
import { type SarifLog, sarifValidator } from '../../test/audit/sarif.ts';
import { renderSarif } from './ci.ts';
import { indexManifests, type ManifestIndex } from './manifests.ts';
import type { AuditReport } from './report.ts';

const validate = sarifValidator();

/** `-o sarif` of a report, checked against the full schema on the way. */
function sarif(report: AuditReport, manifests?: ManifestIndex): SarifLog {
  const log: unknown = JSON.parse(renderSarif(report, '0.1.0', manifests));
  expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);
  return log as SarifLog;
}

const locationsOf = (log: SarifLog) => log.runs.flatMap((r) => r.results.flatMap((res) => res.locations));

describe('-o sarif', () => {
  const report = goldenReport();

  it('validates against the full SARIF 2.1.0 schema, which rejects what sockeye must not write', () => {
    const log = sarif(report);
    expect(log.runs[0]?.results.length).toBe(report.findings.length);
    // The validator is not vacuous: a property the schema does not define fails it.
    const wrong = JSON.parse(renderSarif(report, '0.1.0')) as { runs: { results: object[] }[] };
    wrong.runs[0]?.results.push({ message: { text: 'x' }, location: {} });
    expect(validate(wrong)).toBe(false);
  });

  it('gives every result a physical location with a line: a stable path per object without manifests', () => {
    const locations = locationsOf(sarif(report));
    expect(locations.length).toBe(report.findings.length);
    for (const l of locations) {
      expect(l.physicalLocation?.artifactLocation.uri).toMatch(
        /^kubernetes\/audit-ns\/(service|pod)\/[a-z0-9-]+\.yaml$/,
      );
      expect(l.physicalLocation?.region?.startLine).toBe(1);
    }
    expect(locations[0]?.physicalLocation?.artifactLocation.uri).toBe(
      'kubernetes/audit-ns/service/ghost.yaml',
    );
    expect(locations[0]?.logicalLocations[0]?.fullyQualifiedName).toBe('audit-ns/Service/ghost');
  });

  it('points at the manifest and line that define the object when --manifests finds it', () => {
    const manifests = indexManifests([
      {
        path: 'deploy/my shop.yaml',
        text: 'kind: Service\nmetadata: {name: other}\n---\nkind: Service\nmetadata: {name: ghost}\n',
      },
    ]);
    const locations = locationsOf(sarif(report, manifests));
    expect(locations[0]?.physicalLocation).toEqual({
      artifactLocation: { uri: 'deploy/my%20shop.yaml' },
      region: { startLine: 4 },
    });
    // Objects no manifest defines keep their stable path.
    expect(locations[1]?.physicalLocation?.artifactLocation.uri).toBe(
      'kubernetes/audit-ns/service/warming.yaml',
    );
  });
});

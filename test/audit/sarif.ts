import { readFileSync } from 'node:fs';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';

// CommonJS modules whose types declare an ES default: under nodenext that is the `.default` property.
const Ajv04 = ajvDraft04.default;
const addFormats = ajvFormats.default;

/**
 * A validator for the whole SARIF 2.1.0 schema (schemas/sarif-schema-2.1.0.json, see schemas/README.md):
 * every definition, with `additionalProperties: false` throughout, so a misspelt or misplaced property
 * fails. The schema is draft-04, hence ajv-draft-04; its `uri`, `uri-reference` and `date-time` formats
 * are checked by ajv-formats rather than skipped. `unicodeRegExp: false` because this copy's `language`
 * pattern (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`, a stray `]` fixed in the OASIS errata) is valid
 * only as a non-Unicode regular expression; sockeye writes no `language`.
 */
export function sarifValidator() {
  const schema = JSON.parse(
    readFileSync(new URL('schemas/sarif-schema-2.1.0.json', import.meta.url), 'utf8'),
  ) as object;
  const ajv = new Ajv04({ allErrors: true, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

/** The SARIF fields the tests read. */
export interface SarifLog {
  readonly runs: readonly {
    readonly results: readonly {
      readonly ruleId: string;
      readonly locations: readonly {
        readonly physicalLocation?: {
          readonly artifactLocation: { readonly uri: string };
          readonly region?: { readonly startLine: number };
        };
        readonly logicalLocations: readonly { readonly fullyQualifiedName: string }[];
      }[];
    }[];
  }[];
}

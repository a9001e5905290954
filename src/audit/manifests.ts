/**
 * Where an audited object is written down in the repository (`sockeye audit --manifests DIR`). Code
 * scanning (GitHub's, among others) rejects a SARIF result without a physical location; with the
 * manifests at hand a finding points at the file and line that define the Service or Pod, so the alert
 * sits next to the YAML to change. Without them (or for an object no manifest defines) the location is a
 * stable made-up path per object, so alerts still upload and keep their identity between runs.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isMap, LineCounter, parseAllDocuments } from 'yaml';
import { byText } from '../model/order.ts';
import { groupOf } from './report.ts';

/** A file relative to the working directory (`/`-separated) and a 1-based line. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

export interface ObjectKey {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export interface ManifestFile {
  /** As it should appear in the report: relative to the working directory, `/`-separated. */
  readonly path: string;
  readonly text: string;
}

/** Finds the manifest that defines an object; undefined when none does. */
export type ManifestIndex = (object: ObjectKey) => SourceLocation | undefined;

const key = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Indexes every YAML document by kind, namespace and name. Manifests usually leave the namespace out
 * (`kubectl apply -n`), so an object is looked up by its namespace first, then among namespace-less
 * documents. The first definition wins (files are read in path order). Documents that do not parse or
 * do not name a kind and name are skipped: a stray YAML file must not stop the audit.
 */
export function indexManifests(files: readonly ManifestFile[]): ManifestIndex {
  const found = new Map<string, SourceLocation>();
  for (const file of files) {
    const lines = new LineCounter();
    for (const doc of parseAllDocuments(file.text, { lineCounter: lines })) {
      if (doc.errors.length > 0 || !isMap(doc.contents)) continue;
      const kind = text(doc.getIn(['kind']));
      const name = text(doc.getIn(['metadata', 'name']));
      if (kind === undefined || name === undefined) continue;
      const k = key(kind, text(doc.getIn(['metadata', 'namespace'])) ?? '', name);
      const start = doc.contents.range?.[0] ?? 0;
      if (!found.has(k)) found.set(k, { file: file.path, line: lines.linePos(start).line });
    }
  }
  return (o) => found.get(key(o.kind, o.namespace, o.name)) ?? found.get(key(o.kind, '', o.name));
}

/** Reads every `.yaml`/`.yml` file under `dir`, paths made relative to `base` (the working directory). */
export async function readManifests(dir: string, base: string): Promise<ManifestFile[]> {
  const paths = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && /\.ya?ml$/i.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort((a, b) => byText(a, b));
  return Promise.all(
    paths.map(async (p) => ({
      path: relative(base, p).split(sep).join('/'),
      text: await readFile(p, 'utf8'),
    })),
  );
}

/**
 * The location of an object no manifest defines: one stable path per object, grouped like the report
 * (a Namespace's own findings under its name), so code scanning tracks each object as its own file.
 */
export function syntheticLocation(o: ObjectKey): SourceLocation {
  return { file: `kubernetes/${groupOf({ object: o })}/${o.kind.toLowerCase()}/${o.name}.yaml`, line: 1 };
}

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { importCycles, LAYERS, layerViolations, reachable, unitOf } from './layers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = join(root, 'src');

/** Every non-test .ts file under src/ with the src/ files it imports (static, re-exports and import()). */
function readImports(): Map<string, string[]> {
  const files = (readdirSync(src, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.split('\\').join('/'));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(src, file), 'utf8');
    const specs = [...text.matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1] ?? '');
    const targets = specs
      .map((s) =>
        relative(src, normalize(join(src, dirname(file), s)))
          .split('\\')
          .join('/'),
      )
      // Test helpers (fixtures, fake clocks) are not part of the product's graph.
      .filter((t) => !t.startsWith('..'));
    graph.set(file, targets);
  }
  return graph;
}

describe('the import graph of src/', () => {
  const graph = readImports();

  it('reads the tree (the check is not vacuous)', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('bin/sockeye.ts')).toContain('cli/commands.ts');
  });

  it('puts every folder and top-level file of src/ in a layer', () => {
    const units = new Set([...graph.keys()].map(unitOf));
    const placed = new Set(LAYERS.flat());
    expect([...units].filter((u) => !placed.has(u))).toEqual([]);
  });

  it('has no import that points up or sideways between the modes', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(importCycles(graph)).toEqual([]);
  });
});

describe('the build (tsconfig.build.json)', () => {
  it('ships exactly what the entry point reaches: no test helper, fixture or fake in dist', () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      join(root, 'tsconfig.build.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    const built = new Set((config?.fileNames ?? []).map((f) => relative(src, f).split('\\').join('/')));
    const shipped = reachable(readImports(), 'bin/sockeye.ts');
    expect(shipped.size).toBeGreaterThan(50);
    expect([...built].filter((f) => !shipped.has(f)).sort()).toEqual([]);
    expect([...shipped].filter((f) => !built.has(f)).sort()).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('report an upward and a sideways import', () => {
    const graph = new Map([
      ['rules/evaluate.ts', ['operator/reconciler.ts', 'model/types.ts']],
      ['operator/reconciler.ts', ['sidecar/annotations.ts']],
    ]);
    expect(layerViolations(graph).map((v) => v.why)).toEqual([
      'rules (layer 3) imports up into operator (layer 7)',
      'operator and sidecar are side by side (layer 7)',
    ]);
  });

  it('report a cycle with the files along it', () => {
    const graph = new Map([
      ['bin/sockeye.ts', ['cli/commands.ts']],
      ['cli/commands.ts', ['cli/audit.ts']],
      ['cli/audit.ts', ['bin/sockeye.ts']],
    ]);
    expect(importCycles(graph)).toEqual([
      ['bin/sockeye.ts', 'cli/commands.ts', 'cli/audit.ts', 'bin/sockeye.ts'],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { golden, goldenReport } from '../../test/audit/golden.ts';
import { renderJson, renderTable, renderWide, renderYaml } from './render.ts';
import type { AuditReport } from './report.ts';

/** The cells of the table row that names `object` (columns are two or more spaces apart). */
function row(table: string, object: string): string[] {
  const line = table.split('\n').find((l) => l.split(/\s{2,}/).includes(object));
  if (line === undefined) throw new Error(`no row for ${object} in\n${table}`);
  return line.trim().split(/\s{2,}/);
}

describe('-o yaml', () => {
  it('is the JSON report: parsing either gives the same object', () => {
    const report = goldenReport();
    const yaml = renderYaml(report);
    expect(parse(yaml)).toEqual(JSON.parse(renderJson(report)));
    expect(yaml).toMatch(/^schemaVersion: sockeye\.dev\/audit\/v1$/m);
  });

  it('repeats a shared object instead of writing a YAML alias, and quotes strings that look like numbers', () => {
    const base = goldenReport();
    const port = { name: '8080', number: 8080, protocol: 'TCP' } as const;
    const first = base.findings[0];
    if (first === undefined) throw new Error('the golden report has findings');
    const report: AuditReport = {
      ...base,
      findings: [
        { ...first, port },
        { ...first, port },
      ],
    };
    const yaml = renderYaml(report);
    expect(yaml).not.toMatch(/[&*]a\d/);
    expect(parse(yaml)).toEqual(JSON.parse(renderJson(report)));
  });
});

describe('-o wide', () => {
  const report = goldenReport();
  const wide = renderWide(report, false);

  it('adds the pod IP and the outcome of every target to the table columns', () => {
    expect(row(wide, 'SEVERITY')).toEqual([
      'SEVERITY',
      'OBJECT',
      'PORT',
      'REASON',
      'POD-IP',
      'OUTCOME',
      'CAUSE',
    ]);
    expect(row(wide, 'Service/api').slice(3, 6)).toEqual([
      'NoHealthyTargets',
      '<api-1-ip>,<api-2-ip>',
      'refused,refused',
    ]);
    expect(row(wide, 'Pod/vault').slice(4, 6)).toEqual(['<vault-ip>', 'timeout']);
    // A finding that rests on no probe has no target to show.
    expect(row(wide, 'Service/ghost').slice(4, 6)).toEqual(['-', '-']);
  });

  it('keeps the rest of the table as it is', () => {
    const cut = (text: string) => text.replace(/^ {2}\S.*$/gm, '');
    expect(cut(wide)).toBe(cut(renderTable(report, false)));
    expect(wide).not.toContain('\u001b[');
    expect(renderWide(report, true)).toContain('\u001b[31mNoHealthyTargets\u001b[0m');
  });
});

describe('-o table', () => {
  it('is unchanged: the golden JSON report renders as the golden table', () => {
    expect(renderTable(goldenReport(), false)).toBe(golden('audit.table.golden'));
  });
});

describe('the table as a kubectl plugin', () => {
  it('names the program the user ran, in its title and its next step', () => {
    const report = goldenReport();
    const plugin = renderTable(report, false, 'kubectl sockeye');
    expect(plugin.split('\n')[0]).toMatch(/^kubectl sockeye audit of /);
    expect(plugin).toContain('Next      kubectl sockeye explain REASON');
    expect(renderTable(report, false)).toContain('Next      sockeye explain REASON');
  });
});

import { ApiException } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Term } from '../controller/term.ts';
import type { ReportObject, ReportStore } from '../kube/reports.ts';
import { makeLogger } from '../log.ts';
import { finding } from '../rules/finding.ts';
import type { Finding } from '../rules/types.ts';
import { policyReport } from './policy-report.ts';
import { ReportWriter } from './report-writer.ts';

const refusing = (ns: string, name = 'web') =>
  finding(
    'NoHealthyTargets',
    { kind: 'Service', namespace: ns, name, uid: '' },
    'http: every backend refuses',
  );
const failure = (code: number) =>
  new ApiException(code, 'failed', JSON.stringify({ kind: 'Status', code }), {});

/** An in-memory API holding Reports by namespace: it records every call, and throws queued faults. */
function memoryStore() {
  const reports = new Map<string, ReportObject>();
  const calls: string[] = [];
  const faults: Error[] = [];
  let served = true;
  const store: ReportStore = {
    async served() {
      calls.push('served');
      return served;
    },
    async list(selector) {
      calls.push(`list ${selector}`);
      return [...reports.values()].map((r) => structuredClone(r));
    },
    async apply(report) {
      const fault = faults.shift();
      if (fault) throw fault;
      calls.push(`apply ${report.metadata.namespace}`);
      reports.set(report.metadata.namespace, structuredClone(report));
    },
    async delete(namespace, name) {
      const fault = faults.shift();
      if (fault) throw fault;
      calls.push(`delete ${namespace}/${name}`);
      reports.delete(namespace);
    },
  };
  return {
    store,
    reports,
    calls,
    faults,
    setServed: (on: boolean) => {
      served = on;
    },
    writes: () => calls.filter((c) => c.startsWith('apply') || c.startsWith('delete')),
  };
}

const terms: Term[] = [];
afterEach(() => {
  for (const t of terms.splice(0)) t.end();
});

function setup(options: { resyncMs?: number; owns?: (ns: string) => boolean } = {}) {
  const api = memoryStore();
  const findings = new Map<string, Finding[]>();
  const lines: string[] = [];
  const results: string[] = [];
  const writer = new ReportWriter({
    store: api.store,
    findingsIn: (ns) => findings.get(ns) ?? [],
    owns: options.owns ?? (() => true),
    scope: undefined,
    logger: makeLogger({ write: (line: string) => void lines.push(line) }, 'info'),
    resyncMs: options.resyncMs ?? 3_600_000,
    onWrite: (r) => results.push(r),
    queue: { baseDelayMs: 1, maxDelayMs: 5 },
  });
  const term = new Term();
  terms.push(term);
  const logged = (text: string) => lines.filter((l) => l.includes(text)).length;
  return { api, findings, writer, term, results, logged };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('ReportWriter', () => {
  it('writes a Report for a namespace with findings, nothing again while they stay, and deletes it when they clear', async () => {
    const { api, findings, writer, term, results } = setup();
    findings.set('shop', [refusing('shop')]);
    writer.changed('shop');
    writer.changed('quiet');
    void writer.lead(term);
    await expect.poll(() => api.writes()).toEqual(['apply shop']);
    expect(api.reports.get('shop')).toEqual(policyReport('shop', [refusing('shop')]));

    for (let i = 0; i < 5; i++) writer.changed('shop');
    writer.changed('quiet');
    await settle();
    expect(api.writes()).toEqual(['apply shop']);

    findings.set('shop', [refusing('shop'), refusing('shop', 'api')]);
    writer.changed('shop');
    await expect.poll(() => api.writes()).toEqual(['apply shop', 'apply shop']);
    expect(api.reports.get('shop')?.results).toHaveLength(2);

    findings.delete('shop');
    writer.changed('shop');
    await expect.poll(() => api.writes()).toEqual(['apply shop', 'apply shop', 'delete shop/sockeye']);
    writer.changed('shop');
    await settle();
    expect(api.writes()).toHaveLength(3);
    expect(results).toEqual(['ok', 'ok', 'ok']);
  });

  it("reads sockeye's Reports first: an equal one is left alone, a stale one deleted", async () => {
    const { api, findings, writer, term } = setup();
    const kept = policyReport('shop', [refusing('shop')]);
    const stale = policyReport('gone', [refusing('gone')]);
    if (!kept || !stale) throw new Error('no report');
    api.reports.set('shop', { ...kept, metadata: { ...kept.metadata, resourceVersion: '7' } });
    api.reports.set('gone', stale);
    findings.set('shop', [refusing('shop')]);
    void writer.lead(term);
    await expect.poll(() => api.writes()).toEqual(['delete gone/sockeye']);
    expect(api.calls).toContain('list app.kubernetes.io/managed-by=sockeye');
    writer.changed('shop');
    await settle();
    expect(api.writes()).toEqual(['delete gone/sockeye']);
  });

  it('puts back, at the next resync, a Report someone deleted or edited', async () => {
    const { api, findings, writer, term } = setup({ resyncMs: 50 });
    findings.set('shop', [refusing('shop')]);
    writer.changed('shop');
    void writer.lead(term);
    await expect.poll(() => api.writes()).toEqual(['apply shop']);
    api.reports.delete('shop');
    await expect.poll(() => api.writes()).toEqual(['apply shop', 'apply shop']);
    expect(api.reports.has('shop')).toBe(true);
  });

  it('retries a failed write with backoff and counts the failure', async () => {
    const { api, findings, writer, term, results, logged } = setup();
    findings.set('shop', [refusing('shop')]);
    api.faults.push(failure(500), failure(429));
    writer.changed('shop');
    void writer.lead(term);
    await expect.poll(() => api.writes()).toEqual(['apply shop']);
    expect(results).toEqual(['error', 'error', 'ok']);
    expect(logged('policy report write failed; retrying with backoff')).toBe(2);
  });

  it('says once that the API is not served, writes nothing, and starts when it is', async () => {
    const { api, findings, writer, term, logged } = setup({ resyncMs: 20 });
    api.setServed(false);
    findings.set('shop', [refusing('shop')]);
    writer.changed('shop');
    void writer.lead(term);
    await expect.poll(() => api.calls.filter((c) => c === 'served').length).toBeGreaterThan(3);
    expect(writer.served).toBe(false);
    expect(logged('is not served')).toBe(1);
    expect(api.writes()).toEqual([]);
    api.setServed(true);
    await expect.poll(() => api.writes()).toEqual(['apply shop']);
    expect(logged('served now')).toBe(1);
  });

  it('writes nothing once its term ended, nor for a namespace it does not own', async () => {
    const { api, findings, writer, term } = setup({ owns: (ns) => ns !== 'theirs' });
    findings.set('theirs', [refusing('theirs')]);
    writer.changed('theirs');
    void writer.lead(term);
    await settle();
    expect(api.writes()).toEqual([]);
    term.end();
    findings.set('shop', [refusing('shop')]);
    writer.changed('shop');
    await settle();
    expect(api.writes()).toEqual([]);
  });
});

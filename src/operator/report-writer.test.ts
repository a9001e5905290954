import { ApiException } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Term } from '../controller/term.ts';
import type { ReportObject, ReportStore } from '../kube/reports.ts';
import { makeLogger } from '../log.ts';
import type { Shard } from '../model/shard.ts';
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

/** For a Report the test's own findings must give. */
const fail = (): never => {
  throw new Error('no Report');
};

const failure = (code: number) =>
  new ApiException(code, 'failed', JSON.stringify({ kind: 'Status', code }), {});

/** Where the memory store keeps a Report: the unsharded `sockeye` by its namespace, others by namespace/name. */
const at = (namespace: string, name: string) => (name === 'sockeye' ? namespace : `${namespace}/${name}`);

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
      calls.push(`apply ${at(report.metadata.namespace, report.metadata.name)}`);
      reports.set(at(report.metadata.namespace, report.metadata.name), structuredClone(report));
    },
    async delete(namespace, name) {
      const fault = faults.shift();
      if (fault) throw fault;
      calls.push(`delete ${namespace}/${name}`);
      reports.delete(at(namespace, name));
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

function setup(options: { resyncMs?: number; owns?: (ns: string) => boolean; shard?: Shard } = {}) {
  const api = memoryStore();
  const findings = new Map<string, Finding[]>();
  const lines: string[] = [];
  const results: string[] = [];
  const writer = new ReportWriter({
    store: api.store,
    findingsIn: (ns) => findings.get(ns) ?? [],
    owns: options.owns ?? (() => true),
    scope: undefined,
    ...(options.shard && { shard: options.shard }),
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

  it('a shard keeps its own Report (sockeye-I); shard 0 removes those of shards that no longer exist, and says once when it may not', async () => {
    const one = setup({ shard: { index: 1, count: 3 } });
    one.findings.set('shop', [refusing('shop')]);
    one.writer.changed('shop');
    void one.writer.lead(one.term);
    await expect.poll(() => one.api.writes()).toEqual(['apply shop/sockeye-1']);
    expect(one.api.reports.get('shop/sockeye-1')?.metadata.name).toBe('sockeye-1');

    // 3 shards became 2: shard 0 finds sockeye-2 (and an unsharded `sockeye`) and removes both;
    // sockeye-1 is still a shard's and stays.
    const zero = setup({ shard: { index: 0, count: 2 } });
    const left = (name: string) => policyReport('shop', [refusing('shop')], name) ?? fail();
    for (const name of ['sockeye', 'sockeye-1', 'sockeye-2'])
      zero.api.reports.set(at('shop', name), left(name));
    zero.api.faults.push(failure(403));
    void zero.writer.lead(zero.term);
    await expect.poll(() => zero.logged('cannot remove the policy report of a former shard')).toBe(1);
    expect(zero.logged('kubectl delete reports.openreports.io -n shop sockeye')).toBe(1);
    await expect.poll(() => zero.api.writes()).toEqual(['delete shop/sockeye-2']);
    expect([...zero.api.reports.keys()].sort()).toEqual(['shop', 'shop/sockeye-1']);
    expect(zero.results).toEqual(['error', 'ok']);

    // Shard 1 of 2 removes nothing it does not own, whatever it finds.
    const other = setup({ shard: { index: 1, count: 2 } });
    other.api.reports.set(at('shop', 'sockeye-2'), left('sockeye-2'));
    void other.writer.lead(other.term);
    await settle();
    expect(other.api.writes()).toEqual([]);
  });
});

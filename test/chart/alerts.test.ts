import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { binaryPath } from '../../cluster/binaries.ts';
import { exec, parseObjects, renderChart } from './helm.ts';

/**
 * The chart's PrometheusRule, checked by Prometheus's own promtool: the rendered groups pass
 * `promtool check rules`, and `promtool test rules` runs the unit tests in promtool/ against them.
 * promtool is built by the global set-up (cluster/binaries.ts BINARIES).
 */
const testsDir = fileURLToPath(new URL('./promtool/', import.meta.url));
const readme = fileURLToPath(new URL('../../README.md', import.meta.url));
const TEST_FILE = 'alerts.test.yaml';
const RULE_FILE = 'sockeye-rules.yaml';
const RUNBOOKS = 'https://github.com/sockeye-dev/sockeye/blob/main/README.md';

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}
interface Group {
  readonly name: string;
  readonly rules: readonly Rule[];
}
interface UnitTests {
  readonly rule_files: readonly string[];
  readonly tests: readonly {
    readonly name: string;
    readonly alert_rule_test?: readonly { alertname: string; exp_alerts: readonly unknown[] }[];
  }[];
}

/** The PrometheusRule's groups as the unit tests see them: release and namespace "sockeye". */
async function renderGroups(set: readonly string[] = []): Promise<Group[]> {
  const objects = parseObjects(
    await renderChart({ namespace: 'sockeye', set: ['metrics.prometheusRule.enabled=true', ...set] }),
  );
  const rule = objects.find((o) => o.kind === 'PrometheusRule');
  if (!rule) throw new Error('the render has no PrometheusRule');
  return (rule.spec as { groups: Group[] }).groups;
}

const alertsOf = (groups: readonly Group[]): Rule[] =>
  groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined));

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

describe('charts/sockeye alerts', () => {
  const promtool = (args: readonly string[]) => exec(binaryPath('promtool'), args);
  let dir = '';

  /** Writes the groups as a Prometheus rule file beside a copy of the unit tests; returns its path. */
  async function ruleFile(groups: readonly Group[]): Promise<string> {
    await writeFile(join(dir, RULE_FILE), stringify({ groups }));
    return join(dir, RULE_FILE);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sockeye-promtool-'));
    await copyFile(join(testsDir, TEST_FILE), join(dir, TEST_FILE));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes promtool check rules', async () => {
    const groups = await renderGroups();
    const result = await promtool(['check', 'rules', await ruleFile(groups)]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const rules = groups.reduce((n, g) => n + g.rules.length, 0);
    expect(result.stdout).toContain(`SUCCESS: ${rules} rules found`);
  });

  it('passes promtool test rules: every alert fires on its condition after its for, and stays quiet otherwise', async () => {
    await ruleFile(await renderGroups());
    const result = await promtool(['test', 'rules', join(dir, TEST_FILE)]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('has unit tests in which every alert of the rule fires and stays quiet', async () => {
    const tests = parse(await readFile(join(testsDir, TEST_FILE), 'utf8')) as UnitTests;
    expect(tests.rule_files).toEqual([RULE_FILE]);
    const checks = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    const names = alertsOf(await renderGroups()).map((r) => r.alert);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const own = checks.filter((c) => c.alertname === name);
      expect(
        own.some((c) => c.exp_alerts.length > 0),
        `${name} never fires in ${TEST_FILE}`,
      ).toBe(true);
      expect(
        own.some((c) => c.exp_alerts.length === 0),
        `${name} is never quiet in ${TEST_FILE}`,
      ).toBe(true);
    }
  });

  it('fails promtool test rules when an alert changes (a for: of 5m, a threshold)', async () => {
    const cases: readonly (readonly string[])[] = [
      ['metrics.prometheusRule.alerts.noHealthyTargets.for=5m'],
      ['metrics.prometheusRule.alerts.findings.for=1m'],
    ];
    for (const set of cases) {
      await ruleFile(await renderGroups(set));
      const result = await promtool(['test', 'rules', join(dir, TEST_FILE)]);
      expect(result.code, set.join(' ')).not.toBe(0);
      expect(result.stdout + result.stderr, set.join(' ')).toMatch(/FAILED/);
    }
    // A rule whose condition is wrong, not only its timing: TargetsRefusing firing on no backend open.
    const groups = await renderGroups();
    const broken = groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) =>
        r.alert === 'SockeyeTargetsRefusing' ? { ...r, expr: r.expr.replace(/> 0\s*$/, '>= 0') } : r,
      ),
    }));
    expect(JSON.stringify(broken)).not.toBe(JSON.stringify(groups));
    await ruleFile(broken);
    const result = await promtool(['test', 'rules', join(dir, TEST_FILE)]);
    expect(result.code).not.toBe(0);
  });

  it('gives every alert a summary, a description and a runbook_url on a README heading', async () => {
    const headings = new Set(
      (await readFile(readme, 'utf8')).split('\n').flatMap((line) => {
        const m = /^#{1,6}\s+(.+)$/.exec(line);
        return m?.[1] ? [slug(m[1])] : [];
      }),
    );
    const alerts = alertsOf(await renderGroups());
    for (const { alert, annotations } of alerts) {
      expect(annotations?.summary, `${alert} summary`).toMatch(/\S/);
      expect(annotations?.description, `${alert} description`).toMatch(/\S/);
      expect(annotations?.runbook_url, `${alert} runbook_url`).toBe(`${RUNBOOKS}#${alert?.toLowerCase()}`);
      expect(headings, `README has no heading for ${alert}`).toContain(alert?.toLowerCase());
    }
  });

  it('points the runbooks at metrics.prometheusRule.runbookBaseURL', async () => {
    const base = 'https://runbooks.example.com/sockeye/v0.1.0/README.md';
    const alerts = alertsOf(
      await renderGroups([
        `metrics.prometheusRule.runbookBaseURL=${base}`,
        'metrics.prometheusRule.alerts.findings.reasons={ConnectTimeout}',
      ]),
    );
    expect(alerts.map((a) => a.annotations?.runbook_url)).toEqual(
      alerts.map((a) => `${base}#${a.alert?.toLowerCase()}`),
    );
    expect(alerts.map((a) => a.alert)).toContain('SockeyeConnectTimeout');
  });
});

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packageChart, sha256, sourceDateEpoch, tgzEntries } from '../../scripts/package-chart.ts';
import { chartDir, helm, KUBE_VERSION, parseObjects, renderChart } from './helm.ts';

const dirs: string[] = [];
const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'sockeye-package-'));
  dirs.push(dir);
  return dir;
};
const nowSeconds = (): number => Math.floor(Date.now() / 1000);
/** Waits for the wall clock's next second: helm stamps entries to the second. */
async function nextSecond(): Promise<void> {
  const start = nowSeconds();
  while (nowSeconds() === start) await sleep(20);
}

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('charts/sockeye packaged', () => {
  it('is not reproducible from helm package alone: helm stamps each entry with the time of packaging', async () => {
    const out = await tempDir();
    const before = nowSeconds();
    const result = await helm(['package', chartDir, '--destination', out]);
    expect(result.code, result.stderr).toBe(0);
    const entries = tgzEntries(await readFile(join(out, 'sockeye-0.1.0.tgz')));
    expect(entries.length).toBeGreaterThan(5);
    // When helm stops doing this (SOURCE_DATE_EPOCH, fixed times), scripts/package-chart.ts can go.
    for (const e of entries) expect(e.mtime, e.name).toBeGreaterThanOrEqual(before);
  });

  it('packages to the same sha256 twice, a second apart, with helm contents and one fixed time', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const first = await packageChart(a);
    await nextSecond();
    const second = await packageChart(b);
    expect(second.sha256).toBe(first.sha256);
    const archive = await readFile(first.file);
    expect(sha256(archive)).toBe(first.sha256);
    const epoch = await sourceDateEpoch();
    const entries = tgzEntries(archive);
    expect(new Set(entries.map((e) => e.mtime))).toEqual(new Set([epoch]));

    // Only the times changed: names, order and contents are helm's own.
    const raw = await tempDir();
    await helm(['package', chartDir, '--destination', raw]);
    const helmEntries = tgzEntries(await readFile(join(raw, 'sockeye-0.1.0.tgz')));
    expect(entries.map((e) => [e.name, e.body.toString('base64')])).toEqual(
      helmEntries.map((e) => [e.name, e.body.toString('base64')]),
    );
    // And helm reads it as the chart.
    const fromArchive = await helm([
      'template',
      'sockeye',
      first.file,
      '--namespace',
      'sockeye',
      '--kube-version',
      KUBE_VERSION,
    ]);
    expect(fromArchive.code, fromArchive.stderr).toBe(0);
    expect(fromArchive.stdout).toBe(await renderChart({ namespace: 'sockeye' }));
  });

  it('dates the entries by SOURCE_DATE_EPOCH when it is set', async () => {
    const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' };
    const { file, sha256: digest } = await packageChart(await tempDir(), env);
    expect(new Set(tgzEntries(await readFile(file)).map((e) => e.mtime))).toEqual(new Set([1_700_000_000]));
    expect(digest).not.toBe((await packageChart(await tempDir())).sha256);
    await expect(sourceDateEpoch({ SOURCE_DATE_EPOCH: 'yesterday' })).rejects.toThrow(/SOURCE_DATE_EPOCH/);
  });
});

/** Artifact Hub's Helm annotations (https://artifacthub.io/docs/topics/annotations/helm/). */
const CATEGORIES = [
  'ai-machine-learning',
  'database',
  'integration-delivery',
  'monitoring-logging',
  'networking',
  'security',
  'storage',
  'streaming-messaging',
];
const CHANGE_KINDS = ['added', 'changed', 'deprecated', 'removed', 'fixed', 'security'];
const CAPABILITIES = ['Basic Install', 'Seamless Upgrades', 'Full Lifecycle', 'Deep Insights', 'Auto Pilot'];

describe('charts/sockeye Artifact Hub metadata', () => {
  const chartYaml = async () =>
    parse(await readFile(join(chartDir, 'Chart.yaml'), 'utf8')) as {
      appVersion: string;
      annotations: Record<string, string>;
    };

  it('lists exactly the images the chart runs, at its appVersion', async () => {
    const chart = await chartYaml();
    const images = parse(chart.annotations['artifacthub.io/images'] ?? '') as {
      name: string;
      image: string;
    }[];
    const rendered = new Set<string>();
    // Every mode's pods (operator, audit Job, webhook, the helm test Pod).
    const objects = parseObjects(
      await renderChart({
        namespace: 'sockeye',
        set: ['auditJob.enabled=true', 'metrics.prometheusRule.enabled=true'],
      }),
    );
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if ((k === 'containers' || k === 'initContainers') && Array.isArray(v)) {
            for (const c of v as { image: string }[]) rendered.add(c.image);
          } else collect(v);
        }
      }
    };
    collect(objects);
    expect(rendered.size).toBeGreaterThan(0);
    expect(new Set(images.map((i) => i.image))).toEqual(rendered);
    for (const i of images)
      expect(i.image).toMatch(new RegExp(`:${chart.appVersion.replaceAll('.', '\\.')}$`));
  });

  it('has a license, category, operator flags, links and changes Artifact Hub accepts', async () => {
    const { annotations } = await chartYaml();
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      license: string;
    };
    expect(annotations['artifacthub.io/license']).toBe(pkg.license);
    expect(CATEGORIES).toContain(annotations['artifacthub.io/category']);
    expect(annotations['artifacthub.io/operator']).toBe('true');
    expect(CAPABILITIES).toContain(annotations['artifacthub.io/operatorCapabilities']);
    for (const flag of ['containsSecurityUpdates', 'prerelease']) {
      expect(['true', 'false'], flag).toContain(annotations[`artifacthub.io/${flag}`]);
    }
    const links = parse(annotations['artifacthub.io/links'] ?? '') as { name: string; url: string }[];
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) {
      expect(l.name, JSON.stringify(l)).toMatch(/\S/);
      expect(l.url, l.name).toMatch(/^https:\/\/github\.com\/sockeye-dev\/sockeye(\/|$)/);
    }
    const changes = parse(annotations['artifacthub.io/changes'] ?? '') as {
      kind: string;
      description: string;
    }[];
    expect(changes.length).toBeGreaterThan(0);
    for (const c of changes) {
      expect(CHANGE_KINDS, c.description).toContain(c.kind);
      expect(c.description).toMatch(/\S/);
    }
    // Only annotations Artifact Hub knows: a typo would be silently ignored there.
    const known = [
      'license',
      'category',
      'operator',
      'operatorCapabilities',
      'containsSecurityUpdates',
      'prerelease',
      'images',
      'links',
      'changes',
    ];
    for (const key of Object.keys(annotations)) {
      expect(
        known.map((k) => `artifacthub.io/${k}`),
        key,
      ).toContain(key);
    }
  });
});

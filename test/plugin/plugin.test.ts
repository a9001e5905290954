import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import ajvFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { binaryPath } from '../../cluster/binaries.ts';
import { buildPlugin, type PluginBuild } from '../../scripts/build-plugin.ts';
import {
  archiveName,
  type KrewPlugin,
  krewManifest,
  PLUGIN_BIN,
  PLUGIN_TARGETS,
} from '../../scripts/krew-manifest.ts';
import type { AuditReport } from '../../src/audit/report.ts';
import { REASONS } from '../../src/rules/catalog.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';

const exec = promisify(execFile);
const schema = JSON.parse(
  await readFile(new URL('krew-plugin.schema.json', import.meta.url), 'utf8'),
) as object;
const ajv = new Ajv.default({ allErrors: true });
ajvFormats.default(ajv);
const validateKrew = ajv.compile(schema);
const krewErrors = (manifest: unknown): string[] =>
  validateKrew(manifest) ? [] : (validateKrew.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

/** The ELF header's class (2: 64-bit) and e_machine (0x3e x86-64, 0xb7 AArch64). */
async function elfHeader(file: string): Promise<{ magic: string; bits: number; machine: number }> {
  const fd = await open(file);
  try {
    const { buffer } = await fd.read(Buffer.alloc(20), 0, 20, 0);
    return {
      magic: buffer.subarray(0, 4).toString('latin1'),
      bits: buffer[4] === 2 ? 64 : 32,
      machine: buffer.readUInt16LE(18),
    };
  } finally {
    await fd.close();
  }
}

describe('the krew manifest schema (krew’s own validation rules)', () => {
  const good = krewManifest({
    version: '1.2.3',
    baseUrl: 'https://example.invalid/releases/',
    archives: PLUGIN_TARGETS.map((target) => ({ target, sha256: 'a'.repeat(64), files: [PLUGIN_BIN] })),
  });
  const platform = good.spec.platforms[0]!;
  const withPlatform = (p: object) => ({
    ...good,
    spec: { ...good.spec, platforms: [{ ...platform, ...p }] },
  });

  it('accepts the generated manifest: v-prefixed version, one linux platform per archive', () => {
    expect(krewErrors(good)).toEqual([]);
    expect(good.spec.version).toBe('v1.2.3');
    expect(good.spec.platforms.map((p) => [p.selector.matchLabels, p.uri])).toEqual([
      [{ os: 'linux', arch: 'amd64' }, 'https://example.invalid/releases/kubectl-sockeye_linux_amd64.tar.gz'],
      [{ os: 'linux', arch: 'arm64' }, 'https://example.invalid/releases/kubectl-sockeye_linux_arm64.tar.gz'],
    ]);
  });

  it.each([
    ['another apiVersion', { ...good, apiVersion: 'krew.googlecontainertools.github.com/v1alpha1' }],
    ['a version without v', { ...good, spec: { ...good.spec, version: '0.1.0' } }],
    ['a short description over two lines', { ...good, spec: { ...good.spec, shortDescription: 'a\nb' } }],
    ['no platform', { ...good, spec: { ...good.spec, platforms: [] } }],
    ['an unsafe name', { ...good, metadata: { name: 'sock eye' } }],
    ['a reserved name', { ...good, metadata: { name: 'con' } }],
    ['an upper-case sha256', withPlatform({ sha256: 'A'.repeat(64) })],
    ['a short sha256', withPlatform({ sha256: 'a'.repeat(63) })],
    ['no bin', withPlatform({ bin: '' })],
    ['no uri', withPlatform({ uri: undefined })],
    ['empty files', withPlatform({ files: [] })],
    ['a file without to', withPlatform({ files: [{ from: PLUGIN_BIN }] })],
    ['an empty selector', withPlatform({ selector: {} })],
    [
      'a selector on another key',
      withPlatform({ selector: { matchLabels: { os: 'linux', distro: 'debian' } } }),
    ],
  ])('rejects %s', (_what, manifest) => {
    expect(krewErrors(JSON.parse(JSON.stringify(manifest)))).not.toEqual([]);
  });
});

// A refusing Service: its only pod is Ready and listens on nothing.
const SCENARIO = `
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: api-1, labels: {app: api}}
spec:
  containers: [{name: app, image: api, ports: [{containerPort: 8080}]}]
`;

describe('kubectl sockeye as a single executable, on a PATH without Node', () => {
  let built: PluginBuild;
  let kube: TestKube;
  let dir: string;
  const ns = uniqueNamespace('plugin');
  const kubeconfig = inject('kubeconfig');

  /** `kubectl ARGS` with PATH = a folder that holds kubectl and the extracted plugin, nothing else. */
  const kubectl = (...args: string[]) =>
    exec(join(dir, 'bin', 'kubectl'), args, {
      env: { PATH: join(dir, 'bin'), HOME: join(dir, 'home') },
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof err.code === 'number' ? err.code : -1,
        stdout: err.stdout ?? '',
        stderr: err.stderr ?? '',
      }),
    );

  beforeAll(async () => {
    // ~30 s the first time (bundle, blob, two injections, two archives); cached by input hash after.
    built = await buildPlugin();
    dir = await mkdtemp(join(tmpdir(), 'sockeye-plugin-'));
    // Installed as krew would: the amd64 archive unpacked, the binary put on the PATH.
    await exec('mkdir', ['-p', join(dir, 'bin'), join(dir, 'home')]);
    await exec('tar', ['xzf', built.archives.amd64, '-C', join(dir, 'bin')]);
    await symlink(binaryPath('kubectl'), join(dir, 'bin', 'kubectl'));
    kube = testKube();
    await createNamespace(kube, ns);
    await applyYaml(kube, SCENARIO, ns);
    await eventually(`${ns}/api-1 running with an endpoint`, async () => {
      const slices = await kube.discovery.listNamespacedEndpointSlice({
        namespace: ns,
        labelSelector: 'kubernetes.io/service-name=api',
      });
      const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
      return ready.length === 1 ? true : undefined;
    });
  }, 600_000);

  afterAll(async () => {
    if (kube) await deleteNamespace(kube, ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has nothing on the PATH but kubectl and the plugin (so no node)', async () => {
    expect((await readdir(join(dir, 'bin'))).sort()).toEqual(['kubectl', PLUGIN_BIN]);
    // Node's SEA fuse is flipped in both binaries: each runs its injected script, not a REPL.
    for (const binary of Object.values(built.binaries)) {
      expect((await readFile(binary)).includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1')).toBe(
        true,
      );
    }
  });

  it('prints its version and a troubleshooting guide as kubectl sockeye', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(await kubectl('sockeye', '--version')).toEqual({
      code: 0,
      stdout: `sockeye ${pkg.version}\n`,
      stderr: '',
    });
    const guide = await kubectl('sockeye', 'explain', 'NoHealthyTargets');
    expect(guide.code).toBe(0);
    expect(guide.stdout).toContain(`NoHealthyTargets: ${REASONS.NoHealthyTargets.summary}`);
    // Usage errors name the program as it was typed.
    const bad = await kubectl('sockeye', 'explain', 'NoSuchReason');
    expect(bad.code).toBe(2);
    const help = await kubectl('sockeye', '--help');
    expect(help.stdout).toContain('Usage: kubectl sockeye COMMAND');
  });

  it('runs every mode from the bundle: probe on loopback, the others’ help', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const probe = await kubectl('sockeye', 'probe', `127.0.0.1:${port}`);
      expect(probe.code).toBe(0);
      expect(probe.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port}\\s+open`, 'm'));
    } finally {
      server.close();
    }
    for (const mode of ['operator', 'sidecar', 'webhook', 'audit', 'probe', 'explain']) {
      const help = await kubectl('sockeye', mode, '--help');
      expect({ mode, code: help.code, stderr: help.stderr }).toEqual({ mode, code: 0, stderr: '' });
      expect(help.stdout).toContain(`kubectl sockeye ${mode}`);
    }
  });

  it('audits the local cluster: the refusing Service and its Ready pod, exit 1', async () => {
    const run = await kubectl(
      'sockeye',
      'audit',
      '--kubeconfig',
      kubeconfig,
      '-n',
      ns,
      '--timeout',
      '500ms',
      '-o',
      'json',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as AuditReport;
    expect(report.schemaVersion).toBe('sockeye.dev/audit/v1');
    expect(report.summary.targets).toMatchObject({ planned: 1, probed: 1, refused: 1 });
    expect(report.findings.map((f) => [f.reason, `${f.object.kind}/${f.object.name}`]).sort()).toEqual([
      ['NoHealthyTargets', 'Service/api'],
      ['ReadyButRefusing', 'Pod/api-1'],
    ]);
  });

  it('builds the arm64 binary too: a 64-bit AArch64 ELF, and the x64 one an x86-64 ELF', async () => {
    for (const target of PLUGIN_TARGETS) {
      expect(await elfHeader(built.binaries[target.goArch])).toEqual({
        magic: '\u007fELF',
        bits: 64,
        machine: target.elfMachine,
      });
    }
  });

  it('writes a krew manifest valid by krew’s rules, whose sha256s are the archives’', async () => {
    const manifest = parseYaml(await readFile(built.manifest, 'utf8')) as KrewPlugin;
    expect(krewErrors(manifest)).toEqual([]);
    expect(built.manifest.endsWith(`/${manifest.metadata.name}.yaml`)).toBe(true);
    expect(manifest.spec.platforms).toHaveLength(PLUGIN_TARGETS.length);
    for (const target of PLUGIN_TARGETS) {
      const platform = manifest.spec.platforms.find((p) => p.selector.matchLabels.arch === target.goArch);
      expect(platform?.selector.matchLabels.os).toBe('linux');
      expect(platform?.uri.endsWith(`/${archiveName(target)}`)).toBe(true);
      expect(platform?.sha256).toBe(await sha256(built.archives[target.goArch]));
      expect(platform?.bin).toBe(PLUGIN_BIN);
      const { stdout } = await exec('tar', ['tzvf', built.archives[target.goArch]]);
      // The binary is executable in the archive, as krew installs it.
      expect(stdout).toMatch(/^-rwxr-xr-x .* kubectl-sockeye$/m);
    }
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInherit } from './exec.ts';

export const BINARIES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-proxy',
  'kubectl',
  'helm',
  'promtool',
  'openreports-crds',
] as const;
/**
 * Built only when asked for by name (`npm run bench:audit`), never by default or by CI: the peers
 * `sockeye audit` is benchmarked against.
 */
export const EXTRA_BINARIES = ['popeye', 'k8sgpt'] as const;
export type Binary = (typeof BINARIES)[number] | (typeof EXTRA_BINARIES)[number];

/** Each binary's pinning module under tools/ and the Go module whose version is the cache key. */
const PINS: Readonly<Record<Binary, readonly [dir: string, module: string]>> = {
  etcd: ['etcd', 'go.etcd.io/etcd/server/v3'],
  'kube-apiserver': ['kubernetes', 'k8s.io/kubernetes'],
  'kube-controller-manager': ['kubernetes', 'k8s.io/kubernetes'],
  'kube-proxy': ['kubernetes', 'k8s.io/kubernetes'],
  kubectl: ['kubernetes', 'k8s.io/kubernetes'],
  helm: ['helm', 'helm.sh/helm/v3'],
  promtool: ['prometheus', 'github.com/prometheus/prometheus'],
  popeye: ['popeye', 'github.com/derailed/popeye'],
  k8sgpt: ['k8sgpt', 'github.com/k8sgpt-ai/k8sgpt'],
  // Not a binary: the OpenReports API's CRDs (its config/crd/ folder), fetched from the pinned module.
  'openreports-crds': ['openreports', 'github.com/openreports/reports-api'],
};

const toolsDir = fileURLToPath(new URL('../tools/', import.meta.url));
const buildScript = fileURLToPath(new URL('./build-binaries.sh', import.meta.url));

export function cacheDir(): string {
  return (
    process.env.SOCKEYE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sockeye')
  );
}

/** The version each binary is built at, read from the pinning Go module (the cache key). */
export function pinnedVersion(binary: Binary): string {
  const [dir, module] = PINS[binary];
  const gomod = readFileSync(join(toolsDir, dir, 'go.mod'), 'utf8');
  const match = new RegExp(`^require ${module.replaceAll('.', '\\.')} (v\\S+)$`, 'm').exec(gomod);
  if (!match?.[1]) throw new Error(`tools/${dir}/go.mod does not pin ${module}`);
  return match[1];
}

/**
 * Where a binary is: $KUBEBUILDER_ASSETS first (envtest's convention), then the build cache. For
 * `openreports-crds`, the folder holding the CRD files.
 */
export function binaryPath(binary: Binary): string {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && existsSync(join(assets, binary))) return join(assets, binary);
  return join(cacheDir(), 'bin', `${binary}-${pinnedVersion(binary)}`, binary);
}

/** Builds whichever of `binaries` is missing (the script prints its progress) and returns the paths. */
export async function ensureBinaries(
  binaries: readonly Binary[] = BINARIES,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<Record<Binary, string>> {
  const missing = binaries.filter((b) => !existsSync(binaryPath(b)));
  if (missing.length > 0) {
    log(`cluster: building ${missing.join(', ')} from their Go modules (cached in ${cacheDir()})`);
    // Progress goes straight to our stderr: the first build takes long enough that silence would worry.
    await runInherit('bash', [buildScript, ...missing]);
  }
  return Object.fromEntries(
    [...BINARIES, ...binaries.filter((b) => !(BINARIES as readonly Binary[]).includes(b))].map((b) => [
      b,
      binaryPath(b),
    ]),
  ) as Record<Binary, string>;
}

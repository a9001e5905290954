/**
 * `npm run manifests`: renders charts/sockeye with its defaults into manifests/sockeye.yaml, for users
 * who install with `kubectl apply -f` instead of Helm. `--check` only compares, and exits 1 when the
 * committed file is stale (test/chart/manifests.test.ts does the same in `npm test`).
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureBinaries } from '../cluster/binaries.ts';

const chartDir = fileURLToPath(new URL('../charts/sockeye/', import.meta.url));
export const manifestsFile = fileURLToPath(new URL('../manifests/sockeye.yaml', import.meta.url));

export const RELEASE = 'sockeye';
export const NAMESPACE = 'sockeye';
/** The oldest Kubernetes the chart supports is what its kubeVersion says; render for a current one. */
const KUBE_VERSION = 'v1.36.3';

const HEADER = `# sockeye, rendered from charts/sockeye with its default values (npm run manifests).
# Do not edit: change the chart and re-render. Install with:
#   kubectl apply -f manifests/sockeye.yaml
# It runs the operator cluster-wide in the namespace "${NAMESPACE}" (2 replicas, leader election).
# For any other setting (namespace-scoped mode, alerts, the audit Job) install the Helm chart.
---
# The namespace enforces the restricted Pod Security Standard: sockeye needs nothing more.
apiVersion: v1
kind: Namespace
metadata:
  name: ${NAMESPACE}
  labels:
    app.kubernetes.io/part-of: sockeye
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/audit: restricted
`;

/** The manifests as `npm run manifests` writes them. */
export async function renderManifests(): Promise<string> {
  const { helm } = await ensureBinaries(['helm']);
  const args = [
    'template',
    RELEASE,
    chartDir,
    '--namespace',
    NAMESPACE,
    '--kube-version',
    KUBE_VERSION,
    // ValidatingAdmissionPolicy v1 is GA since 1.30: the manifests carry it (older API servers refuse
    // those two objects; the Helm chart renders them only where the API server serves them).
    '--api-versions',
    'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy',
    // The `helm test` hook runs only under `helm test`: kubectl apply would start its Pod at once.
    '--skip-tests',
  ];
  const { stdout } = await promisify(execFile)(helm, args, { maxBuffer: 64 * 1024 * 1024 });
  // Helm's "# Source:" comments are chart-relative: the output does not depend on the checkout path.
  return `${HEADER}${stdout.startsWith('---') ? '' : '---\n'}${stdout}`;
}

async function main(args: readonly string[]): Promise<number> {
  const check = args.includes('--check');
  const rendered = await renderManifests();
  if (check) {
    const current = await readFile(manifestsFile, 'utf8').catch(() => '');
    if (current === rendered) return 0;
    process.stderr.write('manifests/sockeye.yaml is stale: run `npm run manifests` and commit it\n');
    return 1;
  }
  await writeFile(manifestsFile, rendered);
  process.stdout.write(`wrote ${manifestsFile}\n`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}

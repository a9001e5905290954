import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ensureBinaries } from './binaries.ts';
import { killGroup, startDetached } from './exec.ts';
import { makePki, type Pki } from './pki.ts';

/** Controllers the local kube-controller-manager runs: what sockeye's tests need, nothing more. */
export const CONTROLLERS = [
  'endpointslice-controller',
  // Not endpoints-controller by default (see `ENDPOINTS_CONTROLLER`).
  'garbage-collector-controller',
  'namespace-controller',
  'deployment-controller',
  'replicaset-controller',
  // Creates each namespace's `default` ServiceAccount, which pods run as.
  'serviceaccount-controller',
] as const;

/**
 * The controller that writes the deprecated v1 Endpoints of every Service with a selector. sockeye
 * reads EndpointSlices only, so the cluster runs without it unless asked (`endpointsController`): it
 * adds one Endpoints write for every EndpointSlice write. Measured at 3,000 pods and 600 Services
 * (bench/audit-endpoints-cost.ts): +8% controller-manager CPU and +9-16% API requests while pods
 * come and go, nothing when idle; the benches that measure sockeye alone need none of it. The peers
 * `bench:audit` compares with (popeye, k8sgpt) read v1 Endpoints, as real clusters still serve them:
 * without it they see no Service as having any.
 */
export const ENDPOINTS_CONTROLLER = 'endpoints-controller';

/** The kube-controller-manager's `--controllers` list. */
export function controllers(endpointsController: boolean): string[] {
  return endpointsController ? [...CONTROLLERS, ENDPOINTS_CONTROLLER] : [...CONTROLLERS];
}

export interface ControlPlaneOptions {
  /** Also run the v1 Endpoints controller (`ENDPOINTS_CONTROLLER`); default false. */
  readonly endpointsController?: boolean;
}

export interface ControlPlane {
  readonly dir: string;
  readonly pki: Pki;
  readonly apiServerUrl: string;
  readonly kubeconfig: string;
  readonly pids: { etcd: number; apiserver: number; controllerManager: number };
  /** What restarting the API server alone needs: its command line, and the PKI to wait for it ready. */
  readonly apiServer: { readonly argv: readonly string[]; readonly pki: Pki };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

export function kubeconfigYaml(
  server: string,
  pki: Pki,
  user = 'sockeye-admin',
  cert = pki.adminCert,
  key = pki.adminKey,
) {
  return `apiVersion: v1
kind: Config
clusters:
- name: sockeye-local
  cluster:
    server: ${server}
    certificate-authority: ${pki.caCert}
users:
- name: ${user}
  user:
    client-certificate: ${cert}
    client-key: ${key}
contexts:
- name: sockeye-local
  context: {cluster: sockeye-local, user: ${user}}
current-context: sockeye-local
`;
}

/**
 * The API server's audit log: one JSON line per write the operator can make (Events and Leases;
 * Service and Pod updates and patches, not creates or the simulator's pods/status), at Metadata
 * level, so a test can count the writes of one client by its source address (test/support/proxy.ts
 * connects from 127.0.0.2). Everything else, reads and watches first, is not logged: cheap.
 */
export const AUDIT_LOG = 'kube-apiserver-audit.log';
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete]
  resources:
  - {group: "events.k8s.io", resources: [events]}
  - {group: "", resources: [events]}
  - {group: "coordination.k8s.io", resources: [leases]}
- level: Metadata
  verbs: [update, patch]
  resources:
  - {group: "", resources: [services, pods]}
- level: None
`;

/** What `startControlPlane` and a restart of the API server alone run: the kube-apiserver command line. */
export function apiServerArgv(o: {
  readonly binary: string;
  readonly dir: string;
  readonly pki: Pki;
  readonly etcdUrl: string;
  readonly port: number;
  readonly advertiseAddress: string;
  /** IPv4 and IPv6 ranges inside the benchmarking ranges (addresses.ts clusterAddressPlan). */
  readonly serviceRanges: readonly string[];
}): string[] {
  const { dir, pki, etcdUrl, port, advertiseAddress } = o;
  return [
    o.binary,
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--advertise-address=${advertiseAddress}`,
    '--endpoint-reconciler-type=none',
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--authorization-mode=RBAC',
    // Dual-stack, so Services may ask for IPv6 (simulated pods get IPv6 twins on request); inside
    // 198.18.0.0/15 and 2001:2::/48, so nothing a test sends to a ClusterIP can leave the machine.
    `--service-cluster-ip-range=${o.serviceRanges.join(',')}`,
    // No controller here creates the default ServiceAccount of each namespace.
    '--disable-admission-plugins=ServiceAccount',
    '--allow-privileged=true',
    `--cert-dir=${join(dir, 'pki')}`,
    `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
    `--audit-log-path=${join(dir, AUDIT_LOG)}`,
    '--audit-log-format=json',
    '--audit-log-maxsize=200',
    '--audit-log-maxbackup=1',
    '--v=1',
  ];
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on loopback with random free ports, each
 * in its own process group with its log in `dir`, and waits until the API server is ready.
 * `advertiseAddress` must be non-loopback; with the endpoint reconciler off nothing uses it.
 */
export async function startControlPlane(
  dir: string,
  advertiseAddress: string,
  serviceRanges: readonly string[],
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  await mkdir(join(dir, 'pki'), { recursive: true });
  await writeFile(join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
  const bins = await ensureBinaries(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl']);
  const pki = await makePki(join(dir, 'pki'), [advertiseAddress]);
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const etcd = await startDetached(
    bins.etcd,
    [
      '--name=sockeye',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=sockeye=${peerUrl}`,
      // A test cluster lives minutes: durability is not worth the fsync latency.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    join(dir, 'etcd.log'),
  );
  const apiServerUrl = `https://127.0.0.1:${apiPort}`;
  const apiServer = {
    argv: apiServerArgv({
      binary: bins['kube-apiserver'],
      dir,
      pki,
      etcdUrl,
      port: apiPort,
      advertiseAddress,
      serviceRanges,
    }),
    pki,
  };
  const [apiBinary = '', ...apiArgs] = apiServer.argv;
  const apiserver = await startDetached(apiBinary, apiArgs, join(dir, 'kube-apiserver.log'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigYaml(apiServerUrl, pki));
  await waitReady(apiServerUrl, pki, join(dir, 'kube-apiserver.log'));
  const controllerManager = await startDetached(
    bins['kube-controller-manager'],
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      `--controllers=${controllers(options.endpointsController ?? false).join(',')}`,
      '--leader-elect=false',
      // client-go's default of 20 requests/s (burst 30) made the endpointslice controller the bound
      // on a large simulated cluster: one slice write per pod turning ready, ~20 pods/s at best.
      '--kube-api-qps=400',
      '--kube-api-burst=800',
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
      `--cert-dir=${join(dir, 'pki')}`,
      '--v=1',
    ],
    join(dir, 'kube-controller-manager.log'),
  );
  return { dir, pki, apiServerUrl, kubeconfig, pids: { etcd, apiserver, controllerManager }, apiServer };
}

export async function stopControlPlane(pids: ControlPlane['pids']): Promise<void> {
  // Reverse order: controllers first so they do not log a storm of errors at a dead API server.
  await killGroup(pids.controllerManager);
  await killGroup(pids.apiserver);
  await killGroup(pids.etcd);
}

/** Polls /readyz with the admin certificate until the API server says ok. */
export async function waitReady(url: string, pki: Pki, logFile: string, timeoutMs = 120_000): Promise<void> {
  const [ca, cert, key] = await Promise.all([
    readFile(pki.caCert),
    readFile(pki.adminCert),
    readFile(pki.adminKey),
  ]);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await new Promise<string>((resolve) => {
      const req = request(`${url}/readyz`, { ca, cert, key, timeout: 2000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve(res.statusCode === 200 ? 'ok' : `HTTP ${res.statusCode}: ${body.slice(0, 200)}`),
        );
      });
      req.on('error', (err) => resolve(err.message));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    if (last === 'ok') return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver at ${url} not ready after ${timeoutMs} ms (${last}); see ${logFile}`);
}

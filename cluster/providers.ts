import { existsSync } from 'node:fs';
import { downLocalCluster, upLocalCluster } from './local.ts';

export interface StartOptions {
  readonly dir: string;
  /** A range, or candidates of which the first free one is taken (local provider only). */
  readonly cidr?: string | readonly string[];
  readonly nodes?: number;
}

export interface RunningCluster {
  readonly kubeconfig: string;
  /** Only the local cluster simulates pods: scenario annotations work there alone. */
  readonly local?: { dir: string; id: string; cidr: string };
  stop(): Promise<void>;
}

/** One way to get a cluster for tests and the demo. */
export interface ClusterProvider {
  readonly name: string;
  /** `true`, or why this provider cannot run here. */
  available(): Promise<true | string>;
  start(opts: StartOptions): Promise<RunningCluster>;
}

/** etcd + kube-apiserver + kube-controller-manager + pod simulator on this machine (the default). */
export const localProvider: ClusterProvider = {
  name: 'local',
  available: async () => true,
  async start(opts) {
    const state = await upLocalCluster(opts);
    return {
      kubeconfig: state.kubeconfig,
      local: { dir: state.dir, id: state.id, cidr: state.cidr },
      stop: () => downLocalCluster(opts.dir),
    };
  },
};

/** An existing cluster from $KUBECONFIG (kind, k3d, a real one); sockeye's tests never stop it. */
export const kubeconfigProvider: ClusterProvider = {
  name: 'kubeconfig',
  async available() {
    const path = process.env.KUBECONFIG;
    if (!path) return 'KUBECONFIG is not set';
    return existsSync(path) ? true : `KUBECONFIG names ${path}, which does not exist`;
  },
  async start() {
    return { kubeconfig: process.env.KUBECONFIG!, stop: async () => undefined };
  },
};

/**
 * K3s in a container through testcontainers' K3s module (a development dependency), where a Docker
 * engine exists; elsewhere the provider says why and is skipped. The module is loaded only when used:
 * the other providers never pay for it.
 */
export const k3sProvider: ClusterProvider = {
  name: 'k3s',
  async available() {
    if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock'))
      return 'no Docker engine (DOCKER_HOST is unset and /var/run/docker.sock is missing)';
    return true;
  },
  async start(opts) {
    const { writeFile } = await import('node:fs/promises');
    const { K3sContainer } = await import('@testcontainers/k3s');
    const container = await new K3sContainer('rancher/k3s:v1.31.2-k3s1').start();
    const kubeconfig = `${opts.dir}/kubeconfig`;
    await writeFile(kubeconfig, container.getKubeConfig());
    return { kubeconfig, stop: async () => void (await container.stop()) };
  },
};

export const PROVIDERS: readonly ClusterProvider[] = [localProvider, kubeconfigProvider, k3sProvider];

export async function selectProvider(name: string): Promise<ClusterProvider> {
  const provider = PROVIDERS.find((p) => p.name === name);
  if (!provider)
    throw new Error(`unknown cluster provider "${name}" (one of ${PROVIDERS.map((p) => p.name).join(', ')})`);
  const ok = await provider.available();
  if (ok !== true) throw new Error(`cluster provider "${name}" cannot run here: ${ok}`);
  return provider;
}

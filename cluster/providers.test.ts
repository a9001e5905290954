import { afterEach, describe, expect, it } from 'vitest';
import { k3sProvider, kubeconfigProvider, selectProvider } from './providers.ts';

describe('cluster providers', () => {
  const saved = process.env.KUBECONFIG;
  afterEach(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });

  it('names an unknown provider and lists the known ones', async () => {
    await expect(selectProvider('minikube')).rejects.toThrow(
      'unknown cluster provider "minikube" (one of local, kubeconfig, k3s)',
    );
  });

  it('says why the kubeconfig provider cannot run without KUBECONFIG', async () => {
    delete process.env.KUBECONFIG;
    expect(await kubeconfigProvider.available()).toBe('KUBECONFIG is not set');
    process.env.KUBECONFIG = '/nonexistent/kubeconfig';
    expect(await kubeconfigProvider.available()).toBe(
      'KUBECONFIG names /nonexistent/kubeconfig, which does not exist',
    );
  });

  it("has testcontainers' K3s module installed, so only a Docker engine is missing here", async () => {
    const { K3sContainer } = await import('@testcontainers/k3s');
    expect(typeof K3sContainer).toBe('function');
  });

  it('starts a K3s cluster through testcontainers where Docker exists, and is skipped with the reason elsewhere', async (ctx) => {
    const available = await k3sProvider.available();
    if (available !== true) {
      await expect(selectProvider('k3s')).rejects.toThrow(
        `cluster provider "k3s" cannot run here: ${available}`,
      );
      ctx.skip(`k3s provider: ${available}`);
    }
    const { mkdtemp, rm } = await import('node:fs/promises');
    const dir = await mkdtemp('/tmp/sockeye-k3s-');
    const cluster = await k3sProvider.start({ dir });
    try {
      expect(cluster.kubeconfig).toContain(dir);
    } finally {
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

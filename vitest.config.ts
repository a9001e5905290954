import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs pure logic beside the code; `integration` stands on one local
// cluster (etcd + kube-apiserver + kube-controller-manager + pod simulator) started by the
// global setup and torn down even when tests fail.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'cluster/**/*.test.ts', 'bench/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        // Real sockets on loopback and in network namespaces the tests create themselves; no cluster.
        test: {
          name: 'net',
          include: ['test/net/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/net/**'],
          environment: 'node',
          globalSetup: ['test/setup/cluster.global.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

import { defineConfig } from 'vitest/config';

// Three projects: `unit` runs pure logic beside the code; `net` real sockets; `integration` stands on one local
// cluster (etcd + kube-apiserver + kube-controller-manager + pod simulator) started by the
// global setup and torn down even when tests fail.
export default defineConfig({
  test: {
    // The plain closing line (`N passed, N failed, N skipped`) that CI reads comes from our reporter.
    reporters: ['default', './test/setup/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'cluster/**/*.test.ts',
            'bench/**/*.test.ts',
            'test/setup/**/*.test.ts',
            'test/structure/**/*.test.ts',
          ],
          environment: 'node',
          // A ceiling, not a target: the entry-point tests start node processes and property tests
          // run many cases, which on a loaded 2-core machine outlast vitest's 5 s default.
          testTimeout: 30_000,
        },
      },
      {
        // Real sockets on loopback and in network namespaces the tests create themselves, and the
        // entry scripts run as child processes; no cluster.
        test: {
          name: 'net',
          include: ['test/net/**/*.test.ts', 'test/launch/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/net/**', 'test/launch/**', 'test/setup/**', 'test/structure/**'],
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

import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  containerArgv,
  containerEnv,
  imageName,
  readinessProbes,
  runnableContainers,
  serviceLinkEnv,
} from './containers.ts';

const config = {
  images: ['sockeye', 'ghcr.io/sockeye-dev/sockeye'],
  sockeye: ['node', '/repo/bin/sockeye.js'],
};

describe('runnable simulated containers', () => {
  it('strips tag and digest from image names, keeping registry ports', () => {
    expect(imageName('ghcr.io/sockeye-dev/sockeye:0.1.0')).toBe('ghcr.io/sockeye-dev/sockeye');
    expect(imageName('sockeye@sha256:abc')).toBe('sockeye');
    expect(imageName('localhost:5000/sockeye:dev')).toBe('localhost:5000/sockeye');
  });

  it('runs only containers of sockeye images', () => {
    const pod: V1Pod = {
      spec: {
        containers: [
          { name: 'app', image: 'nginx:1' },
          { name: 'sockeye', image: 'sockeye:dev' },
        ],
      },
    };
    expect(runnableContainers(pod, config).map((c) => c.name)).toEqual(['sockeye']);
  });

  it('maps the image entry point and a sockeye command to this checkout', () => {
    expect(containerArgv({ name: 's', args: ['sidecar', '--port', '9000'] }, config)).toEqual([
      'node',
      '/repo/bin/sockeye.js',
      'sidecar',
      '--port',
      '9000',
    ]);
    expect(containerArgv({ name: 's', command: ['sockeye', 'operator'] }, config)).toEqual([
      'node',
      '/repo/bin/sockeye.js',
      'operator',
    ]);
  });

  it('resolves literal env values and downward API fields', () => {
    const pod: V1Pod = { metadata: { name: 'web-1', namespace: 'shop' }, spec: { containers: [] } };
    const env = containerEnv(
      {
        name: 's',
        env: [
          { name: 'MODE', value: 'x' },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'POD_IPS', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } },
        ],
      },
      pod,
      { podIPs: ['198.18.0.9', '2001:2::9'], hostIP: '198.18.31.254' },
    );
    expect(env).toEqual({
      HOSTNAME: 'web-1',
      MODE: 'x',
      POD_NAME: 'web-1',
      POD_IP: '198.18.0.9',
      POD_IPS: '198.18.0.9,2001:2::9',
    });
  });

  it('resolves a named readiness probe port', () => {
    expect(
      readinessProbes([
        {
          name: 's',
          ports: [{ name: 'health', containerPort: 9090 }],
          readinessProbe: { httpGet: { port: 'health', path: '/readyz' } },
        },
      ]),
    ).toEqual([{ port: 9090, path: '/readyz' }]);
  });

  it('gives the Service variables a kubelet sets, for Services with a ClusterIP', () => {
    expect(
      serviceLinkEnv([
        {
          metadata: { name: 'sockeye-test-health' },
          spec: { clusterIP: '198.19.128.10', ports: [{ name: 'health', port: 8080 }] },
        },
        {
          metadata: { name: 'db' },
          spec: { clusterIP: '198.19.128.11', ports: [{ port: 5432 }, { name: 'admin-ui', port: 81 }] },
        },
        { metadata: { name: 'headless' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
        { metadata: { name: 'external' }, spec: { type: 'ExternalName', externalName: 'example.com' } },
      ]),
    ).toEqual({
      SOCKEYE_TEST_HEALTH_SERVICE_HOST: '198.19.128.10',
      SOCKEYE_TEST_HEALTH_SERVICE_PORT: '8080',
      SOCKEYE_TEST_HEALTH_SERVICE_PORT_HEALTH: '8080',
      DB_SERVICE_HOST: '198.19.128.11',
      DB_SERVICE_PORT: '5432',
      DB_SERVICE_PORT_ADMIN_UI: '81',
    });
  });
});

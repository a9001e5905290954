import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  eventually,
  type TestKube,
  testKube,
  uniqueNamespace,
} from '../support/kube.ts';
import { tcpConnect } from '../support/tcp.ts';

// What an in-cluster process sees: its namespace from the mounted token, the API server through
// KUBERNETES_SERVICE_HOST/PORT with the mounted CA, other pods' addresses, and its own loopback.
const inPod = `
const fs = require('node:fs');
const https = require('node:https');
const net = require('node:net');
const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
const ns = fs.readFileSync(dir + '/namespace', 'utf8');
const token = fs.readFileSync(dir + '/token', 'utf8');
const ca = fs.readFileSync(dir + '/ca.crt');
net.createServer((s) => s.end()).listen(7000, '127.0.0.1');
const peer = net.connect({ host: process.env.PEER_IP, port: 8080 });
peer.on('connect', () => { console.log('peer open'); peer.destroy(); });
peer.on('error', (e) => console.log('peer ' + e.code));
https.get({ host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT,
  path: '/api/v1/namespaces/' + ns + '/pods', ca, headers: { authorization: 'Bearer ' + token } }, (res) => {
  console.log('namespace ' + ns + ' pod ' + process.env.POD_NAME + ' api ' + res.statusCode);
  res.resume();
}).on('error', (e) => console.log('api error ' + e.message));
setInterval(() => {}, 1000);
`;

describe('containers of sockeye images run as processes in their pod', () => {
  let kube: TestKube;
  const ns = uniqueNamespace('run');

  beforeAll(async () => {
    kube = testKube();
    await createNamespace(kube, ns);
    await eventually('the default ServiceAccount', () =>
      kube.core.readNamespacedServiceAccount({ name: 'default', namespace: ns }),
    );
  });

  afterAll(async () => {
    if (kube) await deleteNamespace(kube, ns);
  });

  it('gives the process its token, the API server, the pod network and a loopback of its own', async () => {
    await applyYaml(
      kube,
      `apiVersion: v1\nkind: Pod\nmetadata: {name: peer, annotations: {sim.sockeye.dev/listen: "8080"}}\nspec: {containers: [{name: app, image: web}]}`,
      ns,
    );
    const peer = await eventually('peer running', async () => {
      const p: V1Pod = await kube.core.readNamespacedPod({ name: 'peer', namespace: ns });
      return p.status?.podIP;
    });
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'runner' },
      spec: {
        containers: [
          {
            name: 'main',
            image: 'ghcr.io/sockeye-dev/sockeye:dev',
            command: ['node', '-e', inPod],
            env: [
              { name: 'PEER_IP', value: peer },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ],
          },
        ],
      },
    };
    await kube.core.createNamespacedPod({ namespace: ns, body: pod });
    const ip = await eventually('runner running', async () => {
      const p: V1Pod = await kube.core.readNamespacedPod({ name: 'runner', namespace: ns });
      return p.status?.phase === 'Running' ? p.status.podIP : undefined;
    });
    const log = join(inject('localCluster')!.dir, 'pods', `${ns}_runner`, 'main.log');
    const output = await eventually('the process to report', async () => {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text.includes('api ') && text.includes('peer ') ? text : undefined;
    });
    // 403, not 401: the mounted token authenticated as the pod's ServiceAccount, which may do nothing.
    expect(output).toContain(`namespace ${ns} pod runner api 403`);
    expect(output).toContain('peer open');
    // Its 127.0.0.1:7000 listener is its own: from the host, its pod IP refuses that port.
    expect(await tcpConnect(ip!, 7000)).toBe('refused');
  });
});

/**
 * The pod simulator process: `node cluster/simulator/main.ts STATE_DIR`. Reads STATE_DIR/sim.json,
 * runs until SIGTERM, then removes every namespace and link it made. Touches STATE_DIR/sim.ready
 * once its Nodes exist and its pod watch has synced.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { shareConnections } from '../../src/kube/connections.ts';
import { clusterAddressPlan, parseCidr } from '../addresses.ts';
import { PodSimulator } from './simulator.ts';

interface SimConfig {
  id: string;
  cidr: string;
  nodes: number;
  kubeconfig: string;
  apiServerPort: number;
  caFile: string;
  run: { images: string[]; sockeye: string[] };
  kubeProxy: { binary: string; kubeconfig: string } | null;
}

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: main.ts STATE_DIR\n');
  process.exit(2);
}
const config = JSON.parse(readFileSync(join(dir, 'sim.json'), 'utf8')) as SimConfig;
const kubeconfig = new KubeConfig();
kubeconfig.loadFromFile(config.kubeconfig);
shareConnections(kubeconfig);
const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
const sim = new PodSimulator({
  id: config.id,
  cidr: parseCidr(config.cidr),
  nodes: config.nodes,
  kubeconfig,
  log,
  run: config.run,
  stateDir: dir,
  apiServer: { port: config.apiServerPort, caFile: config.caFile },
  plan: clusterAddressPlan(parseCidr(config.cidr)),
  ...(config.kubeProxy ? { kubeProxy: config.kubeProxy } : {}),
});

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('stopping: removing simulated network');
  await sim.stop().catch((err: Error) => log(`stop: ${err.message}`));
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));

try {
  await sim.start();
  writeFileSync(join(dir, 'sim.ready'), `${process.pid}\n`);
  log(`simulating ${config.nodes} nodes in ${config.cidr}`);
} catch (err) {
  log(`start failed: ${(err as Error).stack ?? String(err)}`);
  await shutdown(1);
}

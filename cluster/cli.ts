/**
 * `npm run cluster -- up|down|status|build`: the local Kubernetes cluster for tests and the demo.
 * State lives in $SOCKEYE_CLUSTER_DIR (default: .cluster/local in the repo); binaries in the cache.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BINARIES, binaryPath, ensureBinaries } from './binaries.ts';
import {
  DEFAULT_CIDR,
  downLocalCluster,
  readState,
  runningParts,
  TEST_RANGES,
  upLocalCluster,
} from './local.ts';
import { leftovers } from './simulator/network.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const usage = `usage: npm run cluster -- COMMAND [--dir DIR] [--cidr CIDR] [--nodes N]

Commands:
  up       build what is missing, start etcd, kube-apiserver, kube-controller-manager and the pod
           simulator; the last line printed is the export KUBECONFIG=... to use
  down     stop everything and remove the simulated network
  status   say what runs and what is left in the network
  build    only build (or find in KUBEBUILDER_ASSETS) the binaries

Flags:
  --dir DIR     state directory (default $SOCKEYE_CLUSTER_DIR or .cluster/local)
  --cidr CIDR   pod range inside 198.18.0.0/15 (default ${DEFAULT_CIDR}); a comma list takes the
                first free one; "auto" the first free test range
  --nodes N     simulated Nodes (default 3)
  --no-kube-proxy  no kube-proxy on the nodes and no load-balancer stand-in (Services get ClusterIPs,
                nothing forwards them; saves about a second of start-up)
  --endpoints-controller  also run kube-controller-manager's v1 Endpoints controller, for tools that
                read v1 Endpoints instead of EndpointSlices (popeye, k8sgpt); off by default`;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`cluster: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const dir = values.dir ?? process.env.SOCKEYE_CLUSTER_DIR ?? join(repo, '.cluster', 'local');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  switch (positionals[0]) {
    case 'build':
      await ensureBinaries(BINARIES);
      for (const b of BINARIES) process.stdout.write(`${b}: ${binaryPath(b)}\n`);
      return 0;
    case 'up': {
      const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
      if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1 || nodes > 64)) {
        process.stderr.write(`cluster: --nodes "${values.nodes}" is not a whole number from 1 to 64\n`);
        return 2;
      }
      const state = await upLocalCluster({
        dir,
        log,
        ...(values.cidr === undefined
          ? {}
          : { cidr: values.cidr === 'auto' ? TEST_RANGES : values.cidr.split(',') }),
        ...(nodes === undefined ? {} : { nodes }),
        ...(values['no-kube-proxy'] ? { dataPath: false } : {}),
        ...(values['endpoints-controller'] ? { endpointsController: true } : {}),
      });
      log(`cluster: up: API server ${state.apiServerUrl}, pods in ${state.cidr}`);
      process.stdout.write(`export KUBECONFIG=${state.kubeconfig}\n`);
      return 0;
    }
    case 'down':
      await downLocalCluster(dir, log);
      log('cluster: down');
      return 0;
    case 'status': {
      const state = await readState(dir);
      if (!state) {
        process.stdout.write(`no cluster in ${dir}\n`);
        return 1;
      }
      const parts = runningParts(state);
      for (const [part, alive] of Object.entries(parts))
        process.stdout.write(`${part}: ${alive ? 'running' : 'stopped'}\n`);
      const left = await leftovers(state.id, state.cidr);
      process.stdout.write(`network: ${left.length} objects (${state.cidr})\n`);
      process.stdout.write(`export KUBECONFIG=${state.kubeconfig}\n`);
      return Object.values(parts).every(Boolean) ? 0 : 1;
    }
    default:
      process.stderr.write(`${usage}\n`);
      return 2;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      cidr: { type: 'string' },
      nodes: { type: 'string' },
      'no-kube-proxy': { type: 'boolean' },
      'endpoints-controller': { type: 'boolean' },
    },
  });
}

process.exitCode = await main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`cluster: ${err.message}\n`);
  return 1;
});

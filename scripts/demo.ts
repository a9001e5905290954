/**
 * `npm run demo`: the local cluster, a small broken shop, `sockeye operator`, and what a user then sees
 * with kubectl: Events in `kubectl describe service` and a sockeye status column in `kubectl get
 * services`. Then payments is fixed and the operator reports `TargetsRecovered`. Everything it started
 * is torn down on exit, on error and on Ctrl-C.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binaryPath, ensureBinaries } from '../cluster/binaries.ts';
import { killGroup, run, startDetached } from '../cluster/exec.ts';
import { downLocalCluster, upLocalCluster } from '../cluster/local.ts';
import { withCleanup } from '../cluster/with-cleanup.ts';
import { brokenShop } from './shop.ts';

const NS = 'shop';
const SHOP = brokenShop(NS, { loadBalancer: true });
const sockeye = fileURLToPath(new URL('../bin/sockeye.js', import.meta.url));

const BROKEN = ['payments', 'orders', 'cache', 'inventory', 'db'];
const COLUMNS =
  'NAME:.metadata.name,STATUS:.metadata.annotations.sockeye\\.dev/status,SUMMARY:.metadata.annotations.sockeye\\.dev/summary';

const say = (line = '') => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`demo: ${line}\n`);

const USAGE = `usage: npm run demo

Starts a local Kubernetes control plane with simulated pods (root, Linux), applies a small shop with
five broken Services and a broken LoadBalancer, runs sockeye operator against it and shows what a user sees with kubectl:
Events, sockeye.dev annotations, and TargetsRecovered after payments is fixed. Everything it started
is removed when it ends, fails or is interrupted.
`;

async function main(args: readonly string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    say(USAGE.trimEnd());
    return;
  }
  if (args.length > 0)
    throw new Error(`unknown argument ${args[0]} (npm run demo takes none; --help says more)`);
  const dir = await mkdtemp(join(tmpdir(), 'sockeye-demo-'));
  let operatorPid: number | undefined;
  // A failed `up` has already removed what it started (and said so): the cleanup then only
  // removes the directory, so nothing is said or torn down twice.
  let upFailed = false;
  const cleanup = async () => {
    if (operatorPid !== undefined) await killGroup(operatorPid, 25_000).catch(() => undefined);
    if (!upFailed) {
      note('tearing down');
      await downLocalCluster(dir, note).catch((err: unknown) =>
        note(`could not remove everything: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
    await rm(dir, { recursive: true, force: true });
  };
  await withCleanup(cleanup, async () => {
    try {
      await ensureBinaries(
        ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kubectl'],
        note,
      );
      const cidr = ['198.18.0.0/17', '198.18.128.0/18', '198.18.192.0/18'];
      const cluster = await upLocalCluster({ dir, cidr, log: note }).catch((err: unknown) => {
        upFailed = true;
        throw err;
      });
      const kubectl = async (...args: string[]) =>
        (await run(binaryPath('kubectl'), ['--kubeconfig', cluster.kubeconfig, ...args])).stdout;
      const show = async (...args: string[]) => {
        say(`$ kubectl ${args.join(' ')}`);
        say((await kubectl(...args)).trimEnd());
        say();
      };

      note(
        'applying the shop: frontend, payments, orders, cache, inventory, db, storefront (a LoadBalancer)',
      );
      await run(binaryPath('kubectl'), ['--kubeconfig', cluster.kubeconfig, 'apply', '-f', '-'], SHOP);

      note(`starting sockeye operator (log: ${join(dir, 'operator.log')})`);
      operatorPid = await startDetached(
        process.execPath,
        [
          sockeye,
          'operator',
          `--namespace=${NS}`,
          '--interval=5s',
          '--timeout=1s',
          '--no-leader-elect',
          '--http-host=127.0.0.1',
          // Plain HTTP, metrics on the health port, on loopback: a local demo.
          '--no-metrics-secure',
          '--http-port=0',
          '--pod-name=sockeye-demo',
          '--pod-namespace=sockeye-system',
          // The host reaches ClusterIPs through node 0's kube-proxy: that is the node sockeye "runs on".
          '--node-name=sim-node-0',
        ],
        join(dir, 'operator.log'),
        { ...process.env, KUBECONFIG: cluster.kubeconfig },
      );

      note('waiting for sockeye to judge every Service');
      await until(async () => {
        const list = JSON.parse(await kubectl('get', 'services', '-n', NS, '-o', 'json')) as {
          items: { metadata: { name: string; annotations?: Record<string, string> } }[];
        };
        const judged = list.items.filter((s) => s.metadata.annotations?.['sockeye.dev/status'] !== undefined);
        const unhealthy = judged.filter((s) => s.metadata.annotations?.['sockeye.dev/status'] !== 'Healthy');
        return judged.length === list.items.length && unhealthy.length >= BROKEN.length;
      });
      await until(
        async () =>
          (await kubectl('get', 'events', '-n', NS, '-o', 'name')).split('\n').length > BROKEN.length,
      );

      await show('get', 'services', '-n', NS, '-o', `custom-columns=${COLUMNS}`);
      for (const name of BROKEN) await showEvents(kubectl, name);
      // The path users connect through: storefront's pod answers, its load balancer does not.
      await until(() => hasEvent(kubectl, 'LoadBalancerFailing', 'storefront'));
      await showEvents(kubectl, 'storefront');
      await show(
        'get',
        'events',
        '-n',
        NS,
        '--field-selector',
        'type=Warning,involvedObject.kind=Pod',
        '-o',
        'custom-columns=POD:.involvedObject.name,REASON:.reason,MESSAGE:.message',
      );

      note('fixing payments: its pods now listen on 8080 (a rollout)');
      await show(
        'patch',
        'deployment',
        'payments',
        '-n',
        NS,
        '-p',
        '{"spec":{"template":{"metadata":{"annotations":{"sim.sockeye.dev/listen":"8080"}}}}}',
      );
      await until(() => hasEvent(kubectl, 'TargetsRecovered', 'payments'));
      await showEvents(kubectl, 'payments');
      await show('get', 'services', '-n', NS, '-o', `custom-columns=${COLUMNS}`);
    } catch (err) {
      // The log goes away with the cluster's directory: show its end first.
      const log = await readFile(join(dir, 'operator.log'), 'utf8').catch(() => '');
      if (log !== '') note(`operator log (last lines):\n${log.trimEnd().split('\n').slice(-30).join('\n')}`);
      throw err;
    }
  });
}

/** Whether the Service `name` has an Event with `reason`. */
async function hasEvent(
  kubectl: (...args: string[]) => Promise<string>,
  reason: string,
  name: string,
): Promise<boolean> {
  const selector = `reason=${reason},involvedObject.kind=Service,involvedObject.name=${name}`;
  return (await kubectl('get', 'events', '-n', NS, '--field-selector', selector, '-o', 'name')).trim() !== '';
}

/** `kubectl describe service NAME`: its name, sockeye's annotations and the Events. */
async function showEvents(kubectl: (...args: string[]) => Promise<string>, name: string): Promise<void> {
  const lines = (await kubectl('describe', 'service', name, '-n', NS)).trimEnd().split('\n');
  const events = lines.findIndex((l) => l.startsWith('Events:'));
  const head = lines.slice(0, events < 0 ? lines.length : events);
  const shown = [
    ...head.filter((l) => l.startsWith('Name:') || /sockeye\.dev\//.test(l)),
    ...(events < 0 ? [] : lines.slice(events)),
  ];
  say(`$ kubectl describe service ${name} -n ${NS}   # name, sockeye.dev annotations, Events`);
  say(shown.join('\n'));
  say();
}

async function until(check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out waiting for sockeye; see the operator log');
    await new Promise((r) => setTimeout(r, 500));
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';

const exec = promisify(execFile);

async function run(command: string, ...args: string[]): Promise<string> {
  return (await exec(command, args)).stdout;
}

/**
 * A network namespace behind a veth pair that answers for one /24 of 198.19.192.0/18 (inside the
 * benchmark range 198.18.0.0/15, in the part local clusters never use: see cluster/local.ts TEST_RANGES
 * and cluster/addresses.ts clusterAddressPlan).
 * SYNs to the upper half are dropped by nft (timeout), the lower
 * half has an `unreachable` route, so the namespace answers with ICMP host unreachable.
 */
export interface DropNamespace {
  readonly name: string;
  /** An address whose SYNs vanish. */
  timeoutAddress(host: number): string;
  /** An address with no host behind it. */
  unreachableAddress(host: number): string;
  /** The /24 routed into the namespace. */
  readonly subnet: string;
  remove(): Promise<void>;
}

export async function createDropNamespace(prefix = 'sockeye-test'): Promise<DropNamespace> {
  const id = randomBytes(3).toString('hex');
  const name = `${prefix}-${id}`;
  const hostIf = `skh${id}`;
  const nsIf = `skn${id}`;
  // The link's /30 lies in 198.19.184.0/21, outside the Service ranges and load-balancer pools local
  // clusters derive from their pod ranges (198.19.128.0-198.19.181.255): one not routed yet.
  let link = '';
  for (let attempt = 0; attempt < 8 && !link; attempt++) {
    const candidate = `198.19.${randomInt(184, 192)}.${randomInt(0, 64) * 4}`;
    if ((await run('ip', 'route', 'show', 'root', `${candidate}/30`)).trim() === '') link = candidate;
  }
  if (!link) throw new Error('no free link /30 in 198.19.184.0/21');
  const [a, b, c, d] = link.split('.').map(Number) as [number, number, number, number];
  const hostLink = `${a}.${b}.${c}.${d + 1}`;
  const nsLink = `${a}.${b}.${c}.${d + 2}`;
  const remove = async () => {
    await exec('ip', ['netns', 'del', name]).catch(() => undefined);
    await exec('ip', ['link', 'del', hostIf]).catch(() => undefined);
  };
  try {
    await run('ip', 'netns', 'add', name);
    await run('ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', name);
    await run('ip', 'addr', 'add', `${hostLink}/30`, 'dev', hostIf);
    await run('ip', 'link', 'set', hostIf, 'up');
    const inNs = (...args: string[]) => run('ip', 'netns', 'exec', name, ...args);
    await inNs('ip', 'link', 'set', 'lo', 'up');
    await inNs('ip', 'addr', 'add', `${nsLink}/30`, 'dev', nsIf);
    await inNs('ip', 'link', 'set', nsIf, 'up');
    // Forwarding on, so the `unreachable` route answers with ICMP instead of a silent drop.
    await inNs('sysctl', '-qw', 'net.ipv4.ip_forward=1');
    // Another test or bench may hold a /24 already: try a few.
    for (let attempt = 0; ; attempt++) {
      const third = randomInt(192, 256);
      const subnet = `198.19.${third}.0/24`;
      try {
        await run('ip', 'route', 'add', subnet, 'via', nsLink, 'dev', hostIf);
      } catch (err) {
        if (attempt < 8) continue;
        throw err;
      }
      await inNs('ip', 'route', 'add', 'unreachable', `198.19.${third}.0/25`);
      const table = `${prefix.replaceAll('-', '_')}_${id}`;
      await inNs(
        'nft',
        `add table ip ${table}; add chain ip ${table} prerouting { type filter hook prerouting priority -300; }; add rule ip ${table} prerouting ip daddr 198.19.${third}.128/25 drop`,
      );
      return {
        name,
        subnet,
        timeoutAddress: (host) => `198.19.${third}.${128 + (host % 127)}`,
        unreachableAddress: (host) => `198.19.${third}.${1 + (host % 127)}`,
        remove,
      };
    }
  } catch (err) {
    await remove();
    throw err;
  }
}

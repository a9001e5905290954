/** IPv4 arithmetic for the simulator's pod ranges (inside 198.18.0.0/15, the benchmarking range). */

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: "${ip}"`);
  }
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  readonly base: number;
  readonly bits: number;
  readonly size: number;
  readonly text: string;
}

export function parseCidr(text: string): Cidr {
  const [ip, bitsText] = text.split('/');
  const bits = Number(bitsText);
  if (!ip || !Number.isInteger(bits) || bits < 8 || bits > 30) throw new Error(`not an IPv4 CIDR: "${text}"`);
  const size = 2 ** (32 - bits);
  const base = ipToInt(ip) - (ipToInt(ip) % size);
  return { base, bits, size, text: `${intToIp(base)}/${bits}` };
}

export function contains(cidr: Cidr, ip: string): boolean {
  const n = ipToInt(ip);
  return n >= cidr.base && n < cidr.base + cidr.size;
}

/** Splits the cluster range into `count` equal node ranges (a power of two at least `count`). */
export function splitCidr(cidr: Cidr, count: number): Cidr[] {
  let extra = 0;
  while (2 ** extra < count) extra++;
  const bits = cidr.bits + extra;
  if (bits > 30) throw new Error(`${cidr.text} is too small for ${count} nodes`);
  const size = 2 ** (32 - bits);
  return Array.from({ length: count }, (_, i) => {
    const base = cidr.base + i * size;
    return { base, bits, size, text: `${intToIp(base)}/${bits}` };
  });
}

/**
 * Address plan of one simulated node's range: the first address is the host end of the node's
 * link, the last usable one the node end (its gateway), everything between is for pods.
 */
export function nodeAddresses(range: Cidr): {
  hostEnd: string;
  nodeEnd: string;
  firstPod: number;
  lastPod: number;
} {
  return {
    hostEnd: intToIp(range.base + 1),
    nodeEnd: intToIp(range.base + range.size - 2),
    firstPod: range.base + 2,
    lastPod: range.base + range.size - 3,
  };
}

/** Hands out pod addresses of one node range; freed addresses are reused last, so a new pod rarely gets an old pod's IP. */
export class AddressPool {
  readonly #free: number[] = [];
  #next: number;
  readonly #first: number;
  readonly #last: number;
  readonly #used = new Set<number>();

  constructor(range: Cidr) {
    const plan = nodeAddresses(range);
    this.#first = plan.firstPod;
    this.#next = plan.firstPod;
    this.#last = plan.lastPod;
  }

  /** Takes `preferred` when it is free and in range (a restarted simulator keeps pods' IPs). */
  allocate(preferred?: string): string {
    if (preferred !== undefined) {
      const n = ipToInt(preferred);
      if (n >= this.#first && n <= this.#last && !this.#used.has(n)) {
        this.#used.add(n);
        const i = this.#free.indexOf(n);
        if (i >= 0) this.#free.splice(i, 1);
        return preferred;
      }
    }
    while (this.#next <= this.#last) {
      const n = this.#next++;
      if (!this.#used.has(n)) {
        this.#used.add(n);
        return intToIp(n);
      }
    }
    const reused = this.#free.shift();
    if (reused === undefined) throw new Error('node address range exhausted');
    this.#used.add(reused);
    return intToIp(reused);
  }

  release(ip: string): void {
    const n = ipToInt(ip);
    if (this.#used.delete(n)) this.#free.push(n);
  }
}

/**
 * The IPv6 twin of a simulated IPv4 address, inside 2001:2::/48 (the IPv6 benchmarking range):
 * 198.B.C.D becomes 2001:2:0:X::D with X = (B-18)*256 + C. Twins of a v4 range /N (N <= 24) form
 * one v6 range /(40+N), so a node's v4 route has one v6 twin route.
 */
export function ipv6Twin(ipv4: string): string {
  const n = ipToInt(ipv4);
  const b = (n >>> 16) & 255;
  if (n >>> 24 !== 198 || (b !== 18 && b !== 19)) throw new Error(`${ipv4} is not in 198.18.0.0/15`);
  const x = (b - 18) * 256 + ((n >>> 8) & 255);
  return canonicalIPv6(`2001:2:0:${x.toString(16)}::${(n & 255).toString(16)}`);
}

export function ipv6TwinCidr(cidr: Cidr): string {
  if (cidr.bits > 24) throw new Error(`${cidr.text}: only ranges of /24 or wider have an IPv6 twin`);
  return `${ipv6Twin(intToIp(cidr.base))}/${40 + cidr.bits}`;
}

/** RFC 5952 text (what the API server and `ip` print), via the WHATWG URL parser. */
function canonicalIPv6(ip: string): string {
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** 198.18.0.0/15, the benchmarking range (RFC 2544): every address a local cluster uses lies in it. */
export const BENCHMARK_RANGE = parseCidr('198.18.0.0/15');
/** Pod ranges lie in the first three quarters of it; the last quarter holds what is derived from them. */
const POD_AREA = { base: BENCHMARK_RANGE.base, size: (BENCHMARK_RANGE.size / 4) * 3 };
/** Service ranges: a pod range scaled down 8 times, into 198.19.128.0-198.19.175.255. */
const SERVICE_AREA_BASE = ipToInt('198.19.128.0');
/** Load-balancer pools: a pod range scaled down 64 times, into 198.19.176.0-198.19.181.255. */
const LB_AREA_BASE = ipToInt('198.19.176.0');

export interface ClusterAddressPlan {
  /** kube-apiserver's --service-cluster-ip-range, IPv4 and IPv6. */
  readonly services: Cidr;
  readonly services6: string;
  /** Load-balancer stand-in: its link (host end, namespace end) and the ingress addresses it hands out. */
  readonly lb: {
    readonly pool: Cidr;
    readonly hostEnd: string;
    readonly lbEnd: string;
    readonly first: number;
    readonly last: number;
  };
}

/**
 * The Service range and load-balancer pool of the cluster whose pods take `pods`. Both are the pod
 * range scaled down (8 and 64 times) into the last quarter of 198.18.0.0/15, which no pod range may
 * use: disjoint pod ranges give disjoint Service ranges and pools, so the pod range's reservation
 * (local.ts) covers them too. A /18 of pods gets a /21 of Services (2,045 ClusterIPs) and a /24 pool.
 */
export function clusterAddressPlan(pods: Cidr): ClusterAddressPlan {
  const offset = pods.base - POD_AREA.base;
  if (offset < 0 || offset + pods.size > POD_AREA.size) {
    throw new Error(
      `pod range ${pods.text} must lie in 198.18.0.0-198.19.127.255: the rest of 198.18.0.0/15 holds Service and load-balancer addresses`,
    );
  }
  // Narrower, two clusters' Service ranges would share a /24, and so the /64 of its IPv6 twin.
  if (pods.bits > 21) throw new Error(`pod range ${pods.text} is too small: use a /21 or wider`);
  const scaled = (areaBase: number, shift: number): Cidr => {
    const base = areaBase + offset / 2 ** shift;
    return {
      base,
      bits: pods.bits + shift,
      size: pods.size / 2 ** shift,
      text: `${intToIp(base)}/${pods.bits + shift}`,
    };
  };
  const services = scaled(SERVICE_AREA_BASE, 3);
  const pool = scaled(LB_AREA_BASE, 6);
  return {
    services,
    // The IPv6 twin's /64 of the range's first /24 is the cluster's alone (see ipv6Twin): a /112 of it.
    services6: `${ipv6Twin(intToIp(services.base))}/112`,
    lb: {
      pool,
      hostEnd: intToIp(pool.base + 1),
      lbEnd: intToIp(pool.base + 2),
      first: pool.base + 3,
      last: pool.base + pool.size - 2,
    },
  };
}

/** How many Services a cluster on pod range `cidr` can give a ClusterIP (the `kubernetes` one aside). */
export function clusterIPsFit(cidr: string): number {
  // The allocator skips the network and broadcast addresses; `kubernetes` takes the first.
  return clusterAddressPlan(parseCidr(cidr)).services.size - 3;
}

/**
 * IP address parsing for the target policy and NetworkPolicy ipBlocks, written here so that rules/ needs
 * no node:net. Addresses are compared as byte arrays (4 for IPv4, 16 for IPv6).
 */

export type Family = 'IPv4' | 'IPv6';

export interface ParsedIP {
  readonly family: Family;
  readonly bytes: readonly number[];
}

export function parseIP(s: string): ParsedIP | undefined {
  const v4 = parseIPv4(s);
  if (v4) return { family: 'IPv4', bytes: v4 };
  const v6 = parseIPv6(s);
  return v6 ? { family: 'IPv6', bytes: v6 } : undefined;
}

function parseIPv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

function parseIPv6(s: string): number[] | undefined {
  const zoneless = s.split('%')[0] ?? '';
  if (!/^[0-9a-fA-F:.]+$/.test(zoneless)) return undefined;
  const halves = zoneless.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string | undefined): number[] | undefined => {
    if (h === undefined || h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (!v4) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(Number.parseInt(p, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (!head || !tail) return undefined;
  let words: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    words = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    words = head;
  }
  if (words.length !== 8) return undefined;
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

const ADDRESS_MEMO_SIZE = 100_000;

/**
 * `judge` memoised by address: a cluster's pod IPs are few and asked about for every target of every
 * reconcile. Cleared when full.
 */
function byAddress<T>(judge: (ip: string) => T): (ip: string) => T {
  const memo = new Map<string, T>();
  return (ip) => {
    if (memo.has(ip)) return memo.get(ip) as T;
    const answer = judge(ip);
    if (memo.size >= ADDRESS_MEMO_SIZE) memo.clear();
    memo.set(ip, answer);
    return answer;
  };
}

export const familyOf: (ip: string) => Family | undefined = byAddress((ip) => parseIP(ip)?.family);

/** Whether `ip` lies in `cidr` (`10.0.0.0/8`, `fd00::/8`); false across families or on malformed input. */
export function cidrContains(cidr: string, ip: string): boolean {
  return cidrMatcher(cidr)(ip);
}

/** `cidrContains(cidr, ·)` with the CIDR parsed once, for testing many addresses against it. */
export function cidrMatcher(cidr: string): (ip: string) => boolean {
  const [base, bits] = cidr.split('/');
  const net = parseIP(base ?? '');
  if (!net) return () => false;
  const prefix = bits === undefined ? net.bytes.length * 8 : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > net.bytes.length * 8) return () => false;
  return (ip) => {
    const addr = parseIP(ip);
    return addr !== undefined && net.family === addr.family && prefixEqual(net.bytes, addr.bytes, prefix);
  };
}

function prefixEqual(a: readonly number[], b: readonly number[], prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit += 8) {
    const take = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((a[bit / 8] ?? 0) & mask) !== ((b[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

/** Addresses sockeye never connects to, whatever an EndpointSlice says (docs/design.md "Safety"). */
const FORBIDDEN: readonly { readonly cidr: string; readonly why: string }[] = [
  { cidr: '0.0.0.0/8', why: 'unspecified' },
  { cidr: '127.0.0.0/8', why: 'loopback' },
  { cidr: '169.254.0.0/16', why: 'link-local (cloud metadata lives here)' },
  { cidr: '100.100.100.200/32', why: 'cloud metadata' },
  { cidr: '168.63.129.16/32', why: 'cloud platform (Azure wire server)' },
  { cidr: '192.0.0.192/32', why: 'cloud metadata' },
  { cidr: '224.0.0.0/4', why: 'multicast' },
  { cidr: '240.0.0.0/4', why: 'reserved or broadcast' },
  { cidr: '::/128', why: 'unspecified' },
  { cidr: '::1/128', why: 'loopback' },
  { cidr: 'fe80::/10', why: 'link-local' },
  { cidr: 'ff00::/8', why: 'multicast' },
  { cidr: 'fd00:ec2::254/128', why: 'cloud metadata' },
  { cidr: 'fd20:ce::254/128', why: 'cloud metadata' },
];

/** FORBIDDEN, parsed once: the check runs for every target of every reconcile. */
const FORBIDDEN_NETS = FORBIDDEN.map((f) => {
  const [base = '', bits = ''] = f.cidr.split('/');
  const net = parseIP(base);
  if (!net) throw new Error(`bad built-in CIDR ${f.cidr}`);
  return { ...net, prefix: Number(bits), why: f.why };
});

/** Why sockeye must not connect to `ip`, or undefined when it may. IPv4-mapped IPv6 is judged as IPv4. */
export const forbiddenAddress: (ip: string) => string | undefined = byAddress(judgeAddress);

function judgeAddress(ip: string): string | undefined {
  const parsed = parseIP(ip);
  if (!parsed) return 'not an IP address';
  let { family, bytes } = parsed;
  if (
    family === 'IPv6' &&
    bytes.slice(0, 10).every((x) => x === 0) &&
    bytes[10] === 0xff &&
    bytes[11] === 0xff
  ) {
    family = 'IPv4';
    bytes = bytes.slice(12);
  }
  return FORBIDDEN_NETS.find((f) => f.family === family && prefixEqual(f.bytes, bytes, f.prefix))?.why;
}

/**
 * What listens where inside the pod, from `/proc/net/tcp` and `/proc/net/tcp6` (the files of the
 * network namespace the reading process lives in). Pure: the caller reads the text.
 *
 * Format (net/ipv4/tcp_ipv4.c `get_tcp4_sock`, net/ipv6/tcp_ipv6.c `get_tcp6_sock`): one header line,
 * then `sl: LOCAL REMOTE ST ...`; LOCAL is `ADDR:PORT` in hex. The port is big-endian as printed; the
 * address is the raw `__be32` words printed with `%08X` in the host's byte order, so on a little-endian
 * machine 127.0.0.1 reads `0100007F` and ::1 reads `00000000000000000000000001000000`.
 */

export type Family = 4 | 6;

export interface Listener {
  readonly family: Family;
  /** Canonical text: `127.0.0.1`, `0.0.0.0`, `::1`, `::`, `::ffff:10.0.0.1`. */
  readonly address: string;
  readonly port: number;
}

/** `0A` in the `st` column: TCP_LISTEN. */
const TCP_LISTEN = '0A';

/**
 * The listening sockets of one file's text. Lines that do not parse are skipped (the kernel appends
 * columns over the years; only the first three matter). `endianness` is the host's (`os.endianness()`).
 */
export function parseProcNetTcp(text: string, family: Family, endianness: 'LE' | 'BE' = 'LE'): Listener[] {
  const listeners: Listener[] = [];
  for (const line of text.split('\n')) {
    const listener = parseProcNetLine(line, family, endianness);
    if (listener) listeners.push(listener);
  }
  return listeners;
}

/**
 * One line of `/proc/net/tcp{,6}`: the listener it shows, or `undefined` for the header, a socket
 * that is not listening, or a line that does not parse. A line at a time, so that a pod with a
 * hundred thousand connections is read in constant memory (see readProcNetListeners).
 */
export function parseProcNetLine(
  line: string,
  family: Family,
  endianness: 'LE' | 'BE' = 'LE',
): Listener | undefined {
  const fields = line.trim().split(/\s+/, 4);
  // [sl:, local, remote, st, ...]
  const local = fields[1];
  if (fields.length < 4 || !fields[0]?.endsWith(':') || local === undefined) return undefined;
  if (fields[3]?.toUpperCase() !== TCP_LISTEN) return undefined;
  const colon = local.indexOf(':');
  const hexAddress = local.slice(0, colon);
  const hexPort = local.slice(colon + 1);
  if (colon < 0 || hexAddress.length !== (family === 4 ? 8 : 32) || !/^[0-9A-Fa-f]+$/.test(hexAddress))
    return undefined;
  if (!/^[0-9A-Fa-f]{4}$/.test(hexPort)) return undefined;
  const bytes = wordBytes(hexAddress, endianness);
  return {
    family,
    address: family === 4 ? bytes.join('.') : formatIPv6(bytes),
    port: Number.parseInt(hexPort, 16),
  };
}

/** The address bytes in network order from the printed 32-bit words. */
function wordBytes(hex: string, endianness: 'LE' | 'BE'): number[] {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(w + i, w + i + 2), 16));
    bytes.push(...(endianness === 'LE' ? word.reverse() : word));
  }
  return bytes;
}

/** RFC 5952 text: lower case, longest zero run (of two or more groups) as `::`, mapped IPv4 dotted. */
export function formatIPv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.slice(12, 16).join('.')}`;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Loopback: 127.0.0.0/8, ::1, and IPv4-mapped loopback. */
export function isLoopbackAddress(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/** The unspecified address of either family (a socket bound to every address). */
export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** Listeners of both files, one entry per (family, address, port): SO_REUSEPORT groups show once. */
export function mergeListeners(...lists: readonly (readonly Listener[])[]): Listener[] {
  const seen = new Map<string, Listener>();
  for (const l of lists.flat()) seen.set(`${l.family}|${l.address}|${l.port}`, l);
  return [...seen.values()].sort(
    (a, b) => a.port - b.port || a.family - b.family || cmp(a.address, b.address),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

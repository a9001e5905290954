/**
 * Which shard owns an object (docs/design.md "Sharding"). Like kube-state-metrics, each of N shards
 * owns the objects whose key hashes to its index modulo N; the key is `namespace/name`, so a Service
 * keeps its shard across restarts, upgrades and re-creation, and every replica of every shard computes
 * the same answer without talking to the others.
 *
 * The hash is 32-bit FNV-1a over the key's UTF-8 bytes: fixed here (not Node's or V8's), so two
 * versions of sockeye running side by side during an upgrade agree on every owner.
 */

/** Which part of the Services a replica serves: shard `index` of `count` (0 <= index < count). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** The one shard of an unsharded operator: it owns everything. */
export const WHOLE: Shard = { index: 0, count: 1 };

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/** 32-bit FNV-1a of the UTF-8 bytes of `key`, as an unsigned integer. */
export function fnv1a(key: string): number {
  let hash = FNV_OFFSET;
  for (const byte of encoder.encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** The shard (0 <= shard < count) that owns `namespace/name`. */
export function shardOf(namespace: string, name: string, count: number): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count ${count}: want 1 or more`);
  return count === 1 ? 0 : fnv1a(`${namespace}/${name}`) % count;
}

/** Whether `shard` owns `namespace/name`. */
export function owns(shard: Shard, namespace: string, name: string): boolean {
  return shard.count === 1 || shardOf(namespace, name, shard.count) === shard.index;
}

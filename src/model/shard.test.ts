import { describe, expect, it } from 'vitest';
import { fnv1a, owns, type Shard, shardOf, WHOLE } from './shard.ts';

/** A small deterministic generator (xorshift32), so a failing case can be replayed from its seed. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-';

/** A random DNS-label-like name of 1 to 20 characters. */
function name(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 20);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
  return s;
}

describe('fnv1a', () => {
  it.each([
    // The published FNV-1a 32-bit test vectors.
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('hashes %j to its published value', (key, hash) => {
    expect(fnv1a(key)).toBe(hash);
  });
});

describe('shardOf', () => {
  it('puts everything in shard 0 of 1', () => {
    expect(shardOf('shop', 'web', 1)).toBe(0);
    expect(owns(WHOLE, 'any', 'thing')).toBe(true);
  });

  it('refuses a count below 1 or not whole', () => {
    expect(() => shardOf('a', 'b', 0)).toThrow(/shard count 0/);
    expect(() => shardOf('a', 'b', 1.5)).toThrow(/shard count 1.5/);
  });

  it('tells namespace/name apart from a name with the namespace in it', () => {
    // Fixed examples, so a change of hash (which would move every Service) fails here.
    expect([shardOf('shop', 'web', 3), shardOf('shop', 'cart', 3), shardOf('bank', 'web', 3)]).toEqual([
      fnv1a('shop/web') % 3,
      fnv1a('shop/cart') % 3,
      fnv1a('bank/web') % 3,
    ]);
  });

  // The property the sharded operator stands on (seeded, so a failure names its seed).
  it('for any set of Services and any N: every Service belongs to exactly one shard, and always the same', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = seeded(seed);
      const count = 1 + Math.floor(rnd() * 16);
      const services = Array.from({ length: Math.floor(rnd() * 300) }, () => ({
        namespace: name(rnd),
        name: name(rnd),
      }));
      const shards: Shard[] = Array.from({ length: count }, (_, index) => ({ index, count }));
      for (const s of services) {
        const owners = shards.filter((shard) => owns(shard, s.namespace, s.name));
        expect(
          owners.map((o) => o.index),
          `seed ${seed}: ${s.namespace}/${s.name} of ${count}`,
        ).toEqual([shardOf(s.namespace, s.name, count)]);
        // Stable: the answer does not depend on the other Services or on when it is asked.
        expect(shardOf(`${s.namespace}`, `${s.name}`, count)).toBe(owners[0]?.index);
      }
    }
  });

  it('spreads Services over the shards about evenly', () => {
    const rnd = seeded(7);
    for (const count of [2, 3, 4, 8]) {
      const per = new Array<number>(count).fill(0);
      const n = 4000;
      for (let i = 0; i < n; i++) {
        const shard = shardOf(name(rnd), name(rnd), count);
        per[shard] = (per[shard] ?? 0) + 1;
      }
      for (const k of per) expect(Math.abs(k - n / count)).toBeLessThan((n / count) * 0.15);
    }
  });
});

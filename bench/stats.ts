// Figures the benches compute from their samples. Pure: no I/O, no clock (see bench/stats.test.ts).

/** Bytes in a mebibyte: the benches report memory in MiB (the operator's table says "MB" for it). */
export const MIB = 2 ** 20;

/** `value` rounded to `digits` decimals (0.05 steps round up, as Math.round does). */
export function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function ascending(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** The middle value, or the mean of the two middle ones for an even count; NaN for no values. */
export function median(values: readonly number[]): number {
  const s = ascending(values);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The nearest-rank percentile: the smallest value that at least `p` percent of the values are at or
 * below (so p99 of 20 samples is the largest). Always one of the values, never interpolated; NaN for
 * no values.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is not within 0..100`);
  const s = ascending(values);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

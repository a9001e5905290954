import type { ProbeResult, ProbeTarget } from './outcome.ts';

/** What a result says besides its target and latency: its outcome, errno, cause or check. */
export type ResultShape = ProbeResult extends infer R
  ? R extends ProbeResult
    ? Omit<R, 'target' | 'latencyMs'>
    : never
  : never;

/**
 * A worker's results of one event-loop turn as they cross to the thread that merges them: three
 * numbers per result (its index in the run, its latency, its shape's number) and the shapes not sent
 * before. Most results of a run share a handful of shapes (`open`; `refused` with ECONNREFUSED), so a
 * result crosses as numbers, not as an object whose keys and strings the other thread would build again.
 */
export interface WireBatch {
  readonly results: readonly number[];
  readonly shapes: readonly ResultShape[];
}

/** A result that is only an outcome and maybe an errno: its shape is shared, keyed by both. */
function sharedKey(shape: ResultShape): string | undefined {
  if ('cause' in shape || 'app' in shape) return undefined;
  return `${shape.outcome}/${'errno' in shape ? (shape.errno ?? '') : ''}`;
}

/** Packs a worker's results; each shape is sent once, before the first result that has it. */
export class ResultEncoder {
  readonly #known = new Map<string, number>();
  #shapes = 0;
  #results: number[] = [];
  #fresh: ResultShape[] = [];

  add(index: number, result: ProbeResult): void {
    const { target: _, latencyMs, ...shape } = result;
    const key = sharedKey(shape);
    let id = key === undefined ? undefined : this.#known.get(key);
    if (id === undefined) {
      id = this.#shapes++;
      this.#fresh.push(shape);
      if (key !== undefined) this.#known.set(key, id);
    }
    this.#results.push(index, latencyMs, id);
  }

  get size(): number {
    return this.#results.length / 3;
  }

  /** The results added since the last take, with the shapes they introduced. */
  take(): WireBatch {
    const batch = { results: this.#results, shapes: this.#fresh };
    this.#results = [];
    this.#fresh = [];
    return batch;
  }
}

/** Unpacks one worker's batches, in the order they were sent, into results about the caller's targets. */
export class ResultDecoder {
  readonly #shapes: ResultShape[] = [];

  read<T extends ProbeTarget>(
    batch: WireBatch,
    targetAt: (index: number) => T,
    deliver: (index: number, result: ProbeResult<T>) => void,
  ): void {
    for (const shape of batch.shapes) this.#shapes.push(shape);
    const r = batch.results;
    for (let k = 0; k < r.length; k += 3) {
      const index = r[k] as number;
      deliver(
        index,
        resultOf(targetAt(index), r[k + 1] as number, this.#shapes[r[k + 2] as number] as ResultShape),
      );
    }
  }
}

/** The result with its target, keys in the order the engine gives them. */
function resultOf<T extends ProbeTarget>(target: T, latencyMs: number, shape: ResultShape): ProbeResult<T> {
  // Object literals of one layout for the common shapes (a spread builds each key anew).
  if (!('cause' in shape) && !('app' in shape)) {
    const result =
      'errno' in shape && shape.errno !== undefined
        ? { target, latencyMs, outcome: shape.outcome, errno: shape.errno }
        : { target, latencyMs, outcome: shape.outcome };
    return result as ProbeResult<T>;
  }
  return { target, latencyMs, ...shape } as ProbeResult<T>;
}

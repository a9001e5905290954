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

/** Packs a worker's results; each shape is sent once, before the first result that has it. */
export class ResultEncoder {
  /** Shapes that are only an outcome and maybe an errno, by outcome, then errno ('' for none). */
  readonly #known = new Map<string, Map<string, number>>();
  #shapes = 0;
  #results: number[] = [];
  #fresh: ResultShape[] = [];

  add(index: number, result: ProbeResult): void {
    this.#results.push(index, result.latencyMs, this.#shapeOf(result));
  }

  #shapeOf(result: ProbeResult): number {
    if ('cause' in result || 'app' in result) {
      // Its own text or check: a shape of its own (rare: the prober's errors, application checks).
      const { target: _, latencyMs: __, ...shape } = result;
      return this.#introduce(shape);
    }
    const errno = 'errno' in result ? result.errno : undefined;
    let byErrno = this.#known.get(result.outcome);
    if (!byErrno) {
      byErrno = new Map();
      this.#known.set(result.outcome, byErrno);
    }
    let id = byErrno.get(errno ?? '');
    if (id === undefined) {
      id = this.#introduce(
        (errno === undefined
          ? { outcome: result.outcome }
          : { outcome: result.outcome, errno }) as ResultShape,
      );
      byErrno.set(errno ?? '', id);
    }
    return id;
  }

  #introduce(shape: ResultShape): number {
    this.#fresh.push(shape);
    return this.#shapes++;
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

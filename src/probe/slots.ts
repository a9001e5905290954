import { Fifo } from './fifo.ts';

/** A probe that waits for a slot. */
export interface SlotRequest {
  /** Whose probe this is, for fairness; undefined: a probe of no namespace (see ProbeSlots). */
  readonly namespace: string | undefined;
  /** Called once, when the request gets a slot; it holds the slot until it is released. */
  start(): void;
}

/** The requests of one namespace: those waiting, and how many hold a slot. */
class Lane {
  readonly key: string | undefined;
  readonly cap: number;
  readonly waiting = new Fifo<SlotRequest>();
  inFlight = 0;

  constructor(key: string | undefined, cap: number) {
    this.key = key;
    this.cap = cap;
  }
}

/**
 * The one bound on probes in flight (each holds a socket from connect() until its result), shared by
 * every probe run that is given the same instance: across timeouts, reconcile workers and confirmation
 * rounds.
 *
 * Fairness between namespaces takes two rules, each simple, and neither enough alone:
 * - A namespace holds at most half the bound (rounded up). A slot is held until the probe ends and is
 *   never taken back, so without a cap a namespace whose targets time out after 60 s takes every slot
 *   while it is alone and keeps them for a minute after another namespace's work arrives. Half, not a
 *   smaller share: much of the work is one namespace at a time (a reconcile probes one Service), and
 *   half still leaves the other half to every other namespace.
 * - Freed slots go round-robin to the namespaces that wait and are under their cap, so a namespace
 *   with thousands of queued targets cannot delay one with a few by having queued first.
 * Probes of no namespace (runs that name none: `sockeye probe`, the benchmark) share one queue that
 * only the bound limits.
 */
export class ProbeSlots {
  readonly limit: number;
  readonly #share: number;
  readonly #lanes = new Map<string | undefined, Lane>();
  /** Lanes with waiting requests, in turn order: a lane that is served goes to the back. */
  readonly #turns = new Map<string | undefined, Lane>();
  #inFlight = 0;
  #pumping = false;

  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
    this.#share = Math.ceil(this.limit / 2);
  }

  /** Requests holding a slot now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Starts the request now if a slot is free to its namespace, else when one is. */
  enqueue(request: SlotRequest): void {
    let lane = this.#lanes.get(request.namespace);
    if (!lane) {
      lane = new Lane(request.namespace, request.namespace === undefined ? this.limit : this.#share);
      this.#lanes.set(request.namespace, lane);
    }
    lane.waiting.push(request);
    if (!this.#turns.has(lane.key)) this.#turns.set(lane.key, lane);
    this.#pump();
  }

  /** Frees the slot a started request held. */
  release(request: SlotRequest): void {
    const lane = this.#lanes.get(request.namespace);
    if (!lane || lane.inFlight === 0) throw new Error('released a slot that was not held');
    lane.inFlight--;
    this.#inFlight--;
    this.#forgetIfIdle(lane);
    this.#pump();
  }

  /** Takes back the waiting requests `drop` matches (a run that was aborted or stopped early). */
  withdraw(drop: (request: SlotRequest) => boolean): void {
    for (const lane of [...this.#turns.values()]) {
      lane.waiting.removeWhere(drop);
      if (lane.waiting.size > 0) continue;
      this.#turns.delete(lane.key);
      this.#forgetIfIdle(lane);
    }
  }

  #forgetIfIdle(lane: Lane): void {
    if (lane.inFlight === 0 && lane.waiting.size === 0) this.#lanes.delete(lane.key);
  }

  #pump(): void {
    // A request may end inside its own start() (a dialer that answers at once) and release: the loop
    // already running picks up the freed slot.
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#inFlight < this.limit) {
        const lane = this.#nextLane();
        const request = lane?.waiting.shift();
        if (!lane || !request) return;
        lane.inFlight++;
        this.#inFlight++;
        request.start();
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** The first waiting lane under its cap, moved to the back of the turns (or out, when it empties). */
  #nextLane(): Lane | undefined {
    for (const lane of this.#turns.values()) {
      if (lane.inFlight >= lane.cap) continue;
      this.#turns.delete(lane.key);
      if (lane.waiting.size > 1) this.#turns.set(lane.key, lane);
      return lane;
    }
    return undefined;
  }
}

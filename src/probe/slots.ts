import { Fifo } from './fifo.ts';

/** Most probes ProbeSlots starts in one event-loop turn, by default. */
export const DEFAULT_BURST = 64;

/** Probes of one run and one namespace, waiting for slots; they start one at a time. */
export interface SlotFeed {
  /** Whose probes these are, for fairness; undefined: probes of no namespace (see ProbeSlots). */
  readonly namespace: string | undefined;
  /**
   * Starts the next probe, which holds its slot until it is released; says whether the feed has more.
   * A feed is only handed over with at least one probe; one fed from other threads' pool may find it
   * taken meanwhile, and then releases the slot it was given before it returns.
   */
  startNext(): boolean;
}

/** The feeds of one namespace, taking turns, and how many slots the namespace holds. */
class Lane {
  readonly key: string | undefined;
  readonly cap: number;
  readonly feeds = new Fifo<SlotFeed>();
  inFlight = 0;
  /** Whether the lane is in the turns (it has feeds). */
  waiting = false;

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
 * Probes of no namespace (runs that name none: `sockeye probe`, the sidecar, the benchmark) share one
 * lane that only the bound limits. Within a namespace, the runs (workers) take turns as well.
 */
export class ProbeSlots {
  readonly limit: number;
  readonly #share: number;
  readonly #lanes = new Map<string | undefined, Lane>();
  /** Lanes with feeds, served in turn from `#cursor` on (an array: no allocation per probe). */
  readonly #turns: Lane[] = [];
  #cursor = 0;
  #inFlight = 0;
  #pumping = false;
  readonly #burst: number;
  /** Probes that may still start in this event-loop turn. */
  #budget: number;
  #refillScheduled = false;

  /**
   * `burst`: most probes started in one event-loop turn (the rest start after the I/O already
   * pending is read). A loopback or LAN handshake ends inside connect(), so a run started all at
   * once holds thousands of answered sockets (kernel memory, the listener's half of each) for nothing
   * but its own bookkeeping: at 4,096 in flight, set (a) of `npm run bench:probe` took about 25% more
   * CPU and twice the page faults of bursts of 64 (README "Probe engine"). Probes that wait
   * (timeouts) still fill the whole bound, a burst per turn.
   */
  constructor(limit: number, burst = DEFAULT_BURST) {
    this.limit = Math.max(1, Math.floor(limit));
    this.#share = Math.ceil(this.limit / 2);
    this.#burst = Math.max(1, Math.floor(burst));
    this.#budget = this.#burst;
  }

  /** Probes holding a slot now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Starts the feed's probes as slots are free to its namespace. */
  add(feed: SlotFeed): void {
    let lane = this.#lanes.get(feed.namespace);
    if (!lane) {
      lane = new Lane(feed.namespace, feed.namespace === undefined ? this.limit : this.#share);
      this.#lanes.set(feed.namespace, lane);
    }
    lane.feeds.push(feed);
    if (!lane.waiting) {
      lane.waiting = true;
      this.#turns.push(lane);
    }
    this.#pump();
  }

  /** Frees the slot one probe of `feed` held. */
  release(feed: SlotFeed): void {
    const lane = this.#lanes.get(feed.namespace);
    if (!lane || lane.inFlight === 0) throw new Error('released a slot that was not held');
    lane.inFlight--;
    this.#inFlight--;
    this.#forgetIfIdle(lane);
    this.#pump();
  }

  /** Takes back a feed's probes that have not started (its run was aborted or stopped early). */
  withdraw(feed: SlotFeed): void {
    const lane = this.#lanes.get(feed.namespace);
    if (!lane) return;
    lane.feeds.removeWhere((f) => f === feed);
    this.#dropIfDrained(lane);
  }

  #dropIfDrained(lane: Lane): void {
    if (lane.feeds.size > 0 || !lane.waiting) return;
    lane.waiting = false;
    const at = this.#turns.indexOf(lane);
    this.#turns.splice(at, 1);
    if (at < this.#cursor) this.#cursor--;
    this.#forgetIfIdle(lane);
  }

  #forgetIfIdle(lane: Lane): void {
    if (lane.inFlight === 0 && lane.feeds.size === 0) this.#lanes.delete(lane.key);
  }

  #pump(): void {
    // A probe may end inside startNext() (a dialer that answers at once) and release: the loop
    // already running picks up the freed slot.
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#inFlight < this.limit) {
        if (this.#budget === 0) {
          this.#refillLater();
          return;
        }
        const lane = this.#nextLane();
        const feed = lane?.feeds.head;
        if (!lane || !feed) return;
        lane.inFlight++;
        this.#inFlight++;
        this.#budget--;
        const more = feed.startNext();
        // Feeds of one namespace (several workers' runs) take turns too: the one served goes last.
        if (more && lane.feeds.size === 1) continue;
        lane.feeds.shift();
        if (more) lane.feeds.push(feed);
        else this.#dropIfDrained(lane);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #refillLater(): void {
    if (this.#refillScheduled) return;
    this.#refillScheduled = true;
    setImmediate(() => {
      this.#refillScheduled = false;
      this.#budget = this.#burst;
      this.#pump();
    });
  }

  /** The next lane in turn that is under its cap; the turn then passes to the lane after it. */
  #nextLane(): Lane | undefined {
    const n = this.#turns.length;
    for (let k = 0; k < n; k++) {
      const at = (this.#cursor + k) % n;
      const lane = this.#turns[at];
      if (!lane || lane.inFlight >= lane.cap) continue;
      this.#cursor = (at + 1) % n;
      return lane;
    }
    return undefined;
  }
}

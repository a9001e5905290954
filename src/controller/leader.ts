/**
 * Lease leader election with client-go's semantics (k8s.io/client-go/tools/leaderelection):
 *
 * - try to acquire every RetryPeriod (jittered by 1.2); a Lease held by someone else is left alone
 *   until it has not changed for its leaseDurationSeconds, measured on our monotonic clock from when we
 *   last saw it change (clock skew between replicas does not matter);
 * - every update carries the resourceVersion we read, so two candidates racing get a 409 and one wins;
 * - the leader renews every RetryPeriod; when no renewal succeeds within RenewDeadline it has lost;
 * - each term of leadership is a `Term`: its expiry is the renew deadline the last successful
 *   renewal bought (when that renewal was sent + RetryPeriod + RenewDeadline), so the writers it
 *   fences stop at that instant even before the renew loop notices; it ends (its signal aborts)
 *   before the Lease is released, so no write of this replica overlaps a successor's term;
 * - on cancel it releases the Lease (holder empty, leaseDurationSeconds 1) so a successor need not
 *   wait out the full duration (ReleaseOnCancel).
 *
 * One deliberate difference: a leader that sees another holder in the Lease stops leading at once
 * instead of polling until RenewDeadline, so two replicas never write side by side for 10 s.
 */
import type { CoordinationV1Api, V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import { V1MicroTime } from '@kubernetes/client-node/dist/types.js';
import { type Clock, monotonicClock } from '../clock.ts';
import { globalTimers, jittered, sleep, type Timers } from '../kube/backoff.ts';
import { classifyKubeError, isConflict, isNotFound } from '../kube/errors.ts';
import { FIELD_MANAGER } from '../kube/field-manager.ts';
import { withSignal } from '../kube/request-options.ts';
import { componentLogger, type Logger, logger as rootLogger } from '../log.ts';
import { Term } from './term.ts';

/** The Lease as the elector reads it. */
export interface LeaseState {
  readonly resourceVersion: string;
  /** Empty when nobody holds it. */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly leaseTransitions: number;
  /** Wall-clock ms of the holder's acquisition, when the Lease has one. */
  readonly acquireTimeMs?: number;
}

/** The Lease spec the elector writes; times are wall-clock ms (the store writes them as MicroTime). */
export interface LeaseWrite {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly leaseTransitions: number;
  readonly acquireTimeMs: number;
  readonly renewTimeMs: number;
}

/**
 * The three Lease calls leader election needs. `replace` must send `resourceVersion` (409 on a race).
 * `signal` cancels a call the elector no longer waits for (past its deadline).
 */
export interface LeaseStore {
  /** `undefined` when the Lease does not exist. */
  get(signal?: AbortSignal): Promise<LeaseState | undefined>;
  create(write: LeaseWrite, signal?: AbortSignal): Promise<LeaseState>;
  replace(resourceVersion: string, write: LeaseWrite, signal?: AbortSignal): Promise<LeaseState>;
  /** For logs: `namespace/name`. */
  describe(): string;
}

export interface LeaderElectorOptions {
  readonly store: LeaseStore;
  /** Unique per replica: the pod name. */
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** Release the Lease when `run`'s signal aborts (default true). */
  readonly releaseOnCancel?: boolean;
  /** Monotonic clock for lease validity (default `performance.now()`). */
  readonly clock?: Clock;
  /** Wall clock for acquireTime / renewTime (default `Date.now`). */
  readonly now?: () => number;
  readonly timers?: Timers;
  readonly random?: () => number;
  /**
   * Called when this replica becomes leader, with its term: writes check `term.holds()` right before
   * they are sent; `term.signal` aborts when it stops leading (before the Lease is released).
   */
  readonly onStartedLeading: (term: Term) => void | Promise<void>;
  /**
   * Called once when this replica stops leading (lost, or `run` cancelled). Not called when it never
   * led. Whether to exit is the caller's choice; client-go's users exit.
   */
  readonly onStoppedLeading: (reason: 'lost' | 'cancelled') => void;
  /** Called when the observed holder changes (including to this replica). */
  readonly onNewLeader?: (identity: string) => void;
  readonly logger?: Logger;
}

/** client-go's JitterFactor for the acquire loop. */
const ACQUIRE_JITTER = 1.2;
/** How long releasing the Lease may take on shutdown (the API server may be gone). */
const RELEASE_TIMEOUT_MS = 2_000;

export class LeaderElector {
  readonly #store: LeaseStore;
  readonly #identity: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #releaseOnCancel: boolean;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #options: LeaderElectorOptions;
  readonly #log: Logger;
  #observed: LeaseState | undefined;
  /** Monotonic time at which `#observed` last changed. */
  #observedAt = 0;
  #reportedLeader = '';

  constructor(options: LeaderElectorOptions) {
    this.#store = options.store;
    this.#identity = options.identity;
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.#releaseOnCancel = options.releaseOnCancel ?? true;
    this.#clock = options.clock ?? monotonicClock;
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? globalTimers;
    this.#random = options.random ?? Math.random;
    this.#options = options;
    this.#log = componentLogger(options.logger ?? rootLogger, 'leader', { lease: options.store.describe() });
    if (!options.identity) throw new RangeError('leader election needs a non-empty identity');
    if (this.#leaseDurationMs <= this.#renewDeadlineMs) {
      throw new RangeError('leaseDuration must be greater than renewDeadline');
    }
    if (this.#renewDeadlineMs <= ACQUIRE_JITTER * this.#retryPeriodMs) {
      throw new RangeError('renewDeadline must be greater than retryPeriod*1.2');
    }
    if (this.#leaseDurationMs % 1000 !== 0) throw new RangeError('leaseDuration must be whole seconds');
  }

  /** True while the last Lease we saw names this replica. */
  isLeader(): boolean {
    return this.#observed?.holderIdentity === this.#identity;
  }

  /** The holder of the last Lease we saw ('' when none). */
  leader(): string {
    return this.#observed?.holderIdentity ?? '';
  }

  /**
   * Campaigns until leading, leads until the lease is lost or `signal` aborts, then (on abort) releases
   * the Lease. Resolves when it no longer leads; run again to campaign again.
   */
  async run(signal: AbortSignal): Promise<void> {
    const sentAt = await this.#acquire(signal);
    if (sentAt === undefined) return;
    const term = new Term({ clock: this.#clock, expiresAt: this.#renewedUntil(sentAt) });
    this.#log.info({ identity: this.#identity }, 'became leader');
    Promise.resolve()
      .then(() => this.#options.onStartedLeading(term))
      .catch((err: unknown) => this.#log.error({ err }, 'onStartedLeading failed'));
    const reason = await this.#renew(term, signal);
    // The term ends before the Lease is released: nothing of it is written once a successor may lead.
    term.end();
    if (reason === 'cancelled' && this.#releaseOnCancel) await this.#release();
    this.#log.info({ identity: this.#identity, reason }, 'stopped leading');
    this.#options.onStoppedLeading(reason);
  }

  /** Campaigns until this replica holds the Lease; resolves when the winning write was sent. */
  async #acquire(signal: AbortSignal): Promise<number | undefined> {
    while (!signal.aborted) {
      const sentAt = this.#clock.now();
      if (await this.#tryAcquireOrRenew()) return sentAt;
      await sleep(jittered(this.#retryPeriodMs, ACQUIRE_JITTER, this.#random), this.#timers, signal);
    }
    return undefined;
  }

  /**
   * The renew deadline a successful write sent at `sentAt` buys: the next renewal starts a
   * RetryPeriod later and has RenewDeadline to succeed. Measured from the send, not the answer, so
   * a slow answer never stretches it; it stays below the LeaseDuration another replica waits.
   */
  #renewedUntil(sentAt: number): number {
    return sentAt + this.#retryPeriodMs + this.#renewDeadlineMs;
  }

  /**
   * Renews every RetryPeriod, retrying until the term's expiry (the renew deadline); each success
   * moves the expiry on. (client-go renews right after acquiring too; that write says nothing new,
   * so the first renewal waits a period.)
   */
  async #renew(term: Term, signal: AbortSignal): Promise<'lost' | 'cancelled'> {
    while (!signal.aborted) {
      await sleep(this.#retryPeriodMs, this.#timers, signal);
      let renewed = false;
      while (!signal.aborted && !renewed) {
        const sentAt = this.#clock.now();
        const remaining = term.expiresAt - sentAt;
        if (remaining <= 0) break;
        renewed = await this.#withDeadline((s) => this.#tryAcquireOrRenew(s), remaining);
        if (renewed) term.extend(this.#renewedUntil(sentAt));
        else if (!this.isLeader()) return 'lost';
        else await sleep(Math.min(this.#retryPeriodMs, remaining), this.#timers, signal);
      }
      if (signal.aborted) return 'cancelled';
      if (!renewed) {
        this.#log.warn({ renewDeadlineMs: this.#renewDeadlineMs }, 'failed to renew the lease in time');
        return 'lost';
      }
    }
    return 'cancelled';
  }

  /**
   * `false` when `attempt` has not settled within `ms` (a hung request counts as a failed renewal);
   * then its requests are cancelled.
   */
  async #withDeadline(attempt: (signal: AbortSignal) => Promise<boolean>, ms: number): Promise<boolean> {
    const expired = new AbortController();
    const timeout = sleep(ms, this.#timers, expired.signal).then(() => false);
    try {
      return await Promise.race([attempt(expired.signal).catch(() => false), timeout]);
    } finally {
      expired.abort();
    }
  }

  async #tryAcquireOrRenew(signal?: AbortSignal): Promise<boolean> {
    const now = this.#now();
    const observed = this.#observed;
    // Fast path: a valid leader updates with the resourceVersion it already has, without a read.
    if (observed && this.isLeader() && this.#leaseValid()) {
      try {
        this.#observe(
          await this.#store.replace(observed.resourceVersion, this.#renewal(observed, now), signal),
        );
        return true;
      } catch (err) {
        this.#logFailure(err, 'renew');
      }
    }
    let current: LeaseState | undefined;
    try {
      current = await this.#store.get(signal);
    } catch (err) {
      this.#logFailure(err, 'read');
      return false;
    }
    if (!current) {
      try {
        this.#observe(
          await this.#store.create(
            {
              holderIdentity: this.#identity,
              leaseDurationSeconds: this.#leaseDurationMs / 1000,
              leaseTransitions: 0,
              acquireTimeMs: now,
              renewTimeMs: now,
            },
            signal,
          ),
        );
        return true;
      } catch (err) {
        this.#logFailure(err, 'create');
        return false;
      }
    }
    if (current.resourceVersion !== this.#observed?.resourceVersion) this.#observe(current);
    if (current.holderIdentity && !this.isLeader() && this.#leaseValid()) return false;
    try {
      this.#observe(await this.#store.replace(current.resourceVersion, this.#renewal(current, now), signal));
      return true;
    } catch (err) {
      this.#logFailure(err, 'update');
      return false;
    }
  }

  /** The spec that makes this replica the holder: a renewal keeps acquireTime, a takeover counts a transition. */
  #renewal(current: LeaseState, now: number): LeaseWrite {
    const renewing = current.holderIdentity === this.#identity;
    return {
      holderIdentity: this.#identity,
      leaseDurationSeconds: this.#leaseDurationMs / 1000,
      leaseTransitions: renewing ? current.leaseTransitions : current.leaseTransitions + 1,
      acquireTimeMs: renewing ? (current.acquireTimeMs ?? now) : now,
      renewTimeMs: now,
    };
  }

  /** Bounded (RELEASE_TIMEOUT_MS): with the API server gone the Lease simply expires. */
  async #release(): Promise<void> {
    const observed = this.#observed;
    if (!observed || !this.isLeader()) return;
    const now = this.#now();
    const released = await this.#withDeadline(async (signal) => {
      try {
        const write = {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          leaseTransitions: observed.leaseTransitions,
          acquireTimeMs: now,
          renewTimeMs: now,
        };
        this.#observe(await this.#store.replace(observed.resourceVersion, write, signal));
        return true;
      } catch (err) {
        this.#logFailure(err, 'release');
        return false;
      }
    }, RELEASE_TIMEOUT_MS);
    if (released) this.#log.info('released the lease');
  }

  #leaseValid(): boolean {
    const observed = this.#observed;
    if (!observed) return false;
    return this.#observedAt + observed.leaseDurationSeconds * 1000 > this.#clock.now();
  }

  #observe(state: LeaseState): void {
    this.#observed = state;
    this.#observedAt = this.#clock.now();
    if (state.holderIdentity !== this.#reportedLeader) {
      this.#reportedLeader = state.holderIdentity;
      if (state.holderIdentity) this.#options.onNewLeader?.(state.holderIdentity);
    }
  }

  #logFailure(err: unknown, op: string): void {
    if (isConflict(err)) {
      // Someone else updated the Lease first: the normal outcome of a race.
      this.#log.debug({ op }, 'lease changed under us (409)');
      return;
    }
    this.#log.warn({ op, err: classifyKubeError(err) }, 'lease call failed');
  }
}

function timeMs(value: unknown): number | undefined {
  // Leases read back carry strings; the generated types say Date. Accept both.
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function toLeaseState(lease: V1Lease, fallbackDurationSeconds: number): LeaseState {
  const spec = lease.spec ?? {};
  const acquireTimeMs = timeMs(spec.acquireTime);
  return {
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? fallbackDurationSeconds,
    leaseTransitions: spec.leaseTransitions ?? 0,
    ...(acquireTimeMs === undefined ? {} : { acquireTimeMs }),
  };
}

function toLeaseSpec(write: LeaseWrite): V1LeaseSpec {
  return {
    holderIdentity: write.holderIdentity,
    leaseDurationSeconds: write.leaseDurationSeconds,
    leaseTransitions: write.leaseTransitions,
    // MicroTime: a plain Date would serialise with 3 fractional digits, which the API server rejects.
    acquireTime: new V1MicroTime(write.acquireTimeMs),
    renewTime: new V1MicroTime(write.renewTimeMs),
  };
}

/** A `LeaseStore` over coordination.k8s.io/v1. */
export function coordinationLeaseStore(
  api: Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>,
  lease: { readonly namespace: string; readonly name: string; readonly leaseDurationSeconds?: number },
): LeaseStore {
  const { namespace, name } = lease;
  const fallback = lease.leaseDurationSeconds ?? 15;
  // The last Lease read or written: a replace keeps its labels and annotations, as client-go's LeaseLock does.
  let last: V1Lease | undefined;
  const remember = (l: V1Lease): LeaseState => {
    last = l;
    return toLeaseState(l, fallback);
  };
  return {
    describe: () => `${namespace}/${name}`,
    async get(signal) {
      try {
        return remember(await api.readNamespacedLease({ name, namespace }, withSignal(signal)));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async create(write, signal) {
      const body: V1Lease = { metadata: { name, namespace }, spec: toLeaseSpec(write) };
      return remember(
        await api.createNamespacedLease({ namespace, body, fieldManager: FIELD_MANAGER }, withSignal(signal)),
      );
    },
    async replace(resourceVersion, write, signal) {
      const body: V1Lease = {
        ...last,
        metadata: { ...last?.metadata, name, namespace, resourceVersion },
        spec: { ...last?.spec, ...toLeaseSpec(write) },
      };
      return remember(
        await api.replaceNamespacedLease(
          { name, namespace, body, fieldManager: FIELD_MANAGER },
          withSignal(signal),
        ),
      );
    },
  };
}

/**
 * A supervised informer over client-node's `ListWatch`.
 *
 * What client-node 2.x does by itself: relist on 410 Gone, reconnect a watch that hit the Watch's 30 s
 * inactivity timeout. What it does not, and this adds:
 * - on any other error (403, 429, 5xx, network, a failed list) ListWatch emits `error` and stops for
 *   good: restart it after a jittered backoff (client-go reflector: 800 ms doubling to 30 s, jitter 1);
 * - a watch that had been served (an event, or open a second or more: client-go's test for a "very
 *   short watch") and then fails was a success that ended, not a failed attempt: the backoff starts
 *   over. It is reset by nothing else but a list, so a long-running operator would otherwise wait
 *   the full 30-60 s after every dropped watch once a handful had dropped over its life;
 * - `stop()` makes the aborted watch report an AbortError: ignored;
 * - a watchdog: when nothing at all has happened (no event, no connect, no list page) for `watchdogMs`,
 *   the ListWatch is presumed stuck (a hung list, a hung auth plugin) and replaced by a fresh one;
 * - the initial list is one unpaged call in ListWatch: the list function here pages (pager.ts), or
 *   streams one list trimming each item as it arrives (`streamList`);
 * - `transform` trims each object (list and watch alike) to the fields the caller needs, before
 *   anything is cached, so memory holds only those;
 * - the cache users read is the supervisor's own `InformerStore`: it survives the ListWatch being
 *   replaced, and on a relist the objects that vanished meanwhile are reported as deleted.
 *
 * Objects from the list are deserialised by client-node (timestamps are `Date`); objects from the
 * watch are raw JSON (timestamps are strings): `transform` sees both and should normalise.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { ListWatch } from '@kubernetes/client-node/dist/cache.js';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import { type Clock, monotonicClock } from '../clock.ts';
import { componentLogger, type Logger, logger as rootLogger } from '../log.ts';
import { Backoff, type BackoffOptions, globalTimers, sleep, type Timers } from './backoff.ts';
import { classifyKubeError, isAbort, type KubeErrorClass } from './errors.ts';
import { mapPages, type Page, type PageRequest, paginate } from './pager.ts';

/** Statuses of a list that mean "not served here" (404) or "not allowed" (403): see `unavailable`. */
const UNAVAILABLE: ReadonlySet<number> = new Set([403, 404]);
/** How often such a list is tried again (`unavailableRecheckMs`). */
const UNAVAILABLE_RECHECK_MS = 10 * 60_000;

export interface InformerHandlers<U> {
  add?(obj: U): void;
  /** `old` is the cached object before the update (to ignore updates sockeye's own writes cause). */
  update?(obj: U, old: U): void;
  delete?(obj: U): void;
}

export interface InformerOptions<T extends KubernetesObject, U extends KubernetesObject = T> {
  /** For logs and metrics, e.g. `pods`. */
  readonly name: string;
  /** The watch path, e.g. `/api/v1/pods` or `/api/v1/namespaces/shop/services`. */
  readonly path: string;
  /** One page of the list, e.g. `(page) => core.listPodForAllNamespaces({ ...page })`; or `streamList`. */
  readonly list?: (page: PageRequest) => Promise<Page<T>>;
  /**
   * The whole list in one request, each item handed to `each` (the informer's trim) as it arrives,
   * e.g. `(each) => listStreamed(kc, path, each)`: memory never holds the untrimmed list. Used
   * instead of `list` and its paging when given.
   */
  readonly streamList?: (each: (obj: T) => U) => Promise<Page<U>>;
  /** Where the watch connects; alternatively `watch`. */
  readonly kubeConfig?: KubeConfig;
  /** The client-node Watch to use (tests inject one); default `new Watch(kubeConfig)`. */
  readonly watch?: Watch;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * Keeps only what the caller needs. The result must keep `metadata.name`, `namespace` and
   * `resourceVersion` (they are copied back if dropped).
   */
  readonly transform?: (obj: T) => U;
  readonly handlers?: InformerHandlers<U>;
  /** Items per list page (default 500). */
  readonly pageSize?: number;
  /** Restart delays after an error. */
  readonly backoff?: BackoffOptions;
  /** Silence after which the ListWatch is replaced (default 2 minutes; the Watch itself reconnects every 30 s). */
  readonly watchdogMs?: number;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly random?: () => number;
  /** Called on every failure that causes a restart, for metrics. */
  readonly onError?: (err: unknown) => void;
  /**
   * For a resource the caller can do without: when the first list is refused as not served (404) or
   * not allowed (403), the informer counts as synced (empty) and calls this once (the caller logs what
   * it does without), then lists again quietly every `unavailableRecheckMs`, so that a resource served
   * or granted later (a cluster upgrade, a RoleBinding) is picked up without a restart. Refused
   * after a list succeeded, it keeps the last list, warns once and asks again as seldom. Unset: such
   * a list or watch is retried with the usual backoff.
   */
  readonly unavailable?: (failure: KubeErrorClass) => void;
  /** How often a list refused with 403 or 404 is tried again when `unavailable` is set (default 10 minutes). */
  readonly unavailableRecheckMs?: number;
  readonly logger?: Logger;
}

/** The informer's cache: `namespace` → `name` → object ('' for cluster-scoped objects). */
export class InformerStore<U extends KubernetesObject> {
  readonly #objects = new Map<string, Map<string, U>>();

  get(name: string, namespace = ''): U | undefined {
    return this.#objects.get(namespace)?.get(name);
  }

  list(namespace?: string): U[] {
    if (namespace !== undefined) return [...(this.#objects.get(namespace)?.values() ?? [])];
    const out: U[] = [];
    for (const byName of this.#objects.values()) out.push(...byName.values());
    return out;
  }

  get size(): number {
    let n = 0;
    for (const byName of this.#objects.values()) n += byName.size;
    return n;
  }

  /** Stores `obj`; returns the object it replaced, `undefined` for a new one, or `obj` itself when unchanged. */
  upsert(obj: U): U | undefined {
    const { name, namespace } = keyOf(obj);
    let byName = this.#objects.get(namespace);
    if (!byName) {
      byName = new Map();
      this.#objects.set(namespace, byName);
    }
    const old = byName.get(name);
    const rv = obj.metadata?.resourceVersion;
    if (old && rv !== undefined && old.metadata?.resourceVersion === rv) return obj;
    byName.set(name, obj);
    return old;
  }

  remove(obj: KubernetesObject): U | undefined {
    const { name, namespace } = keyOf(obj);
    const byName = this.#objects.get(namespace);
    const old = byName?.get(name);
    if (!byName || !old) return undefined;
    byName.delete(name);
    if (byName.size === 0) this.#objects.delete(namespace);
    return old;
  }

  /** Every cached object whose `namespace/name` is not in `keep`. */
  missingFrom(keep: ReadonlySet<string>): U[] {
    const gone: U[] = [];
    for (const [namespace, byName] of this.#objects) {
      for (const [name, obj] of byName) if (!keep.has(`${namespace}/${name}`)) gone.push(obj);
    }
    return gone;
  }
}

function keyOf(obj: KubernetesObject): { name: string; namespace: string } {
  return { name: obj.metadata?.name ?? '', namespace: obj.metadata?.namespace ?? '' };
}

/** Served for this long (or with any event), a watch that ends was established: client-go's reflector. */
const ESTABLISHED_MS = 1_000;

interface WatchTap {
  /** Each object of an event, handed on in its place (the informer's trim). */
  object(phase: string, obj: unknown): unknown;
  /** A watch request was made or an event arrived (for the watchdog). */
  activity(): void;
  /** The watch ended (`err` null: the server ended it); `established`: it had been served. */
  ended(err: unknown, established: boolean): void;
  now(): number;
}

/**
 * A Watch that hands each object through the tap and tells it of activity and of how each connection
 * ended; it delegates the request to the real Watch. (A subclass because ListWatch takes a `Watch`,
 * whose private members make it nominal.)
 */
class TappedWatch extends Watch {
  readonly #inner: Watch;
  readonly #tap: WatchTap;

  constructor(inner: Watch, tap: WatchTap) {
    super(inner.config);
    this.#inner = inner;
    this.#tap = tap;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const tap = this.#tap;
    tap.activity();
    let openedAt: number | undefined;
    let served = false;
    let ended = false;
    const controller = await this.#inner.watch(
      path,
      queryParams,
      (phase, obj, watchObj) => {
        served = true;
        tap.activity();
        callback(phase, tap.object(phase, obj), watchObj);
      },
      (err) => {
        ended = true;
        const established = served || (openedAt !== undefined && tap.now() - openedAt >= ESTABLISHED_MS);
        tap.ended(err ?? null, established);
        done(err);
      },
    );
    // The inner Watch returns once the response began (status 200), or after it ended (a failed connect).
    if (!ended) openedAt = tap.now();
    return controller;
  }
}

export class SupervisedInformer<T extends KubernetesObject, U extends KubernetesObject = T> {
  readonly store = new InformerStore<U>();
  readonly #options: InformerOptions<T, U>;
  readonly #watch: Watch;
  readonly #backoff: Backoff;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #log: Logger;
  readonly #watchdogMs: number;
  readonly #syncWaiters: Array<() => void> = [];
  /** Bumped for each ListWatch; callbacks of a replaced one are ignored. */
  #generation = 0;
  #lw: ListWatch<U> | undefined;
  #synced = false;
  /** A list has succeeded (the store holds the resource's state, not an `unavailable` stand-in). */
  #listed = false;
  /** `unavailable` was called (once per informer). */
  #toldUnavailable = false;
  /**
   * A list or watch with `unavailable` was refused (403/404) after a list had succeeded, and has not
   * been served since: said once, then asked again quietly.
   */
  #refusedSinceListed = false;
  #running = false;
  #lastActivity = 0;
  #restartTimer: unknown;
  #restartPending = false;
  #watchdogTimer: unknown;

  constructor(options: InformerOptions<T, U>) {
    this.#options = options;
    const watch = options.watch ?? (options.kubeConfig ? new Watch(options.kubeConfig) : undefined);
    if (!watch) throw new TypeError(`informer ${options.name}: needs kubeConfig or watch`);
    if (!options.list && !options.streamList)
      throw new TypeError(`informer ${options.name}: needs list or streamList`);
    this.#watch = watch;
    this.#backoff = new Backoff(options.backoff ?? { baseMs: 800, maxMs: 30_000, jitter: 1 }, options.random);
    this.#clock = options.clock ?? monotonicClock;
    this.#timers = options.timers ?? globalTimers;
    this.#watchdogMs = options.watchdogMs ?? 120_000;
    this.#log = componentLogger(options.logger ?? rootLogger, 'informer', { informer: options.name });
  }

  /** True once the first complete list is in the store; stays true across restarts (client-go). */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves when `hasSynced()` becomes true. */
  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  get(name: string, namespace?: string): U | undefined {
    return this.store.get(name, namespace);
  }

  list(namespace?: string): U[] {
    return this.store.list(namespace);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#replace('start');
    this.#armWatchdog();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#restartPending = false;
    this.#timers.clearTimeout(this.#restartTimer);
    this.#timers.clearTimeout(this.#watchdogTimer);
    const lw = this.#lw;
    this.#lw = undefined;
    this.#generation++;
    await lw?.stop();
  }

  /** Abandons the current ListWatch (if any) and starts a fresh one, which lists first. */
  #replace(why: string): void {
    const old = this.#lw;
    if (old) void old.stop().catch(() => undefined);
    this.#timers.clearTimeout(this.#restartTimer);
    this.#restartPending = false;
    const generation = ++this.#generation;
    const { labelSelector, fieldSelector } = this.#options;
    const tapped = new TappedWatch(this.#watch, {
      object: (phase, obj) => {
        this.#servedAgain();
        return phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? this.#trim(obj as T) : obj;
      },
      activity: () => this.#touch(generation),
      ended: (err, established) => this.#watchEnded(generation, err, established),
      now: () => this.#clock.now(),
    });
    const lw = new ListWatch<U>(
      this.#options.path,
      tapped,
      () => this.#pagedList(generation),
      false,
      labelSelector,
      fieldSelector,
      // ListWatch's own reconnect delay on this informer's timers (injected ones in tests).
      { delayFn: (ms) => sleep(ms, this.#timers) },
    );
    const current = () => generation === this.#generation;
    lw.on('add', (obj) => current() && this.#apply(obj));
    lw.on('update', (obj) => current() && this.#apply(obj));
    lw.on('delete', (obj) => current() && this.#remove(obj));
    lw.on('connect', () => current() && this.#touch(generation));
    lw.on('error', (err: unknown) => current() && this.#failed(err));
    this.#lw = lw;
    this.#log.debug({ why, generation }, 'starting list and watch');
    this.#run(lw, generation);
  }

  /**
   * A watch connection ended (ListWatch hears of it next). An established one was a success that
   * ended: the backoff starts over, so its error is retried after the first step however many drops
   * came before (client-go's reflector re-watches at once). A clean end needs nothing here: ListWatch
   * resumes a watch that delivered events at once, and delays one that did not (never a loop).
   */
  #watchEnded(generation: number, err: unknown, established: boolean): void {
    if (established && err !== null && generation === this.#generation && !isAbort(err))
      this.#backoff.reset();
  }

  #run(lw: ListWatch<U>, generation: number): void {
    this.#touch(generation);
    // start() rejects only for errors thrown before ListWatch's own handling (e.g. auth setup).
    lw.start().catch((err: unknown) => {
      if (generation === this.#generation) this.#failed(err);
    });
  }

  #failed(err: unknown): void {
    if (!this.#running || isAbort(err)) return;
    const failure = classifyKubeError(err);
    const { unavailable } = this.#options;
    if (unavailable && failure.kind === 'terminal' && UNAVAILABLE.has(failure.code ?? 0)) {
      const recheckMs = this.#options.unavailableRecheckMs ?? UNAVAILABLE_RECHECK_MS;
      if (!this.#listed && !this.#toldUnavailable) {
        this.#toldUnavailable = true;
        this.#markSynced();
        unavailable(failure);
      } else if (this.#listed && !this.#refusedSinceListed) {
        // Listed once, refused now (a RoleBinding removed, `list` granted without `watch`, the API
        // turned off): the store keeps the last list, which is what this resource last was, and the
        // informer asks again as seldom as for a first refusal, instead of warning every 30 s.
        this.#refusedSinceListed = true;
        this.#options.onError?.(err);
        this.#log.warn(
          { err: failure, recheckMs },
          'list/watch refused after it was listed; keeping the last list and asking again seldom',
        );
      }
      // Quietly, and seldom: what it means was said once.
      this.#restartIn(recheckMs);
      return;
    }
    this.#options.onError?.(err);
    const delayMs = this.#backoff.next(failure.kind === 'retryable' ? failure.retryAfterMs : undefined);
    this.#log.warn({ err: failure, delayMs }, 'list/watch failed; restarting');
    this.#restartIn(delayMs);
  }

  /** Resumes the current ListWatch after `delayMs` (it stopped itself after reporting its error). */
  #restartIn(delayMs: number): void {
    this.#timers.clearTimeout(this.#restartTimer);
    const generation = this.#generation;
    this.#restartPending = true;
    this.#restartTimer = this.#timers.setTimeout(() => {
      this.#restartPending = false;
      const lw = this.#lw;
      if (!this.#running || !lw || generation !== this.#generation) return;
      // ListWatch stopped itself cleanly after reporting: resume it (from its resourceVersion, no relist).
      this.#run(lw, generation);
    }, delayMs);
  }

  /**
   * The watch delivered an event (bookmarks included): served again after a refusal, if there was one,
   * so the next refusal is said again. A list alone does not count: with `list` granted and `watch`
   * not, every check lists anew (after a 410) and would otherwise warn every time.
   */
  #servedAgain(): void {
    if (!this.#refusedSinceListed) return;
    this.#refusedSinceListed = false;
    this.#log.info('list/watch served again');
  }

  #touch(generation: number): void {
    if (generation === this.#generation) this.#lastActivity = this.#clock.now();
  }

  #armWatchdog(): void {
    const period = Math.max(1, Math.floor(this.#watchdogMs / 4));
    this.#watchdogTimer = this.#timers.setTimeout(() => {
      if (!this.#running) return;
      // Waiting out a restart backoff is not silence.
      const silentMs = this.#clock.now() - this.#lastActivity;
      if (!this.#restartPending && silentMs > this.#watchdogMs) {
        this.#log.warn({ silentMs }, 'list/watch went silent; replacing it');
        this.#options.onError?.(new Error(`informer ${this.#options.name}: silent for ${silentMs} ms`));
        this.#replace('watchdog');
      }
      this.#armWatchdog();
    }, period);
  }

  #trim(obj: T): U {
    const transform = this.#options.transform;
    if (!transform) return obj as unknown as U;
    const trimmed = transform(obj);
    const meta = obj.metadata;
    if (meta && trimmed.metadata?.resourceVersion !== meta.resourceVersion) {
      trimmed.metadata = {
        ...trimmed.metadata,
        name: meta.name ?? '',
        ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }),
        ...(meta.resourceVersion === undefined ? {} : { resourceVersion: meta.resourceVersion }),
      };
    }
    return trimmed;
  }

  #apply(obj: U): void {
    const old = this.store.upsert(obj);
    if (old === obj) return;
    if (old === undefined) {
      this.#options.handlers?.add?.(obj);
    } else {
      this.#options.handlers?.update?.(obj, old);
    }
  }

  #remove(obj: KubernetesObject): void {
    const old = this.store.remove(obj);
    if (old) this.#options.handlers?.delete?.(old);
  }

  /** Every object, trimmed, and the list's resourceVersion: streamed, or page by page. */
  async #list(generation: number): Promise<{ items: readonly U[]; resourceVersion?: string | undefined }> {
    const current = () => {
      if (generation !== this.#generation) throw new DOMException('informer replaced', 'AbortError');
      this.#touch(generation);
    };
    const { list, streamList } = this.#options;
    if (streamList) {
      const page = await streamList((item) => {
        current();
        return this.#trim(item);
      });
      return { items: page.items, resourceVersion: page.metadata?.resourceVersion };
    }
    if (!list) throw new TypeError(`informer ${this.#options.name}: needs list or streamList`);
    const trimmed = mapPages(list, (page) => {
      current();
      return page.map((item) => this.#trim(item));
    });
    return paginate(trimmed, { limit: this.#options.pageSize ?? 500 });
  }

  /**
   * The list ListWatch runs on start and on 410: every page, trimmed; the store is brought to the
   * listed state here (objects gone meanwhile reported deleted) before ListWatch sees the items.
   */
  async #pagedList(generation: number): Promise<{ items: U[]; metadata: { resourceVersion: string } }> {
    const { items, resourceVersion = '' } = await this.#list(generation);
    const names = new Set(items.map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`));
    for (const gone of this.store.missingFrom(names)) this.#remove(gone);
    for (const item of items) this.#apply(item);
    this.#backoff.reset();
    if (!this.#listed && this.#toldUnavailable) this.#log.info({ objects: items.length }, 'listed at last');
    this.#listed = true;
    if (!this.#synced) {
      this.#log.info({ objects: this.store.size }, 'synced');
      this.#markSynced();
    }
    return { items: [...items], metadata: { resourceVersion } };
  }

  #markSynced(): void {
    this.#synced = true;
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
  }
}

/**
 * A supervised informer over client-node's ListWatch. client-node relists on 410 and reconnects a watch
 * that timed out (its Watch has a 30 s inactivity timeout, which doubles as the watchdog for a silent
 * watch), but on any other error it emits `error` and stops for good: this restarts it with jittered
 * backoff. The initial list is paged here. `stop()` makes ListWatch emit an AbortError: ignored.
 *
 * Stop-gap until src/kube/informer.ts (owned by the building-block engineer) lands.
 */
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import { Backoff, globalTimers, type Timers } from '../kube/backoff.ts';
import { classifyKubeError, isAbort } from '../kube/errors.ts';
import type { Logger } from '../log.ts';

export type PagedList<T extends KubernetesObject> = KubernetesListObject<T>;

export interface InformerHandlers<T> {
  add(obj: T): void;
  update(obj: T): void;
  delete(obj: T): void;
}

export interface SupervisedInformerOptions<T extends KubernetesObject> {
  readonly kc: KubeConfig;
  readonly name: string;
  /** The watch path, e.g. `/api/v1/pods` or `/api/v1/namespaces/NS/pods`. */
  readonly path: string;
  /** One page of the list. */
  readonly list: (page: { limit: number; _continue?: string }) => Promise<PagedList<T>>;
  readonly handlers: InformerHandlers<T>;
  readonly logger: Logger;
  readonly pageSize?: number;
  readonly timers?: Timers;
  /** Called after every failure, for metrics. */
  readonly onError?: (err: unknown) => void;
}

export class SupervisedInformer<T extends KubernetesObject> {
  readonly #options: SupervisedInformerOptions<T>;
  readonly #backoff = new Backoff({ baseMs: 500, maxMs: 30_000, jitter: 0.5 });
  readonly #log: Logger;
  readonly #timers: Timers;
  readonly #lw: ListWatch<T>;
  #synced = false;
  #stopped = false;
  #restart: unknown;
  #listedOk = false;
  readonly #syncWaiters: Array<() => void> = [];

  constructor(options: SupervisedInformerOptions<T>) {
    this.#options = options;
    this.#log = options.logger.child({ informer: options.name });
    this.#timers = options.timers ?? globalTimers;
    this.#lw = new ListWatch<T>(options.path, new Watch(options.kc), () => this.#pagedList(), false);
    const { handlers } = options;
    this.#lw.on('add', (o) => handlers.add(o));
    this.#lw.on('update', (o) => handlers.update(o));
    this.#lw.on('delete', (o) => handlers.delete(o));
    this.#lw.on('error', (err: unknown) => this.#onError(err));
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list has been delivered. */
  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  start(): void {
    this.#stopped = false;
    void this.#start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timers.clearTimeout(this.#restart);
    await this.#lw.stop();
  }

  async #start(): Promise<void> {
    this.#listedOk = false;
    try {
      await this.#lw.start();
    } catch (err) {
      this.#onError(err);
      return;
    }
    if (this.#listedOk && !this.#synced) {
      this.#synced = true;
      this.#log.debug('synced');
      for (const resolve of this.#syncWaiters.splice(0)) resolve();
    }
  }

  async #pagedList(): Promise<PagedList<T>> {
    const pageSize = this.#options.pageSize ?? 500;
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.#options.list({ limit: pageSize, ...(cont ? { _continue: cont } : {}) });
      items.push(...page.items);
      cont = page.metadata?._continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (cont);
    this.#listedOk = true;
    this.#backoff.reset();
    return { items, metadata: resourceVersion === undefined ? {} : { resourceVersion } };
  }

  #onError(err: unknown): void {
    if (this.#stopped || isAbort(err)) return;
    this.#options.onError?.(err);
    const failure = classifyKubeError(err);
    const delayMs = this.#backoff.next(failure.kind === 'retryable' ? failure.retryAfterMs : undefined);
    this.#log.warn({ err: failure, delayMs }, 'watch failed; restarting');
    this.#timers.clearTimeout(this.#restart);
    this.#restart = this.#timers.setTimeout(() => {
      if (!this.#stopped) void this.#start();
    }, delayMs);
  }
}

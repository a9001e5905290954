import type { V1Namespace } from '@kubernetes/client-node';
import { classifyKubeError } from '../kube/errors.ts';
import type { Logger } from '../log.ts';

/** What the poller needs of the API: one namespace by name. */
export type ReadNamespace = (name: string) => Promise<V1Namespace>;

export interface NamespacePollerOptions {
  readonly names: readonly string[];
  readonly read: ReadNamespace;
  readonly intervalMs: number;
  readonly apply: (ns: V1Namespace) => void;
  readonly logger: Logger;
}

/**
 * In the namespace-scoped mode sockeye may not list or watch Namespaces (a Role cannot grant that
 * cluster-wide verb) but it may `get` each of its namespaces by name. This reads them on the
 * probe interval instead of watching. A namespace it cannot read is reported once and skipped:
 * the annotations set there then simply do not apply, nothing else stops.
 */
export class NamespacePoller {
  readonly #opts: NamespacePollerOptions;
  readonly #unreadable = new Set<string>();
  readonly #synced: Promise<void>;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: NamespacePollerOptions) {
    this.#opts = opts;
    this.#synced = this.#poll();
  }

  whenSynced(): Promise<void> {
    return this.#synced;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #poll(): Promise<void> {
    await Promise.all(this.#opts.names.map((name) => this.#readOne(name)));
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#poll(), this.#opts.intervalMs).unref();
  }

  async #readOne(name: string): Promise<void> {
    try {
      this.#opts.apply(await this.#opts.read(name));
      this.#unreadable.delete(name);
    } catch (err) {
      if (this.#unreadable.has(name)) return;
      this.#unreadable.add(name);
      const { reason, message } = classifyKubeError(err);
      this.#opts.logger.warn(
        { namespace: name, reason, error: message },
        'cannot read namespace; its sockeye.dev annotations and labels are not used until it can be read',
      );
    }
  }
}

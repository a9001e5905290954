import {
  ApiException,
  KubeConfig,
  type V1ConfigMap,
  type V1ObjectMeta,
  Watch,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type InformerOptions, SupervisedInformer } from './informer.ts';
import type { Page, PageRequest } from './pager.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

interface Connection {
  readonly query: Record<string, string | number | boolean | undefined>;
  emit(phase: string, obj: unknown): void;
  close(err: unknown): void;
  closed: boolean;
}

/** A Watch that opens no socket: each `watch` call is a connection the test drives. */
class FakeWatch extends Watch {
  readonly connections: Connection[] = [];

  constructor() {
    super(new KubeConfig());
  }

  override async watch(
    _path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, obj: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const controller = new AbortController();
    const conn: Connection = {
      query,
      closed: false,
      emit: (phase, obj) => callback(phase, obj),
      close: (err) => {
        if (conn.closed) return;
        conn.closed = true;
        done(err);
      },
    };
    controller.signal.addEventListener('abort', () =>
      conn.close(new DOMException('This operation was aborted', 'AbortError')),
    );
    this.connections.push(conn);
    return controller;
  }

  last(): Connection {
    const conn = this.connections.at(-1);
    if (!conn) throw new Error('no watch connection');
    return conn;
  }
}

function cm(name: string, rv: string, data: Record<string, string> = {}): V1ConfigMap {
  return { metadata: { name, namespace: 'ns', resourceVersion: rv, labels: { big: 'x'.repeat(100) } }, data };
}

/** Pages of a list, served by `limit` and `_continue`. */
function pagedServer(initial: V1ConfigMap[], rv = '100') {
  const requests: PageRequest[] = [];
  const state = { objects: initial, rv, fail: undefined as unknown, hang: false };
  const list = async (page: PageRequest): Promise<Page<V1ConfigMap>> => {
    requests.push(page);
    if (state.hang) return new Promise(() => {});
    if (state.fail) throw state.fail;
    const start = page._continue ? Number(page._continue) : 0;
    const items = state.objects.slice(start, start + page.limit);
    const next = start + page.limit < state.objects.length ? String(start + page.limit) : undefined;
    return { items, metadata: { resourceVersion: state.rv, ...(next ? { _continue: next } : {}) } };
  };
  return { list, requests, state };
}

type Trimmed = { metadata?: V1ObjectMeta; data?: Record<string, string> };

function informer(
  server: ReturnType<typeof pagedServer>,
  extra: Partial<InformerOptions<V1ConfigMap, Trimmed>> = {},
) {
  const watch = new FakeWatch();
  const seen: string[] = [];
  const errors: unknown[] = [];
  const inf = new SupervisedInformer<V1ConfigMap, Trimmed>({
    name: 'configmaps',
    path: '/api/v1/configmaps',
    list: server.list,
    watch,
    pageSize: 2,
    clock: { now: () => Date.now() },
    random: () => 0,
    logger: pino({ level: 'silent' }),
    transform: (o) => ({
      metadata: {
        name: o.metadata?.name ?? '',
        namespace: 'ns',
        resourceVersion: o.metadata?.resourceVersion ?? '',
      },
      ...(o.data ? { data: o.data } : {}),
    }),
    handlers: {
      add: (o) => seen.push(`add ${o.metadata?.name}`),
      update: (o, old) =>
        seen.push(
          `update ${o.metadata?.name} ${old.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`,
        ),
      delete: (o) => seen.push(`delete ${o.metadata?.name}`),
    },
    onError: (err) => errors.push(err),
    ...extra,
  });
  return { inf, watch, seen, errors };
}

/** `informer(server)` started, its list synced and its first watch open. */
async function watching(server: ReturnType<typeof pagedServer>) {
  const informed = informer(server);
  informed.inf.start();
  await informed.inf.whenSynced();
  await vi.advanceTimersByTimeAsync(0);
  return informed;
}

function apiError(code: number) {
  return new ApiException<string>(code, 'err', '{}', {});
}

describe('SupervisedInformer: list', () => {
  it('pages the initial list, trims objects, syncs, then watches from the list resourceVersion', async () => {
    const server = pagedServer([cm('a', '1'), cm('b', '2'), cm('c', '3')]);
    const { inf, watch, seen } = informer(server);
    expect(inf.hasSynced()).toBe(false);
    inf.start();
    await inf.whenSynced();
    await vi.advanceTimersByTimeAsync(0);
    expect(server.requests).toEqual([{ limit: 2 }, { limit: 2, _continue: '2' }]);
    expect(inf.hasSynced()).toBe(true);
    expect(seen).toEqual(['add a', 'add b', 'add c']);
    expect(inf.get('a', 'ns')?.metadata?.labels).toBeUndefined();
    expect(watch.last().query.resourceVersion).toBe('100');
    await inf.stop();
  });
});

describe('SupervisedInformer: streamed list', () => {
  it('lists once with streamList, trimming each item as it comes, then watches from its resourceVersion', async () => {
    const server = pagedServer([]);
    const trimmedBeforeEnd: boolean[] = [];
    const streamList = vi.fn(async (each: (obj: V1ConfigMap) => Trimmed): Promise<Page<Trimmed>> => {
      const items: Trimmed[] = [];
      for (const obj of [cm('a', '1'), cm('b', '2'), cm('c', '3')]) {
        const trimmed = each(obj);
        trimmedBeforeEnd.push(trimmed.metadata?.labels === undefined);
        items.push(trimmed);
      }
      return { items, metadata: { resourceVersion: '200' } };
    });
    const { inf, watch, seen } = informer(server, { streamList });
    inf.start();
    await inf.whenSynced();
    await vi.advanceTimersByTimeAsync(0);
    expect(server.requests).toEqual([]);
    expect(streamList).toHaveBeenCalledTimes(1);
    expect(trimmedBeforeEnd).toEqual([true, true, true]);
    expect(seen).toEqual(['add a', 'add b', 'add c']);
    expect(watch.last().query.resourceVersion).toBe('200');
    await inf.stop();
  });
});

describe('SupervisedInformer: watch', () => {
  it('applies watch events to the store with the old object, trimmed', async () => {
    const server = pagedServer([cm('a', '1')]);
    const { inf, watch, seen } = await watching(server);
    watch.last().emit('ADDED', cm('b', '101'));
    watch.last().emit('MODIFIED', cm('a', '102', { k: 'v' }));
    watch.last().emit('MODIFIED', cm('a', '102', { k: 'v' })); // same resourceVersion: no event
    watch.last().emit('DELETED', cm('b', '103'));
    expect(seen.slice(1)).toEqual(['add b', 'update a 1->102', 'delete b']);
    expect(inf.list()).toEqual([
      { metadata: { name: 'a', namespace: 'ns', resourceVersion: '102' }, data: { k: 'v' } },
    ]);
    await inf.stop();
  });

  it('restarts after an error with jittered backoff, resuming from the last resourceVersion', async () => {
    const server = pagedServer([cm('a', '1')]);
    const { inf, watch, errors } = await watching(server);
    watch.last().emit('MODIFIED', cm('a', '105'));
    watch.last().close(Object.assign(new Error('Internal Server Error'), { statusCode: 500 }));
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(799);
    expect(watch.connections).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(watch.connections).toHaveLength(2);
    expect(watch.last().query.resourceVersion).toBe('105');
    expect(server.requests).toHaveLength(1); // no relist

    // Failures in a row back off further: 1600 ms, then 3200 ms.
    watch.last().close(Object.assign(new Error('Forbidden'), { statusCode: 403 }));
    await vi.advanceTimersByTimeAsync(1599);
    expect(watch.connections).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(watch.connections).toHaveLength(3);
    await inf.stop();
  });

  it('retries a failing list with backoff and syncs once it succeeds', async () => {
    const server = pagedServer([cm('a', '1')]);
    server.state.fail = apiError(503);
    const { inf, errors } = informer(server);
    inf.start();
    await vi.advanceTimersByTimeAsync(800 + 1600);
    expect(server.requests).toHaveLength(3);
    expect(errors).toHaveLength(3);
    expect(inf.hasSynced()).toBe(false);
    server.state.fail = undefined;
    await vi.advanceTimersByTimeAsync(3200);
    expect(inf.hasSynced()).toBe(true);
    await inf.stop();
  });

  it.each([403, 404])(
    'with `unavailable`, a first list refused with %i: synced and empty, told once, listed again quietly every 10 minutes',
    async (code) => {
      const server = pagedServer([cm('a', '1')]);
      server.state.fail = apiError(code);
      const told: unknown[] = [];
      const { inf, errors, watch } = informer(server, { unavailable: (failure) => told.push(failure) });
      inf.start();
      await inf.whenSynced();
      expect(inf.list()).toEqual([]);
      expect(told).toMatchObject([{ kind: 'terminal', code }]);
      // Not the usual backoff, and not the watchdog either.
      await vi.advanceTimersByTimeAsync(300_000);
      expect(server.requests).toHaveLength(1);
      expect(watch.connections).toHaveLength(0);
      // Still refused ten minutes on: asked again, nothing said.
      await vi.advanceTimersByTimeAsync(300_000);
      expect(server.requests).toHaveLength(2);
      expect(inf.list()).toEqual([]);
      // Granted (or served) since: the next check lists it and watches from there.
      server.state.fail = undefined;
      await vi.advanceTimersByTimeAsync(600_000);
      expect(server.requests).toHaveLength(3);
      expect(inf.list().map((o) => o.metadata?.name)).toEqual(['a']);
      expect(watch.connections).toHaveLength(1);
      expect(errors).toEqual([]);
      expect(told).toHaveLength(1);
      await inf.stop();
    },
  );

  it('with `unavailable`, still retries a list that fails otherwise (503) with the usual backoff', async () => {
    const server = pagedServer([cm('a', '1')]);
    server.state.fail = apiError(503);
    const told: unknown[] = [];
    const { inf, errors, watch } = informer(server, { unavailable: (failure) => told.push(failure) });
    inf.start();
    await vi.advanceTimersByTimeAsync(800);
    expect(inf.hasSynced()).toBe(false);
    server.state.fail = undefined;
    await vi.advanceTimersByTimeAsync(1600);
    expect(inf.hasSynced()).toBe(true);
    expect(errors).toHaveLength(2);
    watch.last().close(apiError(503));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(errors).toHaveLength(3);
    expect(watch.connections).toHaveLength(2);
    expect(told).toEqual([]);
    await inf.stop();
  });

  it.each([403, 404])(
    'with `unavailable`, a watch refused with %i after a list: keeps the list, warns once, asks again every 10 minutes',
    async (code) => {
      const server = pagedServer([cm('a', '1')]);
      const told: unknown[] = [];
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
      const { inf, errors, watch } = informer(server, {
        unavailable: (failure) => told.push(failure),
        logger,
      });
      inf.start();
      await inf.whenSynced();
      await vi.advanceTimersByTimeAsync(0);
      expect(watch.connections).toHaveLength(1);
      const warnings = () => lines.filter((l) => JSON.parse(l).level === 40);
      watch.last().close(apiError(code));
      // Not every 30 s: nothing asked again for ten minutes, the last list kept, one warning.
      await vi.advanceTimersByTimeAsync(599_000);
      expect(watch.connections).toHaveLength(1);
      expect(inf.list().map((o) => o.metadata?.name)).toEqual(['a']);
      expect(errors).toHaveLength(1);
      expect(warnings()).toHaveLength(1);
      expect(warnings()[0]).toContain('refused after it was listed');
      // Still refused: asked again, nothing said.
      await vi.advanceTimersByTimeAsync(1000);
      expect(watch.connections).toHaveLength(2);
      watch.last().close(apiError(code));
      await vi.advanceTimersByTimeAsync(600_000);
      expect(watch.connections).toHaveLength(3);
      expect(errors).toHaveLength(1);
      expect(warnings()).toHaveLength(1);
      // Served again: its events apply, and a later refusal is said again.
      watch.last().emit('MODIFIED', cm('a', '5', { k: 'v' }));
      expect(inf.get('a', 'ns')?.metadata?.resourceVersion).toBe('5');
      watch.last().close(apiError(code));
      await vi.advanceTimersByTimeAsync(0);
      expect(warnings()).toHaveLength(2);
      expect(errors).toHaveLength(2);
      expect(told).toEqual([]);
      await inf.stop();
    },
  );

  it('relists on 410 and reports objects that vanished meanwhile as deleted', async () => {
    const server = pagedServer([cm('a', '1'), cm('b', '2')]);
    const { inf, watch, seen, errors } = await watching(server);
    server.state.objects = [cm('a', '7'), cm('c', '8')];
    server.state.rv = '200';
    watch.last().close(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual([]);
    expect(seen.slice(2)).toEqual(['delete b', 'update a 1->7', 'add c']);
    expect(watch.last().query.resourceVersion).toBe('200');
    await inf.stop();
  });

  it('ignores the AbortError that stop() causes', async () => {
    const server = pagedServer([cm('a', '1')]);
    const { inf, watch, errors } = await watching(server);
    await inf.stop();
    expect(watch.last().closed).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(errors).toEqual([]);
    expect(watch.connections).toHaveLength(1);
  });
});

describe('SupervisedInformer: a watch that had been served, then ended', () => {
  const failure = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

  it('is retried after the first backoff step however many drops came before (an event served it)', async () => {
    const server = pagedServer([cm('a', '1')]);
    const { inf, watch, errors } = await watching(server);
    for (let i = 0; i < 6; i++) {
      watch.last().emit('MODIFIED', cm('a', String(110 + i)));
      watch.last().close(failure());
      await vi.advanceTimersByTimeAsync(799);
      expect(watch.connections).toHaveLength(i + 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(watch.connections).toHaveLength(i + 2);
      expect(watch.last().query.resourceVersion).toBe(String(110 + i));
    }
    // Each drop is still said, and nothing was listed again.
    expect(errors).toHaveLength(6);
    expect(server.requests).toHaveLength(1);
    await inf.stop();
  });

  it('counts as served when open a second or more without events; a shorter one backs off further', async () => {
    const server = pagedServer([cm('a', '1')]);
    const { inf, watch } = await watching(server);
    // Three quick failures in a row: 800, 1600, 3200 ms.
    for (const delay of [800, 1600, 3200]) {
      watch.last().close(failure());
      await vi.advanceTimersByTimeAsync(delay - 1);
      const before = watch.connections.length;
      await vi.advanceTimersByTimeAsync(1);
      expect(watch.connections).toHaveLength(before + 1);
    }
    // This one stays open a second: its drop starts the backoff over.
    await vi.advanceTimersByTimeAsync(1_000);
    watch.last().close(failure());
    const before = watch.connections.length;
    await vi.advanceTimersByTimeAsync(800);
    expect(watch.connections).toHaveLength(before + 1);
    await inf.stop();
  });

  // ListWatch's own handling of clean ends, which the informer relies on (and must not disturb).
  it('is resumed at once when the server ended it, every time', async () => {
    const server = pagedServer([cm('a', '1')]);
    const { inf, watch, errors } = await watching(server);
    for (let i = 0; i < 8; i++) {
      watch.last().emit('MODIFIED', cm('a', String(120 + i)));
      watch.last().close(null);
      await vi.advanceTimersByTimeAsync(0);
      expect(watch.connections).toHaveLength(i + 2);
      expect(watch.last().query.resourceVersion).toBe(String(120 + i));
    }
    expect(errors).toEqual([]);
    expect(server.requests).toHaveLength(1);
    await inf.stop();
  });

  it('is not resumed in a loop when each ends cleanly as soon as it opens, unserved', async () => {
    const server = pagedServer([cm('a', '1')]);
    const { inf, watch } = await watching(server);
    // ListWatch's own delay for clean ends: none for the first, then 1 s, 2 s, 4 s.
    watch.last().close(null);
    await vi.advanceTimersByTimeAsync(0);
    expect(watch.connections).toHaveLength(2);
    for (const delay of [1_000, 2_000, 4_000]) {
      watch.last().close(null);
      const before = watch.connections.length;
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(watch.connections).toHaveLength(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(watch.connections).toHaveLength(before + 1);
    }
    await inf.stop();
  });
});

describe('SupervisedInformer: watchdog', () => {
  it('replaces a list/watch that has gone silent', async () => {
    const server = pagedServer([cm('a', '1')]);
    server.state.hang = true;
    const { inf, errors } = informer(server, { watchdogMs: 60_000 });
    inf.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.requests).toHaveLength(1);
    server.state.hang = false;
    await vi.advanceTimersByTimeAsync(15_000);
    expect(server.requests).toHaveLength(2);
    expect(errors).toHaveLength(1);
    expect(inf.hasSynced()).toBe(true);
    await inf.stop();
  });

  it('leaves a watch alone while it shows signs of life', async () => {
    const server = pagedServer([cm('a', '1')]);
    const { inf, watch } = informer(server, { watchdogMs: 60_000 });
    inf.start();
    await inf.whenSynced();
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(30_000);
      watch.last().emit('BOOKMARK', { metadata: { resourceVersion: String(300 + i) } });
    }
    expect(server.requests).toHaveLength(1);
    expect(watch.connections).toHaveLength(1);
    await inf.stop();
  });
});

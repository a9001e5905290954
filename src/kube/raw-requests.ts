/**
 * Requests to the API server as plain JSON, with client-node's authentication and (shared)
 * connection: any request (`requestRaw`, `requestJson`: the operator's calls, lean-api.ts), one page
 * of a list (`listRaw`), and a whole list streamed item by item (`listStreamed`: the informers).
 *
 * The generated `list*` calls run every item through client-node's ObjectSerializer into typed
 * models. For an informer that converts each item to sockeye's domain type at once, that is work
 * (and garbage) thrown away. Items come back in the watch's form (timestamps are strings), which the
 * converters accept. Errors are ApiExceptions with the status, body and headers, like client-node's.
 */
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import type { ConfigurationOptions } from '@kubernetes/client-node/dist/gen/configuration.js';
import { HttpMethod, RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { type Dispatcher, request } from 'undici';
import { ListSplitter } from './list-splitter.ts';
import type { Page, PageRequest } from './pager.ts';

export { HttpMethod };

export interface RawRequest {
  readonly method?: HttpMethod;
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** Sent as JSON (Content-Type application/json unless `options` set one, e.g. a merge patch). */
  readonly body?: unknown;
  /** client-node's per-call options: their middleware runs on the request (headers, AbortSignal). */
  readonly options?: ConfigurationOptions | undefined;
}

/** An answer of the API server (see sendRaw): its body not read yet. */
export interface RawResponse {
  readonly status: number;
  /** Lower-case names, as Node's HTTP parser gives them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Text or JSON at once (`text()`, `json()`), or chunk by chunk (`for await`). */
  readonly body: Dispatcher.ResponseData['body'];
}

/**
 * One request (see requestRaw); the body not read yet unless the status is not 2xx. Sent with
 * undici's `request`, not `fetch`: the operator makes thousands of these (a first sweep's
 * annotation patches, its Events, its Lease), and fetch's WHATWG Request, Headers, Response and
 * streams cost twice the CPU per call (2,000 patches: 1.3 s of CPU with fetch, 0.7 s with request).
 */
export async function sendRaw(kc: KubeConfig, path: string, raw: RawRequest = {}): Promise<RawResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const url = new URL(cluster.server + path);
  for (const [k, v] of Object.entries(raw.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
  const method = raw.method ?? HttpMethod.GET;
  let ctx = new RequestContext(url.toString(), method);
  ctx.setHeaderParam('Accept', 'application/json');
  // Uncompressed, and said so: the API server gzips any answer over 128 KiB when asked (fetch, used
  // here before, asked by default), and a 20,000-pod list is 68 MB: seconds of CPU on the server and
  // a second inflating it here, to save bandwidth a controller next to its API server does not need.
  // kube-controller-manager and kube-scheduler turn it off for the same reason
  // (kubernetes/kubernetes#80919). `request` does not inflate, so nothing here may ask for gzip.
  ctx.setHeaderParam('Accept-Encoding', 'identity');
  if (raw.body !== undefined) {
    ctx.setHeaderParam('Content-Type', 'application/json');
    ctx.setBody(JSON.stringify(raw.body));
  }
  await kc.applySecurityAuthentication(ctx);
  for (const m of raw.options?.middleware ?? []) ctx = await m.pre(ctx).toPromise();
  const dispatcher = ctx.getDispatcher() as Dispatcher | undefined;
  const signal = ctx.getSignal();
  const body = ctx.getBody();
  const response = await request(ctx.getUrl(), {
    method,
    headers: ctx.getHeaders(),
    ...(typeof body === 'string' ? { body } : {}),
    ...(signal ? { signal } : {}),
    ...(dispatcher ? { dispatcher } : {}),
  });
  const status = response.statusCode;
  if (status < 200 || status > 299) {
    throw new ApiException(
      status,
      `${method} ${path}: HTTP ${status}`,
      await response.body.text(),
      Object.fromEntries(
        Object.entries(response.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
      ),
    );
  }
  return { status, headers: response.headers, body: response.body };
}

/**
 * One request to the API server, the body as text; a status outside 2xx is an ApiException. Built
 * as client-node's generated calls build theirs (a RequestContext, the kubeconfig's authentication,
 * then the options' middleware), so the same options work for both.
 */
export async function requestRaw(kc: KubeConfig, path: string, raw: RawRequest = {}): Promise<string> {
  return (await sendRaw(kc, path, raw)).body.text();
}

/** `requestRaw`, the answer parsed as JSON (plain data: times are strings, as in a watch). */
export async function requestJson<T>(kc: KubeConfig, path: string, request: RawRequest = {}): Promise<T> {
  return JSON.parse(await requestRaw(kc, path, request)) as T;
}

/** A GET of `path` (with `query`), the body as text; a status other than 2xx is an ApiException. */
export function getRaw(kc: KubeConfig, path: string, query: Record<string, string> = {}): Promise<string> {
  return requestRaw(kc, path, { query });
}

export async function listRaw<T>(kc: KubeConfig, path: string, page: PageRequest): Promise<Page<T>> {
  const body = await getRaw(kc, path, {
    limit: String(page.limit),
    ...(page._continue ? { continue: page._continue } : {}),
    ...(page.labelSelector ? { labelSelector: page.labelSelector } : {}),
  });
  const list = JSON.parse(body) as {
    items?: T[];
    metadata?: { resourceVersion?: string; continue?: string };
  };
  // The wire name is `continue`; client-node's models (and Page) call it `_continue`.
  const { resourceVersion, continue: cont } = list.metadata ?? {};
  return {
    items: list.items ?? [],
    metadata: {
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
      ...(cont ? { _continue: cont } : {}),
    },
  };
}

/**
 * A whole list in one request from the API server's watch cache (`resourceVersion=0`, as client-go's
 * informers list first), each item parsed and passed through `each` as the body streams in: memory
 * holds the converted items, never the body or the parsed list (see list-splitter.ts). Each item's
 * `metadata.managedFields` is left out before it is parsed (`[]`): no reader of a streamed list uses it.
 */
export async function listStreamed<T, U>(
  kc: KubeConfig,
  path: string,
  each: (item: T) => U,
  query: Readonly<Record<string, string | undefined>> = {},
): Promise<Page<U>> {
  const response = await sendRaw(kc, path, { query: { ...query, resourceVersion: '0' } });
  const items: U[] = [];
  const splitter = new ListSplitter((text) => items.push(each(JSON.parse(text) as T)), {
    dropManagedFields: true,
  });
  const decoder = new TextDecoder();
  for await (const chunk of response.body as AsyncIterable<Buffer>)
    splitter.push(decoder.decode(chunk, { stream: true }));
  splitter.push(decoder.decode());
  const { resourceVersion } = splitter.end<{ metadata?: { resourceVersion?: string } }>().metadata ?? {};
  return { items, metadata: resourceVersion === undefined ? {} : { resourceVersion } };
}

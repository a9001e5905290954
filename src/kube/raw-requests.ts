/**
 * One page of a list as plain JSON, with client-node's authentication and (shared) connection.
 *
 * The generated `list*` calls run every item through client-node's ObjectSerializer into typed
 * models. For an informer that converts each item to sockeye's domain type at once, that is work
 * (and garbage) thrown away; at 20,000 pods the list's time is mostly the API server's pages (see
 * LIST_PAGE_SIZE in operator.ts), the rest is this. Items come back in the watch's form (timestamps
 * are strings), which the converters accept. Errors are ApiExceptions with the status, body and headers, like client-node's.
 */
import { ApiException, HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch } from 'undici';
import type { Page, PageRequest } from './pager.ts';

/** A GET of `path` (with `query`), the body as text; a status other than 200 is an ApiException. */
export async function getRaw(
  kc: KubeConfig,
  path: string,
  query: Record<string, string> = {},
): Promise<string> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const url = new URL(cluster.server + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const ctx = new RequestContext(url.toString(), HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  const dispatcher = ctx.getDispatcher();
  const response = await fetch(url, {
    headers: { ...ctx.getHeaders(), accept: 'application/json' },
    ...(dispatcher ? { dispatcher } : {}),
  });
  const body = await response.text();
  if (response.status !== 200) {
    throw new ApiException(
      response.status,
      `GET ${path}: HTTP ${response.status}`,
      body,
      Object.fromEntries(response.headers),
    );
  }
  return body;
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

/**
 * Per-request options for client-node's generated API calls. client-node 2.x has no per-call
 * AbortSignal parameter, but its RequestContext carries one (handed to fetch): a middleware sets it,
 * so a request in flight is cancelled when the leader's term ends or a deadline passes.
 */
import type { ConfigurationOptions, RequestContext } from '@kubernetes/client-node';
import { Observable } from '@kubernetes/client-node/dist/gen/rxjsStub.js';

/** `options` (for example a merge-patch header) plus cancellation by `signal`, when there is one. */
export function withSignal(
  signal: AbortSignal | undefined,
  options?: ConfigurationOptions,
): ConfigurationOptions | undefined {
  if (!signal) return options;
  return {
    ...options,
    middleware: [
      ...(options?.middleware ?? []),
      {
        pre: (context: RequestContext) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

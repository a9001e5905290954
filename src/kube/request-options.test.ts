import {
  CoreV1Api,
  createConfiguration,
  type HttpLibrary,
  PatchStrategy,
  type RequestContext,
  ResponseContext,
  SelfDecodingBody,
  ServerConfiguration,
  setHeaderOptions,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { withSignal } from './request-options.ts';

/** A CoreV1Api whose HTTP library keeps the requests it is handed and answers 200 `{}`. */
function capturing() {
  const sent: RequestContext[] = [];
  const httpApi: HttpLibrary = wrapHttpLibrary({
    async send(request) {
      sent.push(request);
      const body = new SelfDecodingBody(Promise.resolve(Buffer.from('{}')));
      return new ResponseContext(200, { 'content-type': 'application/json' }, body);
    },
  });
  const api = new CoreV1Api(
    createConfiguration({ baseServer: new ServerConfiguration('https://127.0.0.1:1', {}), httpApi }),
  );
  return { api, sent };
}

describe('withSignal', () => {
  it('hands the signal to the request, keeping the other options (a merge-patch header)', async () => {
    const { api, sent } = capturing();
    const signal = new AbortController().signal;
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await api.patchNamespacedPod({ name: 'p', namespace: 'n', body: {} }, withSignal(signal, merge));
    expect(sent[0]?.getSignal()).toBe(signal);
    expect(sent[0]?.getHeaders()['Content-Type']).toBe(PatchStrategy.MergePatch);
  });

  it('without a signal returns the options unchanged', () => {
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    expect(withSignal(undefined, merge)).toBe(merge);
    expect(withSignal(undefined)).toBeUndefined();
  });
});

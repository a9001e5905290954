/**
 * For unit tests: a stand-in for a generated client-node API class whose listed methods record the
 * request parameter object they are called with (what the client turns into the path, query and body)
 * and resolve with nothing.
 */
export function recordingApi<Api>(methods: readonly string[]): {
  readonly api: Api;
  readonly calls: { method: string; param: unknown }[];
} {
  const calls: { method: string; param: unknown }[] = [];
  const api = Object.fromEntries(
    methods.map((method) => [
      method,
      async (param: unknown) => {
        calls.push({ method, param });
      },
    ]),
  );
  return { api: api as Api, calls };
}

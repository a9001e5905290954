/**
 * Runs a tool's `body` (the demo, a bench) with its `cleanup` guaranteed: after the body ends or
 * fails, and on Ctrl-C or SIGTERM (then the process exits 130). The cleanup runs once, however many
 * of those happen.
 */
export async function withCleanup<T>(cleanup: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  let cleaning: Promise<void> | undefined;
  const once = () => {
    cleaning ??= cleanup();
    return cleaning;
  };
  const onSignal = () => void once().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await once();
  }
}

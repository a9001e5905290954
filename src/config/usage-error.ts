/**
 * A usage error names the flag, setting or value that is wrong; commands print it in one line and
 * exit 2. It lives with the settings readers (below the CLI), which are the ones that throw it.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

import { basename } from 'node:path';

/**
 * The name the user typed, for every help and usage text: `kubectl sockeye` when kubectl ran us as
 * its plugin (kubectl execs `kubectl-sockeye` from the PATH, which is bin/kubectl-sockeye.js), so that
 * the commands we suggest are ones that work where the user is; `sockeye` otherwise.
 */
export function programName(scriptPath: string | undefined): string {
  const script = basename(scriptPath ?? '').replace(/\.[cm]?[jt]s$/, '');
  return script === 'kubectl-sockeye' ? 'kubectl sockeye' : 'sockeye';
}

import type { ProbeResult } from '../probe/outcome.ts';
import type { ProbeObservation } from './types.ts';

/**
 * What the rules read of one probe result: the address, the outcome and, for an HTTP check (a
 * health-check hop: kube-proxy answers 200 or 503), its status. The operator, the audit and
 * `sockeye probe svc/` all hand results to the rules through this.
 */
export function observation(r: ProbeResult): ProbeObservation {
  const target = { ip: r.target.ip, port: r.target.port };
  if (r.outcome === 'open' && r.app?.kind === 'http')
    return { target, outcome: r.outcome, app: { kind: 'http', status: r.app.status } };
  return { target, outcome: r.outcome };
}

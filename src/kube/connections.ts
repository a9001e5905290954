import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { Agent } from 'undici';

type CreateDispatcher = (cluster: unknown, agentOptions: unknown) => unknown;
/** client-node's `applyHTTPSOptions`: fills a request's TLS material and impersonation header. */
type ApplyHTTPSOptions = (opts: HTTPSOptions) => void;
type HTTPSOptions = Record<string, unknown> & { headers?: Record<string, string> };
/** client-node's private `createDispatcherOptions`: what its `createDispatcher` builds from. */
type CreateDispatcherOptions = (
  cluster: unknown,
  agentOptions: unknown,
) => { type: string; connect?: object };

/**
 * How often the HTTP/2 connection to the API server is asked for a PING; one not answered by the
 * next is dropped, and every request on it fails (and is retried on a new one). A connection whose
 * peer died without a reset (a crashed node, a NAT or load balancer that forgot it) is so noticed
 * within 30 s; undici's default, 60 s, took up to two minutes, during which every watch, list and write
 * waited on it. client-go notices within 45 s (HTTP/2 read-idle 30 s, then a PING with 15 s to answer).
 */
export const API_PING_INTERVAL_MS = 15_000;

/**
 * client-node 2.x builds a new undici Agent for every API call, so every call pays a new TCP and
 * TLS handshake (and re-reads the certificate files: see below). At thousands of calls that churn dominates,
 * for us and for the API server. This keeps one dispatcher per cluster and user, with keep-alive,
 * for the life of the KubeConfig; for a direct connection (no proxy) it is client-node's Agent with
 * the PING interval above. The methods are private in client-node's types, hence the casts; a test
 * pins the behaviour so an upgrade that renames them fails loudly.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as {
    createDispatcher?: CreateDispatcher;
    createDispatcherOptions?: CreateDispatcherOptions;
    applyHTTPSOptions?: ApplyHTTPSOptions;
    applySecurityAuthentication?: (context: unknown) => Promise<void>;
  };
  const {
    createDispatcher: original,
    createDispatcherOptions: options,
    applyHTTPSOptions: applyHTTPS,
    applySecurityAuthentication: secure,
  } = target;
  if (
    typeof original !== 'function' ||
    typeof options !== 'function' ||
    typeof applyHTTPS !== 'function' ||
    typeof secure !== 'function'
  ) {
    throw new Error(
      '@kubernetes/client-node no longer has KubeConfig.createDispatcher(Options), applyHTTPSOptions or applySecurityAuthentication; update shareConnections',
    );
  }
  const keyOf = (cluster: unknown) =>
    `${(cluster as { server?: string } | null)?.server ?? ''}|${kc.getCurrentUser()?.name ?? ''}`;
  const build: CreateDispatcher = (cluster, agentOptions) => {
    const opts = options.call(kc, cluster, agentOptions);
    const h2Options = { pingInterval: API_PING_INTERVAL_MS };
    // The Agent client-node builds for a direct connection, plus the PING interval; for the system's
    // CAs (it would use undici's global dispatcher) one of our own. Proxies stay client-node's.
    if (opts.type === 'agent' && opts.connect) return new Agent({ connect: opts.connect, h2Options });
    if (opts.type === 'none') return new Agent({ h2Options });
    return original.call(kc, cluster, agentOptions);
  };
  const cache = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = keyOf(cluster);
    if (!cache.has(key)) cache.set(key, build(cluster, agentOptions));
    return cache.get(key);
  };
  // client-node's applySecurityAuthentication reads the CA, certificate and key files on every
  // request (three readFileSync: 0.1 ms each call, 0.2 s of a first sweep's 2,000 patches) to hand
  // them to createDispatcher, which above uses them only for a cluster and user's first request. On
  // that path they are read once per cluster and user, as the dispatcher is built once. Other callers
  // of applyHTTPSOptions (applyToHTTPSOptions: the sidecar's requests, which build their TLS options
  // per call and so pick up rotated files) still read them each time. applySecurityAuthentication
  // calls applyHTTPSOptions before its first await, so the flag below marks exactly that call.
  let forDispatcher = false;
  target.applySecurityAuthentication = (context) => {
    forDispatcher = true;
    try {
      return secure.call(kc, context);
    } finally {
      forDispatcher = false;
    }
  };
  /** Per cluster and user: the TLS options, and the headers that come with them, apart. */
  const https = new Map<string, { readonly tls: HTTPSOptions; readonly headers?: Record<string, string> }>();
  target.applyHTTPSOptions = (opts) => {
    if (!forDispatcher) return applyHTTPS.call(kc, opts);
    const key = keyOf(kc.getCurrentCluster());
    let known = https.get(key);
    if (!known) {
      const read: HTTPSOptions = {};
      applyHTTPS.call(kc, read);
      const { headers, ...tls } = read;
      known = { tls, ...(headers ? { headers } : {}) };
      https.set(key, known);
    }
    Object.assign(opts, known.tls);
    // Added to the request's headers, as client-node adds its impersonation header.
    if (known.headers) opts.headers = { ...opts.headers, ...known.headers };
  };
  return kc;
}

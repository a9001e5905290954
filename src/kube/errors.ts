/**
 * One place that reads the errors @kubernetes/client-node throws and says what to do about them.
 *
 * Shapes seen from client-node 2.x:
 * - `ApiException`: `code` (HTTP status), `body` (raw response text: a JSON `Status`), `headers`
 *   (lower-case names, e.g. `retry-after`).
 * - the watch: a plain `Error` with `statusCode`.
 * - the network: undici's `TypeError('fetch failed')` with `cause.code` (ECONNREFUSED, UND_ERR_…).
 * - our own aborts: `AbortError` / `TimeoutError` (DOMException names).
 */

export type KubeErrorClass =
  | {
      readonly kind: 'retryable';
      /** HTTP status, when the server answered. */
      readonly code: number | undefined;
      /** The Status `reason` (`Conflict`, `TooManyRequests`, …) or the network error code. */
      readonly reason: string;
      /** The server's Retry-After, in milliseconds, when it sent one. */
      readonly retryAfterMs: number | undefined;
      readonly message: string;
    }
  | {
      readonly kind: 'terminal';
      readonly code: number | undefined;
      readonly reason: string;
      readonly message: string;
    }
  | {
      /** Cancelled by our own AbortSignal or timeout: neither a failure to report nor one to retry. */
      readonly kind: 'aborted';
      readonly reason: 'AbortError' | 'TimeoutError';
      readonly message: string;
    };

/** The fields of a Kubernetes `Status` that the classification reads. */
interface StatusBody {
  readonly reason?: string;
  readonly message?: string;
  readonly details?: { readonly retryAfterSeconds?: number };
}

const RETRYABLE_STATUS = new Set([408, 409, 429, 500, 502, 503, 504]);

/** undici and Node socket error codes that mean "try again": the API server or the path to it blinked. */
const RETRYABLE_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const STATUS_REASON: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  408: 'Timeout',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The HTTP status of an ApiException (`code`) or a failed watch (`statusCode`). */
export function statusCodeOf(err: unknown): number | undefined {
  if (!isRecord(err)) return undefined;
  const code = err.code ?? err.statusCode;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}

function statusBodyOf(err: Record<string, unknown>): StatusBody | undefined {
  let body = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }
  return isRecord(body) ? (body as StatusBody) : undefined;
}

function headerOf(err: Record<string, unknown>, name: string): string | undefined {
  const headers = err.headers;
  if (!isRecord(headers)) return undefined;
  const value = headers[name] ?? headers[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Parses an HTTP `Retry-After` value (delta-seconds or an HTTP date) into milliseconds from `nowMs`
 * (wall-clock, only used for the date form). Unparseable or negative values give undefined.
 */
/**
 * The longest server-asked delay sockeye honours: the API server asks for seconds; a larger value is
 * a broken proxy or a hostile one, and one above 2^31-1 ms would make Node's timer fire at once (a
 * hot loop). Past it, the per-key backoff takes over.
 */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** A server-asked delay bounded to [0, MAX_RETRY_AFTER_MS]; `undefined` and NaN stay unset. */
export function capRetryAfter(ms: number | undefined): number | undefined {
  if (ms === undefined || Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}

export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

function errorName(err: unknown): string | undefined {
  return isRecord(err) && typeof err.name === 'string' ? err.name : undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** `true` when the error is our own cancellation (`AbortController.abort()`, a timeout signal). */
export function isAbort(err: unknown): boolean {
  const name = errorName(err);
  return name === 'AbortError' || name === 'TimeoutError';
}

/** Reads any error client-node can throw into retryable / terminal / aborted, with a delay hint. */
export function classifyKubeError(err: unknown, nowMs?: number): KubeErrorClass {
  const name = errorName(err);
  if (name === 'AbortError' || name === 'TimeoutError') {
    return { kind: 'aborted', reason: name, message: messageOf(err) };
  }
  const code = statusCodeOf(err);
  if (code !== undefined && isRecord(err)) {
    const status = statusBodyOf(err);
    const reason = status?.reason || STATUS_REASON[code] || `HTTP${code}`;
    const message = status?.message ?? `HTTP ${code}`;
    const headerHint = parseRetryAfter(headerOf(err, 'retry-after'), nowMs);
    const bodySeconds = status?.details?.retryAfterSeconds;
    const retryAfterMs = capRetryAfter(
      headerHint ?? (typeof bodySeconds === 'number' ? bodySeconds * 1000 : undefined),
    );
    if (RETRYABLE_STATUS.has(code) || (code >= 500 && retryAfterMs !== undefined)) {
      return { kind: 'retryable', code, reason, retryAfterMs, message };
    }
    return { kind: 'terminal', code, reason, message };
  }
  const networkCode = networkCodeOf(err);
  if (networkCode !== undefined) {
    // A failed fetch whose cause we do not know is still a transport failure: retry it.
    if (RETRYABLE_NETWORK.has(networkCode) || networkCode === 'fetch failed') {
      return {
        kind: 'retryable',
        code: undefined,
        reason: networkCode,
        retryAfterMs: undefined,
        message: messageOf(err),
      };
    }
    return { kind: 'terminal', code: undefined, reason: networkCode, message: messageOf(err) };
  }
  return { kind: 'terminal', code: undefined, reason: name ?? 'Unknown', message: messageOf(err) };
}

/** The socket/undici error code of a network failure, `'fetch failed'` when undici gave no cause. */
function networkCodeOf(err: unknown): string | undefined {
  if (!isRecord(err)) return undefined;
  const direct = err.code;
  if (typeof direct === 'string' && (RETRYABLE_NETWORK.has(direct) || direct.startsWith('UND_ERR'))) {
    return direct;
  }
  const cause = err.cause;
  if (isRecord(cause)) {
    const inner = networkCodeOf(cause);
    if (inner !== undefined) return inner;
    if (typeof cause.code === 'string') return cause.code;
  }
  if (err instanceof TypeError && err.message === 'fetch failed') return 'fetch failed';
  return undefined;
}

/** 404 from the server. */
export function isNotFound(err: unknown): boolean {
  return statusCodeOf(err) === 404;
}

/** 409 with reason AlreadyExists (a create raced or a retried create had in fact succeeded). */
export function isAlreadyExists(err: unknown): boolean {
  if (statusCodeOf(err) !== 409 || !isRecord(err)) return false;
  return statusBodyOf(err)?.reason === 'AlreadyExists';
}

/** 409 Conflict on an update: the resourceVersion we sent is stale. */
export function isConflict(err: unknown): boolean {
  return statusCodeOf(err) === 409 && !isAlreadyExists(err);
}

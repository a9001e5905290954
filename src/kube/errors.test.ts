import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  classifyKubeError,
  isAlreadyExists,
  isConflict,
  isNotFound,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
} from './errors.ts';

function apiError(code: number, status?: object, headers: Record<string, string> = {}) {
  return new ApiException<string | undefined>(
    code,
    'Unknown API Status Code!',
    status === undefined ? undefined : JSON.stringify(status),
    headers,
  );
}

function fetchFailed(code: string) {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code}`), { code }) });
}

describe('classifyKubeError', () => {
  it.each([
    [409, 'Conflict'],
    [429, 'TooManyRequests'],
    [500, 'InternalError'],
    [503, 'ServiceUnavailable'],
    [504, 'Timeout'],
  ])('retries HTTP %i', (code, reason) => {
    expect(classifyKubeError(apiError(code))).toMatchObject({ kind: 'retryable', code, reason });
  });

  it.each([400, 401, 403, 404, 422])('does not retry HTTP %i', (code) => {
    expect(classifyKubeError(apiError(code)).kind).toBe('terminal');
  });

  it('reads reason and message from the Status body', () => {
    const err = apiError(422, { kind: 'Status', reason: 'Invalid', message: 'note: Too long' });
    expect(classifyKubeError(err)).toEqual({
      kind: 'terminal',
      code: 422,
      reason: 'Invalid',
      message: 'note: Too long',
    });
  });

  it('caps a server-asked delay, so a huge Retry-After never overflows a timer into a hot loop', () => {
    // 2^31 ms and more fire at once in Node's setTimeout.
    expect(classifyKubeError(apiError(429, undefined, { 'retry-after': '2147484' }))).toMatchObject({
      retryAfterMs: MAX_RETRY_AFTER_MS,
    });
    const body = { reason: 'TooManyRequests', details: { retryAfterSeconds: 1e12 } };
    expect(classifyKubeError(apiError(503, body))).toMatchObject({ retryAfterMs: MAX_RETRY_AFTER_MS });
    const negative = { reason: 'TooManyRequests', details: { retryAfterSeconds: -5 } };
    expect(classifyKubeError(apiError(429, negative))).toMatchObject({ retryAfterMs: 0 });
    expect(MAX_RETRY_AFTER_MS).toBeLessThan(2 ** 31 - 1);
  });

  it('honours retry-after from the header, else from the Status details', () => {
    expect(classifyKubeError(apiError(429, undefined, { 'retry-after': '7' }))).toMatchObject({
      retryAfterMs: 7000,
    });
    const body = { reason: 'TooManyRequests', details: { retryAfterSeconds: 3 } };
    expect(classifyKubeError(apiError(429, body))).toMatchObject({ retryAfterMs: 3000 });
    expect(classifyKubeError(apiError(429))).toMatchObject({ retryAfterMs: undefined });
  });

  it('reads the watch error shape (statusCode)', () => {
    const err = Object.assign(new Error('Forbidden'), { statusCode: 403 });
    expect(classifyKubeError(err)).toMatchObject({ kind: 'terminal', code: 403, reason: 'Forbidden' });
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'ETIMEDOUT'])(
    'retries network failure %s',
    (code) => {
      expect(classifyKubeError(fetchFailed(code))).toMatchObject({ kind: 'retryable', reason: code });
    },
  );

  it('retries a fetch failure without a cause', () => {
    expect(classifyKubeError(new TypeError('fetch failed'))).toMatchObject({
      kind: 'retryable',
      reason: 'fetch failed',
    });
  });

  it('sees our own aborts as aborted', () => {
    const abort = new DOMException('This operation was aborted', 'AbortError');
    expect(classifyKubeError(abort)).toMatchObject({ kind: 'aborted', reason: 'AbortError' });
  });

  it('treats unknown errors as terminal', () => {
    expect(classifyKubeError(new RangeError('bug'))).toMatchObject({
      kind: 'terminal',
      reason: 'RangeError',
    });
    expect(classifyKubeError('weird')).toMatchObject({ kind: 'terminal', reason: 'Unknown' });
  });
});

describe('predicates', () => {
  it('tells AlreadyExists from Conflict', () => {
    const exists = apiError(409, { reason: 'AlreadyExists' });
    const conflict = apiError(409, { reason: 'Conflict' });
    expect([isAlreadyExists(exists), isConflict(exists)]).toEqual([true, false]);
    expect([isAlreadyExists(conflict), isConflict(conflict)]).toEqual([false, true]);
    expect(isNotFound(apiError(404))).toBe(true);
    expect(isNotFound(apiError(403))).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

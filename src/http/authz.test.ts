import { describe, expect, it } from 'vitest';
import {
  type AccessReviewResult,
  bearerToken,
  KubeAuthorizer,
  type TokenReviewer,
  type TokenReviewResult,
  type UserInfo,
  verbOf,
} from './authz.ts';

const PROMETHEUS: UserInfo = {
  username: 'system:serviceaccount:monitoring:prometheus',
  uid: 'u-1',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:monitoring', 'system:authenticated'],
  extra: { 'authentication.kubernetes.io/pod-name': ['prometheus-0'] },
};

/** A reviewer over plain data: tokens to users, and the (user, verb path) pairs RBAC allows. */
function fakeReviewer(
  tokens: Record<string, UserInfo>,
  allowed: readonly string[],
  failures: { token?: Error; access?: Error } = {},
) {
  const calls: { kind: 'token' | 'access'; arg: unknown }[] = [];
  const reviewer: TokenReviewer = {
    async reviewToken(token): Promise<TokenReviewResult> {
      calls.push({ kind: 'token', arg: token });
      if (failures.token) throw failures.token;
      const user = tokens[token];
      return user ? { authenticated: true, user } : { authenticated: false, error: 'invalid bearer token' };
    },
    async reviewAccess(user, attributes): Promise<AccessReviewResult> {
      calls.push({ kind: 'access', arg: { user, attributes } });
      if (failures.access) throw failures.access;
      const ok = allowed.includes(`${user.username} ${attributes.verb} ${attributes.path}`);
      return ok ? { allowed: true } : { allowed: false, reason: 'no RBAC policy matched' };
    },
  };
  return { reviewer, calls };
}

function setup(allowed: readonly string[] = [`${PROMETHEUS.username} get /metrics`], failures = {}) {
  let now = 1_000_000;
  const fake = fakeReviewer(
    { 'prom-token': PROMETHEUS, 'other-token': { username: 'bob' } },
    allowed,
    failures,
  );
  const authorizer = new KubeAuthorizer({
    reviewer: fake.reviewer,
    now: () => now,
    allowedTtlMs: 10_000,
    deniedTtlMs: 5_000,
    maxEntries: 3,
  });
  return { authorizer, calls: fake.calls, advance: (ms: number) => (now += ms) };
}

describe('KubeAuthorizer', () => {
  it.each([
    ['no token', undefined, '/metrics', { kind: 'unauthenticated', reason: 'no bearer token' }],
    ['an empty token', '', '/metrics', { kind: 'unauthenticated', reason: 'no bearer token' }],
    [
      'a token the API server rejects',
      'forged',
      '/metrics',
      { kind: 'unauthenticated', reason: 'invalid bearer token' },
    ],
    ['a token RBAC allows', 'prom-token', '/metrics', { kind: 'allowed', user: PROMETHEUS.username }],
    [
      'a token RBAC allows elsewhere only',
      'prom-token',
      '/sockeye/v1/findings',
      { kind: 'forbidden', user: PROMETHEUS.username, reason: 'no RBAC policy matched' },
    ],
    [
      'a valid token without a grant',
      'other-token',
      '/metrics',
      { kind: 'forbidden', user: 'bob', reason: 'no RBAC policy matched' },
    ],
  ] as const)('%s', async (_what, token, path, decision) => {
    const { authorizer } = setup();
    expect(await authorizer.decide(token, path)).toEqual(decision);
  });

  it('asks no API without a token', async () => {
    const { authorizer, calls } = setup();
    await authorizer.decide(undefined, '/metrics');
    expect(calls).toEqual([]);
  });

  it('reviews the whole user and the non-resource URL with the verb', async () => {
    const { authorizer, calls } = setup();
    await authorizer.decide('prom-token', '/sockeye/v1/findings', 'get');
    expect(calls).toEqual([
      { kind: 'token', arg: 'prom-token' },
      {
        kind: 'access',
        arg: { user: PROMETHEUS, attributes: { path: '/sockeye/v1/findings', verb: 'get' } },
      },
    ]);
  });

  it('reuses an allowed decision for 10 s, then asks again', async () => {
    const { authorizer, calls, advance } = setup();
    await authorizer.decide('prom-token', '/metrics');
    advance(9_999);
    expect((await authorizer.decide('prom-token', '/metrics')).kind).toBe('allowed');
    expect(calls).toHaveLength(2);
    advance(1);
    expect((await authorizer.decide('prom-token', '/metrics')).kind).toBe('allowed');
    expect(calls).toHaveLength(4);
  });

  it('reuses a denial for 5 s only', async () => {
    const { authorizer, calls, advance } = setup();
    await authorizer.decide('other-token', '/metrics');
    await authorizer.decide('forged', '/metrics');
    advance(4_999);
    await authorizer.decide('other-token', '/metrics');
    await authorizer.decide('forged', '/metrics');
    expect(calls).toHaveLength(3);
    advance(1);
    await authorizer.decide('other-token', '/metrics');
    await authorizer.decide('forged', '/metrics');
    expect(calls).toHaveLength(6);
  });

  it('keys the cache by token and path: another path is another review', async () => {
    const { authorizer, calls } = setup();
    await authorizer.decide('prom-token', '/metrics');
    await authorizer.decide('prom-token', '/sockeye/v1/findings');
    await authorizer.decide('other-token', '/metrics');
    expect(calls.filter((c) => c.kind === 'token')).toHaveLength(3);
  });

  it('shares one review between concurrent requests with one token', async () => {
    const { authorizer, calls } = setup();
    const decisions = await Promise.all([1, 2, 3].map(() => authorizer.decide('prom-token', '/metrics')));
    expect(decisions.map((d) => d.kind)).toEqual(['allowed', 'allowed', 'allowed']);
    expect(calls).toHaveLength(2);
  });

  it('stays within its bound, dropping the oldest decisions', async () => {
    const { authorizer, calls } = setup();
    for (const path of ['/a', '/b', '/c', '/d', '/e']) await authorizer.decide('prom-token', path);
    expect(authorizer.cached).toBe(3);
    calls.length = 0;
    await authorizer.decide('prom-token', '/e');
    expect(calls).toEqual([]);
    await authorizer.decide('prom-token', '/a');
    expect(calls).toHaveLength(2);
  });

  it.each([
    ['TokenReview', { token: new Error('connect ECONNREFUSED') }, 'TokenReview failed: connect ECONNREFUSED'],
    ['SubjectAccessReview', { access: new Error('503') }, 'SubjectAccessReview failed: 503'],
  ])('answers unavailable when the %s call fails, and does not cache it', async (_what, failures, reason) => {
    const { authorizer, calls } = setup(undefined, failures);
    expect(await authorizer.decide('prom-token', '/metrics')).toEqual({ kind: 'unavailable', reason });
    const before = calls.length;
    await authorizer.decide('prom-token', '/metrics');
    expect(calls.length).toBeGreaterThan(before);
    expect(authorizer.cached).toBe(0);
  });
});

describe('bearerToken', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['Basic dXNlcjpwYXNz', undefined],
    ['Bearer', undefined],
    ['Bearer abc.def', 'abc.def'],
    ['bearer  abc ', 'abc'],
    ['Bearer a b', undefined],
  ])('%j → %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});

describe('verbOf', () => {
  it.each([
    ['GET', 'get'],
    ['HEAD', 'get'],
    ['POST', 'create'],
    ['DELETE', 'delete'],
  ])('%s → %s', (method, verb) => {
    expect(verbOf(method)).toBe(verb);
  });
});

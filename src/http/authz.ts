/**
 * Kubernetes authentication and authorization of HTTP requests, as controller-runtime's secure metrics
 * serving (`filters.WithAuthenticationAndAuthorization`) and kube-rbac-proxy do: the bearer token goes
 * to a TokenReview, the user it names to a SubjectAccessReview for the non-resource URL (`get /metrics`),
 * so `kubectl auth can-i get /metrics --as=...` and a ClusterRole with `nonResourceURLs` decide.
 *
 * Decisions are cached per token and path for a short time (allowed longer than denied, so a freshly
 * granted ClusterRole takes effect soon), in a bounded map keyed by the token's SHA-256, never the token.
 * Concurrent requests with one token share one review. An API error is not cached and answers 503.
 * The API calls are injected (`TokenReviewer`), so the logic here is tested on plain data.
 */
import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../log.ts';

/** Who a token belongs to, as a TokenReview says. */
export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

export type TokenReviewResult =
  | { readonly authenticated: true; readonly user: UserInfo }
  | { readonly authenticated: false; readonly error?: string };

export interface AccessReviewResult {
  readonly allowed: boolean;
  readonly reason?: string;
}

/** The two API calls the authorizer makes (`kubeReviewer` binds them to client-node). */
export interface TokenReviewer {
  reviewToken(token: string): Promise<TokenReviewResult>;
  /** A SubjectAccessReview of `verb` on the non-resource URL `path` for `user`. */
  reviewAccess(user: UserInfo, attributes: { path: string; verb: string }): Promise<AccessReviewResult>;
}

export type AuthDecision =
  | { readonly kind: 'allowed'; readonly user: string }
  | { readonly kind: 'unauthenticated'; readonly reason: string }
  | { readonly kind: 'forbidden'; readonly user: string; readonly reason: string }
  | { readonly kind: 'unavailable'; readonly reason: string };

export interface AuthorizerOptions {
  readonly reviewer: TokenReviewer;
  /** Milliseconds; injected so tests move time. */
  readonly now: () => number;
  /** How long an allowed decision is reused (default 10 s). */
  readonly allowedTtlMs?: number;
  /** How long a 401 or 403 is reused (default 5 s). */
  readonly deniedTtlMs?: number;
  /** Decisions kept at most; the oldest go first (default 1024). */
  readonly maxEntries?: number;
}

interface Entry {
  readonly decision: Promise<AuthDecision>;
  /** Set once the decision is known; until then the entry is in flight. */
  expiresAt: number;
}

const DEFAULTS = { allowedTtlMs: 10_000, deniedTtlMs: 5_000, maxEntries: 1024 } as const;

export class KubeAuthorizer {
  readonly #options: Required<AuthorizerOptions>;
  readonly #cache = new Map<string, Entry>();
  /** API round trips made, for tests and the curious. */
  reviews = 0;

  constructor(options: AuthorizerOptions) {
    this.#options = { ...DEFAULTS, ...options };
  }

  get cached(): number {
    return this.#cache.size;
  }

  /** May the bearer of `token` `verb` the non-resource URL `path`? */
  decide(token: string | undefined, path: string, verb = 'get'): Promise<AuthDecision> {
    if (token === undefined || token === '') {
      return Promise.resolve({ kind: 'unauthenticated', reason: 'no bearer token' });
    }
    const key = `${createHash('sha256').update(token).digest('hex')} ${verb} ${path}`;
    const now = this.#options.now();
    const hit = this.#cache.get(key);
    if (hit && (hit.expiresAt === Number.POSITIVE_INFINITY || hit.expiresAt > now)) return hit.decision;
    if (hit) this.#cache.delete(key);
    const entry: Entry = { decision: this.#review(token, path, verb), expiresAt: Number.POSITIVE_INFINITY };
    this.#cache.set(key, entry);
    this.#evict();
    void entry.decision.then((decision) => {
      if (decision.kind === 'unavailable') {
        if (this.#cache.get(key) === entry) this.#cache.delete(key);
        return;
      }
      entry.expiresAt =
        this.#options.now() +
        (decision.kind === 'allowed' ? this.#options.allowedTtlMs : this.#options.deniedTtlMs);
    });
    return entry.decision;
  }

  async #review(token: string, path: string, verb: string): Promise<AuthDecision> {
    let user: UserInfo;
    try {
      this.reviews++;
      const review = await this.#options.reviewer.reviewToken(token);
      if (!review.authenticated) {
        return { kind: 'unauthenticated', reason: review.error || 'token not authenticated' };
      }
      user = review.user;
    } catch (err) {
      return { kind: 'unavailable', reason: `TokenReview failed: ${messageOf(err)}` };
    }
    try {
      this.reviews++;
      const access = await this.#options.reviewer.reviewAccess(user, { path, verb });
      if (access.allowed) return { kind: 'allowed', user: user.username };
      return { kind: 'forbidden', user: user.username, reason: access.reason ?? '' };
    } catch (err) {
      return { kind: 'unavailable', reason: `SubjectAccessReview failed: ${messageOf(err)}` };
    }
  }

  /** Drops expired entries, then the oldest, until the cache is within its bound. */
  #evict(): void {
    if (this.#cache.size <= this.#options.maxEntries) return;
    const now = this.#options.now();
    for (const [key, entry] of this.#cache) {
      if (entry.expiresAt <= now) this.#cache.delete(key);
    }
    for (const key of this.#cache.keys()) {
      if (this.#cache.size <= this.#options.maxEntries) break;
      this.#cache.delete(key);
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The token of `Authorization: Bearer TOKEN`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** The Kubernetes verb of an HTTP method on a non-resource URL (kube-rbac-proxy's mapping). */
export function verbOf(method: string): string {
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return method.toLowerCase();
  }
}

const STATUS: Record<Exclude<AuthDecision['kind'], 'allowed'>, number> = {
  unauthenticated: 401,
  forbidden: 403,
  unavailable: 503,
};

/** Express middleware: 401 without a valid token, 403 when RBAC says no, 503 when the API cannot say. */
export function requireKubeAuth(authorizer: KubeAuthorizer, logger: Logger): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const decision = await authorizer.decide(
      bearerToken(req.headers.authorization),
      req.path,
      verbOf(req.method),
    );
    if (decision.kind === 'allowed') {
      next();
      return;
    }
    if (decision.kind === 'unavailable') logger.warn({ reason: decision.reason }, 'cannot authorize request');
    else logger.debug({ path: req.path, ...decision }, 'request refused');
    if (decision.kind === 'unauthenticated') res.set('WWW-Authenticate', 'Bearer');
    const message =
      decision.kind === 'forbidden'
        ? `${decision.user} may not ${verbOf(req.method)} ${req.path}`
        : decision.kind === 'unauthenticated'
          ? 'a valid Kubernetes bearer token is required'
          : 'cannot check the token with the API server';
    res.status(STATUS[decision.kind]).json({ error: message });
  };
}

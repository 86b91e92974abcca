import { createSecretKey, KeyObject } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, type JWSHeaderParameters } from 'jose';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import passport from 'passport';
import { Strategy as JwtStrategy, type StrategyOptionsWithoutRequest } from 'passport-jwt';
import { z } from 'zod';
import { ALL_TENANTS, tenantsScope, type TenantScope } from '../db/tenant-scope.js';
import { AppError, forbidden } from '../errors.js';

/** Roles: `service` (SMS Agent, Collections Monitor, our own workers) and `manager` (people who review). */
export const ROLES = ['service', 'manager'] as const;
export type Role = (typeof ROLES)[number];

declare global {
  namespace Express {
    /** `req.user`, set by the authenticator on every route that needs a token (passport's type, made ours). */
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends Principal {}
  }
}

export interface Principal {
  subject: string;
  role: Role;
  /** The tenants this token sees and acts for (docs/auth.md#scopes). */
  scope: TenantScope;
}

/** Our claims, at the top of the token or (Supabase) in `app_metadata`, which only the server side can write. */
const appClaims = z.object({
  role: z.string().optional(),
  tenants: z.array(z.string().min(1).max(200)).min(1).max(1000).optional(),
  org: z.string().min(1).max(200).optional(),
});
const tokenClaims = appClaims.extend({
  sub: z.string().min(1),
  exp: z.number(),
  iat: z.number().optional(),
  app_metadata: appClaims.optional(),
});
type AppClaims = z.infer<typeof appClaims>;

/** `app_metadata.<name>` when the token has it, else the top-level claim (Supabase's top-level `role` is its own: `authenticated`). */
function readClaims(payload: z.infer<typeof tokenClaims>): AppClaims {
  const meta = payload.app_metadata ?? {};
  return { role: meta.role ?? payload.role, tenants: meta.tenants ?? payload.tenants, org: meta.org ?? payload.org };
}

/**
 * A token's scope. `tenants` names them; `org` must be this deployment's ORG_ID and, alone, means all of
 * its tenants (with `tenants` too, those tenants only). With neither, a service sees all tenants (it is a
 * machine we configure), and a manager is refused: a collections agency must not show one client's
 * debtors to another client's staff because a token forgot a claim.
 */
export function scopeOf(role: Role, claims: Pick<AppClaims, 'tenants' | 'org'>, orgId: string | undefined): TenantScope {
  if (claims.org !== undefined && claims.org !== orgId) throw forbidden('forbidden_scope', 'the token is for another organisation');
  if (claims.tenants) return tenantsScope(claims.tenants);
  if (claims.org !== undefined || role === 'service') return ALL_TENANTS;
  throw forbidden('forbidden_scope', 'a manager token must carry a tenants or org claim');
}

/**
 * A token that never expires, or lives longer than `maxAgeMs`, is refused: a leaked one would open the API
 * for good. The lifetime is measured from `iat` when there is one, and from now in any case (an `iat` in
 * the future does not buy a longer life).
 */
export function withinMaxAge(payload: { exp?: number; iat?: number }, maxAgeMs: number, nowMs = Date.now()): boolean {
  if (payload.exp === undefined) return false;
  const expMs = payload.exp * 1_000;
  if (expMs - nowMs > maxAgeMs) return false;
  return payload.iat === undefined || expMs - payload.iat * 1_000 <= maxAgeMs;
}

export interface TokenOptions {
  audience?: string;
  issuer?: string;
  tenants?: string[];
  org?: string;
}

/** An HS256 token (development, tests, our own outbound calls). */
export function signToken(
  secret: string,
  role: Role,
  subject: string,
  expiresIn: jwt.SignOptions['expiresIn'] = '12h',
  options: TokenOptions = {},
) {
  const { audience, issuer, tenants, org } = options;
  return jwt.sign({ role, ...(tenants ? { tenants } : {}), ...(org ? { org } : {}) }, secret, {
    algorithm: 'HS256',
    subject,
    expiresIn,
    ...(audience ? { audience } : {}),
    ...(issuer ? { issuer } : {}),
  });
}

export interface AuthOptions {
  /** JWT_SECRET: HS256 tokens. */
  secret: string;
  /** JWT_MAX_AGE. */
  maxAgeMs: number;
  /** JWT_JWKS_URL: RS256 and ES256 tokens, verified with the key its `kid` names. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** ORG_ID: the only `org` a token may carry. */
  orgId?: string;
  /** How soon an unknown `kid` may fetch the key set again (jose's cooldown, 30 s by default). */
  jwksCooldownMs?: number;
}

const unauthorized = () => new AppError('unauthorized', 'a valid bearer token is required', 401);
const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** Distinct tokens remembered as verified: the services' few, and one per signed-in manager. */
const VERIFIED_TOKENS_KEPT = 1_000;

/**
 * Verifies the bearer token (HS256 with JWT_SECRET; RS256/ES256 against JWT_JWKS_URL), then `iss`, `aud`,
 * `exp`, JWT_MAX_AGE, the role and the scope. The principal is `req.user`. Errors in our one format.
 *
 * passport-jwt does the bearer extraction and the verification (jsonwebtoken: synchronous, ~25 µs an HS256
 * token here, the token of every service call). The key comes from `keyFor`: the secret for HS256, and for
 * RS256/ES256 the key its `kid` names in the set jose fetches and caches (rotation: an unknown `kid` fetches
 * the set again, at most once per cooldown).
 */
export function createAuthenticator(options: AuthOptions): RequestHandler {
  // A KeyObject made once: given the string, jsonwebtoken rebuilds one on every request.
  const secret = createSecretKey(Buffer.from(options.secret, 'utf8'));
  const jwks = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: options.jwksCooldownMs ?? 30_000, timeoutDuration: 5_000 })
    : undefined;

  /** The verification key for this token's header; an AppError when there is none (401) or the set cannot be read (503). */
  async function keyFor(token: string): Promise<KeyObject> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw unauthorized();
    }
    if (header.alg === 'HS256') return secret;
    if (!jwks || (header.alg !== 'RS256' && header.alg !== 'ES256')) throw unauthorized();
    try {
      const key = await jwks(header as JWSHeaderParameters, { payload: '', signature: '' } as never);
      return key instanceof KeyObject ? key : KeyObject.from(key as CryptoKey);
    } catch (error) {
      throw keysUnavailable(error) ? new AppError('auth_unavailable', 'the signing keys cannot be fetched now; try again', 503, true) : unauthorized();
    }
  }

  /** Each verified principal's `exp` (seconds), for the cache of verified tokens below. */
  const expiries = new WeakMap<Principal, number>();

  /** Our claims, once the signature, `iss`, `aud` and `exp` held. */
  function principalOfPayload(payload: unknown): Principal {
    const parsed = tokenClaims.safeParse(payload);
    if (!parsed.success || !withinMaxAge(parsed.data, options.maxAgeMs)) throw unauthorized();
    const claims = readClaims(parsed.data);
    if (!ROLES.includes(claims.role as Role)) throw forbidden('forbidden_role', 'the token carries no role of this API (service or manager)');
    const role = claims.role as Role;
    const principal: Principal = Object.freeze({ subject: parsed.data.sub, role, scope: scopeOf(role, claims, options.orgId) });
    expiries.set(principal, parsed.data.exp);
    return principal;
  }

  /**
   * A service sends the same token with every call until it expires, and verifying it (passport, jsonwebtoken,
   * an HMAC, the claims) is a measurable part of an event's CPU: an HS256 token that verified is remembered, by
   * its exact text, until its `exp` (as jsonwebtoken counts it: whole seconds). Everything else the check
   * decides is a function of the token and the configuration, and JWT_MAX_AGE only gets easier to meet as
   * time passes. Refused tokens are never remembered, nor tokens of the key set: a key retired from it must
   * stop its tokens at the next fetch.
   */
  const verified = new LRUCache<string, { principal: Principal; exp: number }>({ max: VERIFIED_TOKENS_KEPT });
  const remembered = (token: string | undefined): Principal | null => {
    const entry = token === undefined ? undefined : verified.get(token);
    if (!entry) return null;
    if (Math.floor(Date.now() / 1_000) < entry.exp) return entry.principal;
    verified.delete(token!);
    return null;
  };
  const remember = (token: string | undefined, principal: Principal) => {
    const exp = expiries.get(principal);
    if (token === undefined || exp === undefined || decodeProtectedHeader(token).alg !== 'HS256') return;
    verified.set(token, { principal, exp });
  };

  const authenticator = new passport.Passport();
  authenticator.use(
    new JwtStrategy(
      {
        jwtFromRequest: (req: Request) => BEARER.exec(req.headers.authorization ?? '')?.[1] ?? null,
        secretOrKeyProvider: (_req: Request, token: string, done: (error: unknown, key?: KeyObject) => void) => {
          keyFor(token).then((key) => done(null, key), (error: unknown) => done(error));
        },
        // Each key is used only for its own kind of algorithm (jsonwebtoken refuses an HS256 token with a public key).
        algorithms: ['HS256', 'RS256', 'ES256'],
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.audience ? { audience: options.audience } : {}),
      } as StrategyOptionsWithoutRequest,
      (payload: unknown, done: (error: unknown, user?: Principal | false) => void) => {
        try {
          done(null, principalOfPayload(payload));
        } catch (error) {
          // A refusal we decided (unauthorized, forbidden_role, forbidden_scope) keeps its status and code.
          done(error);
        }
      },
    ),
  );
  const initialize = authenticator.initialize();
  return (req: Request, res: Response, next: NextFunction) => {
    const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
    const known = remembered(token);
    if (known) {
      req.user = known;
      return next();
    }
    initialize(req, res, () => {
      authenticator.authenticate('jwt', { session: false }, (error: unknown, user: Principal | false, failure: unknown) => {
        if (error) return next(error);
        // passport-jwt reports a key it could not get as a failure: a key set that cannot be read is a 503, not a 401.
        if (!user) return next(failure instanceof AppError && failure.status === 503 ? failure : unauthorized());
        remember(token, user);
        req.user = user;
        next();
      })(req, res, next);
    });
  };
}

/**
 * The key set could not be read (down, slow, not a key set): not the caller's fault, so not a 401. jose
 * throws a token's faults as specific errors, and a key-set answer that is not 200 or not JSON as a bare
 * JOSEError; a network failure is not a JOSEError at all.
 */
function keysUnavailable(error: unknown) {
  if (!(error instanceof joseErrors.JOSEError)) return true;
  return error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid || error.code === joseErrors.JOSEError.code;
}

export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    const principal = req.user;
    if (!principal || !roles.includes(principal.role)) {
      return next(new AppError('forbidden_role', `this needs the role ${roles.join(' or ')}`, 403));
    }
    next();
  };
}

export function principalOf(req: Request): Principal {
  return req.user!;
}

import { createSecretKey } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { ALL_TENANTS, tenantsScope, type TenantScope } from '../db/tenant-scope.js';
import { AppError, forbidden } from '../errors.js';

/** Roles: `service` (SMS Agent, Collections Monitor, our own workers) and `manager` (people who review). */
export const ROLES = ['service', 'manager'] as const;
export type Role = (typeof ROLES)[number];

declare global {
  namespace Express {
    interface Request {
      /** Set by the authenticator on every route that needs a token. */
      user?: Principal;
    }
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

/**
 * Verifies the bearer token (HS256 with JWT_SECRET; RS256/ES256 against JWT_JWKS_URL), then `iss`, `aud`,
 * `exp`, JWT_MAX_AGE, the role and the scope. The principal is `req.user`. Errors in our one format.
 */
export function createAuthenticator(options: AuthOptions): RequestHandler {
  // A KeyObject made once: given the string, jsonwebtoken rebuilds one on every request.
  const secret = createSecretKey(Buffer.from(options.secret, 'utf8'));
  const jwks = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: options.jwksCooldownMs ?? 30_000, timeoutDuration: 5_000 })
    : undefined;
  const expected = { issuer: options.issuer, audience: options.audience };

  /**
   * HS256 through jsonwebtoken: synchronous, ~25 µs a token here against 100–200 µs for jose's WebCrypto
   * HMAC, and it is the token of every service call. RS256/ES256 through jose, which fetches the key set.
   */
  async function verifiedPayload(token: string): Promise<unknown> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw unauthorized();
    }
    if (alg === 'HS256') {
      try {
        return jwt.verify(token, secret as unknown as string, { algorithms: ['HS256'], ...expected });
      } catch {
        throw unauthorized();
      }
    }
    if (!jwks) throw unauthorized();
    try {
      return (await jwtVerify(token, jwks, { algorithms: ['RS256', 'ES256'], ...expected, requiredClaims: ['exp', 'sub'] })).payload;
    } catch (error) {
      throw keysUnavailable(error) ? new AppError('auth_unavailable', 'the signing keys cannot be fetched now; try again', 503, true) : unauthorized();
    }
  }

  async function principalOfToken(token: string): Promise<Principal> {
    const payload = await verifiedPayload(token);
    const parsed = tokenClaims.safeParse(payload);
    if (!parsed.success || !withinMaxAge(parsed.data, options.maxAgeMs)) throw unauthorized();
    const claims = readClaims(parsed.data);
    if (!ROLES.includes(claims.role as Role)) throw forbidden('forbidden_role', 'the token carries no role of this API (service or manager)');
    const role = claims.role as Role;
    return { subject: parsed.data.sub, role, scope: scopeOf(role, claims, options.orgId) };
  }

  return (req: Request, _res: Response, next: NextFunction) => {
    const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return next(unauthorized());
    principalOfToken(token).then(
      (principal) => {
        req.user = principal;
        next();
      },
      next,
    );
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

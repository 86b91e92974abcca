import { createSecretKey } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import jwt from 'jsonwebtoken';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { z } from 'zod';
import { AppError } from '../errors.js';

/** Roles: `service` (SMS Agent, Collections Monitor, our own workers) and `manager` (people who review). */
export const ROLES = ['service', 'manager'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  subject: string;
  role: Role;
}

const claims = z.object({
  sub: z.string().min(1),
  role: z.enum(ROLES),
  exp: z.number().optional(),
  iat: z.number().optional(),
});

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

export function signToken(
  secret: string,
  role: Role,
  subject: string,
  expiresIn: jwt.SignOptions['expiresIn'] = '12h',
  options: { audience?: string } = {},
) {
  return jwt.sign({ role }, secret, { algorithm: 'HS256', subject, expiresIn, ...(options.audience ? { audience: options.audience } : {}) });
}

/** Verifies HS256 bearer tokens; the principal is `req.user`. Errors in our one format. */
export function createAuthenticator(secret: string, options: { maxAgeMs: number }): RequestHandler {
  const authenticator = new passport.Passport();
  authenticator.use(
    new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        // A KeyObject made once: given the string, jsonwebtoken rebuilds one on every request.
        secretOrKey: createSecretKey(Buffer.from(secret, 'utf8')) as unknown as string,
        algorithms: ['HS256'],
      },
      (payload: unknown, done: (error: unknown, user?: Principal | false) => void) => {
        const parsed = claims.safeParse(payload);
        const accepted = parsed.success && withinMaxAge(parsed.data, options.maxAgeMs);
        done(null, accepted ? { subject: parsed.data.sub, role: parsed.data.role } : false);
      },
    ),
  );
  const middleware = authenticator.initialize();
  return (req: Request, res: Response, next: NextFunction) => {
    middleware(req, res, () => {
      authenticator.authenticate('jwt', { session: false }, (error: unknown, user: Principal | false) => {
        if (error) return next(error);
        if (!user) return next(new AppError('unauthorized', 'a valid bearer token is required', 401));
        req.user = user;
        next();
      })(req, res, next);
    });
  };
}

export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    const principal = req.user as Principal | undefined;
    if (!principal || !roles.includes(principal.role)) {
      return next(new AppError('forbidden_role', `this needs the role ${roles.join(' or ')}`, 403));
    }
    next();
  };
}

export function principalOf(req: Request): Principal {
  return req.user as Principal;
}

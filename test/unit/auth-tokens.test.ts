import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import express, { type Express } from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { createAuthenticator, signToken, type AuthOptions } from '../../src/http/auth.js';
import { createErrorHandler } from '../../src/http/errors.js';
import { createLogger } from '../../src/logger.js';
import { newSigningKey, signWith, startJwksServer, type JwksServer, type SigningKey } from '../helpers/jwks.js';

/**
 * The authenticator alone, against a real JWKS served over HTTP: HS256 and Supabase's RS256/ES256 side by
 * side, iss/aud, key rotation, Supabase's app_metadata, and the scope a token's claims give.
 */

const SECRET = 'auth-unit-test-secret-0123456789abcdef0123';
const ISSUER = 'https://project.supabase.co/auth/v1';
const AUDIENCE = 'authenticated';
const ORG = 'acme-collections';

let jwks: JwksServer;
let rsa: SigningKey;
let ec: SigningKey;

beforeAll(async () => {
  rsa = await newSigningKey('RS256', 'rsa-1');
  ec = await newSigningKey('ES256', 'ec-1');
  jwks = await startJwksServer([rsa, ec]);
});
afterAll(() => jwks.close());

/** An app whose one route answers with the principal the authenticator made. */
function appWith(options: Partial<AuthOptions> = {}): Express {
  const app = express();
  app.use(createAuthenticator({ secret: SECRET, maxAgeMs: 86_400_000, jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, orgId: ORG, ...options }));
  app.get('/whoami', (req, res) => {
    res.json(req.user);
  });
  app.use(createErrorHandler(createLogger({ level: 'silent' })));
  return app;
}

const call = (app: Express, token: string) => request(app).get('/whoami').set('Authorization', `Bearer ${token}`);
const issued = { issuer: ISSUER, audience: AUDIENCE };

describe('asymmetric tokens from JWT_JWKS_URL', () => {
  it('when an RS256 or an ES256 token names a published kid, then it is accepted with its role and scope', async () => {
    const app = appWith();
    for (const key of [rsa, ec]) {
      const response = await call(app, await signWith(key, { sub: `user-${key.alg}`, role: 'manager', tenants: ['t-1', 't-2'] }, issued));
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ subject: `user-${key.alg}`, role: 'manager', scope: { all: false, tenants: ['t-1', 't-2'] } });
    }
  });

  it('when the keys rotate, then a token with the new kid fetches the set again, and a known kid does not', async () => {
    const app = appWith({ jwksCooldownMs: 0 });
    await call(app, await signWith(rsa, { sub: 's', role: 'service' }, issued)).expect(200);
    const before = jwks.fetches;
    await call(app, await signWith(rsa, { sub: 's', role: 'service' }, issued)).expect(200);
    expect(jwks.fetches).toBe(before); // cached

    const rotated = await newSigningKey('RS256', 'rsa-2');
    jwks.publish([rotated, ec]);
    try {
      await call(app, await signWith(rotated, { sub: 's', role: 'service' }, issued)).expect(200);
      expect(jwks.fetches).toBe(before + 1);
      // The retired key is gone from the set that was just fetched.
      const retired = await call(app, await signWith(rsa, { sub: 's', role: 'service' }, issued));
      expect(retired.status).toBe(401);
    } finally {
      jwks.publish([rsa, ec]);
    }
  });

  it('when a kid is unknown even after a fetch, or the signature is by another key under a published kid, then 401 with WWW-Authenticate', async () => {
    const app = appWith({ jwksCooldownMs: 0 });
    const stranger = await newSigningKey('ES256', 'nobody');
    const impostor = { ...(await newSigningKey('RS256', rsa.kid)) };
    for (const token of [
      await signWith(stranger, { sub: 'x', role: 'manager', org: ORG }, issued),
      await signWith(impostor, { sub: 'x', role: 'manager', org: ORG }, issued),
    ]) {
      const response = await call(app, token);
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.body.error.code).toBe('unauthorized');
    }
  });

  it('when iss or aud is wrong or missing, then 401', async () => {
    const app = appWith();
    const claims = { sub: 'x', role: 'manager', org: ORG };
    for (const options of [
      { issuer: 'https://elsewhere.supabase.co/auth/v1', audience: AUDIENCE },
      { issuer: ISSUER, audience: 'anon' },
      { issuer: ISSUER },
      { audience: AUDIENCE },
    ]) {
      const response = await call(app, await signWith(rsa, claims, options));
      expect({ options, status: response.status, code: response.body.error?.code }).toEqual({ options, status: 401, code: 'unauthorized' });
    }
  });

  it('when the key set cannot be fetched, then 503 auth_unavailable (the token may be fine), not a 401', async () => {
    const app = appWith({ jwksCooldownMs: 0 });
    const fresh = await newSigningKey('ES256', 'not-cached-yet');
    jwks.down = true;
    try {
      const response = await call(app, await signWith(fresh, { sub: 'x', role: 'service' }, issued));
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe('auth_unavailable');
    } finally {
      jwks.down = false;
    }
  });

  it('when an RS256 token is mangled (payload or signature not base64url JSON), then 401, not 503', async () => {
    const app = appWith({ jwksCooldownMs: 0 });
    const [header, payload, signature] = (await signWith(rsa, { sub: 'x', role: 'service' }, issued)).split('.');
    for (const token of [`${header}.%%%.${signature}`, `${header}.${payload}.!!`, `${header}.${Buffer.from('[1]').toString('base64url')}.${signature}`, `${header}..`]) {
      const response = await call(app, token);
      expect({ token, status: response.status }).toEqual({ token, status: 401 });
    }
  });

  it('when no JWT_JWKS_URL is configured, then an RS256 token is refused', async () => {
    const app = appWith({ jwksUrl: undefined });
    await call(app, await signWith(rsa, { sub: 'x', role: 'service' }, issued)).expect(401);
  });
});

describe('HS256 beside the key set', () => {
  it('when JWT_SECRET signs a token with the right iss and aud, then it is accepted; without them, 401', async () => {
    const app = appWith();
    await call(app, signToken(SECRET, 'service', 'sms-agent', '1h', issued)).expect(200);
    await call(app, signToken(SECRET, 'service', 'sms-agent', '1h')).expect(401);
  });

  it('when a token is not a JWT, unsigned (alg none), expired, has no exp, or lives past JWT_MAX_AGE, then 401', async () => {
    const app = appWith({ issuer: undefined, audience: undefined });
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: 'x', role: 'service', exp: Math.floor(Date.now() / 1000) + 60 }),
    ).toString('base64url')}.`;
    for (const token of [
      'not-a-token',
      'a.b.c',
      none,
      signToken(SECRET, 'service', 'x', '-1s'),
      jwt.sign({ role: 'service' }, SECRET, { subject: 'x', algorithm: 'HS256' }),
      signToken(SECRET, 'service', 'x', '48h'),
    ]) {
      await call(app, token).expect(401);
    }
  });
});

describe('a token sent again', () => {
  it('when an accepted HS256 token comes back after its exp, then 401: it is remembered as verified only until it expires', async () => {
    const app = appWith({ issuer: undefined, audience: undefined });
    const exp = Math.floor(Date.now() / 1000) + 60;
    const token = jwt.sign({ role: 'service', exp }, SECRET, { subject: 'sms-agent', algorithm: 'HS256' });
    await call(app, token).expect(200);
    await call(app, token).expect(200);
    const now = jest.spyOn(Date, 'now').mockReturnValue(exp * 1000);
    try {
      await call(app, token).expect(401);
    } finally {
      now.mockRestore();
    }
  });

  it('when a refused token is sent again, then it is refused again (refusals are not remembered, nor is one token taken for another)', async () => {
    const app = appWith({ issuer: undefined, audience: undefined });
    const good = signToken(SECRET, 'manager', 'ann', '1h', { tenants: ['t-1'] });
    const [header, payload] = good.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    expect((await call(app, good).expect(200)).body).toMatchObject({ subject: 'ann', role: 'manager' });
    await call(app, forged).expect(401);
    await call(app, forged).expect(401);
  });
});

describe('roles and scopes from the claims', () => {
  const app = () => appWith({ issuer: undefined, audience: undefined });

  it('when a Supabase token has role "authenticated" and the app role in app_metadata, then app_metadata decides role and scope', async () => {
    const token = await signWith(rsa, { sub: 'uuid-1', role: 'authenticated', app_metadata: { role: 'manager', tenants: ['t-9'], provider: 'email' } });
    const response = await call(app(), token).expect(200);
    expect(response.body).toEqual({ subject: 'uuid-1', role: 'manager', scope: { all: false, tenants: ['t-9'] } });
  });

  it('when a valid token carries no role of ours, then 403 forbidden_role, without WWW-Authenticate', async () => {
    const response = await call(app(), await signWith(ec, { sub: 'uuid-2', role: 'authenticated' }));
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden_role');
    expect(response.headers['www-authenticate']).toBeUndefined();
  });

  it.each([
    ['a service without a scope claim sees every tenant', 'service', {}, 200, { all: true }],
    ['a manager with this ORG_ID sees every tenant', 'manager', { org: ORG }, 200, { all: true }],
    ['a manager with tenants sees those', 'manager', { tenants: ['a', 'b', 'a'] }, 200, { all: false, tenants: ['a', 'b'] }],
    ['org and tenants together narrow to the tenants', 'manager', { org: ORG, tenants: ['a'] }, 200, { all: false, tenants: ['a'] }],
    ['a service with tenants is scoped too', 'service', { tenants: ['a'] }, 200, { all: false, tenants: ['a'] }],
    ['a manager without a scope is refused', 'manager', {}, 403, 'forbidden_scope'],
    ['another organisation is refused', 'manager', { org: 'other-agency' }, 403, 'forbidden_scope'],
    ['another organisation is refused for a service too', 'service', { org: 'other-agency' }, 403, 'forbidden_scope'],
    ['an empty tenants list is not a scope', 'manager', { tenants: [] }, 401, 'unauthorized'],
  ] as const)('%s', async (_name, role, claims, status, expected) => {
    const response = await call(app(), signToken(SECRET, role, 'who', '1h', claims as { tenants?: string[]; org?: string }));
    expect(response.status).toBe(status);
    if (status === 200) expect(response.body.scope).toEqual(expected);
    else expect(response.body.error.code).toBe(expected);
  });

  it('when ORG_ID is not set, then any org claim is refused', async () => {
    const response = await call(appWith({ issuer: undefined, audience: undefined, orgId: undefined }), signToken(SECRET, 'manager', 'm', '1h', { org: ORG }));
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden_scope');
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/**
 * A signing authority like Supabase's: asymmetric key pairs, the public halves served as a JWKS over HTTP
 * (on a free port), and tokens signed with any of them. The set can rotate while the server runs.
 */
export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function newSigningKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface JwksServer {
  url: string;
  /** How many times the key set was fetched. */
  fetches: number;
  /** The keys the set publishes from now on. */
  publish(keys: SigningKey[]): void;
  /** While down, every fetch answers 503. */
  down: boolean;
  close(): Promise<void>;
}

export async function startJwksServer(keys: SigningKey[]): Promise<JwksServer> {
  let published = keys;
  const state = {
    fetches: 0,
    down: false,
  };
  const server: Server = createServer((_req, res) => {
    state.fetches += 1;
    if (state.down) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((key) => key.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/auth/v1/.well-known/jwks.json`,
    get fetches() {
      return state.fetches;
    },
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    publish(next) {
      published = next;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  } as JwksServer;
}

/** A token signed with `key`, its `kid` in the header; `exp` 1 h from now unless the claims say otherwise. */
export async function signWith(
  key: SigningKey,
  claims: JWTPayload & Record<string, unknown>,
  options: { issuer?: string; audience?: string; expiresIn?: string | number } = {},
) {
  let token = new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid }).setIssuedAt();
  if (claims.exp === undefined) token = token.setExpirationTime(options.expiresIn ?? '1h');
  if (options.issuer) token = token.setIssuer(options.issuer);
  if (options.audience) token = token.setAudience(options.audience);
  return token.sign(key.privateKey);
}

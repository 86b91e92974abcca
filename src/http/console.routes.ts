import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { AppError } from '../errors.js';
import { signToken } from './auth.js';
import { register, ROUTES } from './routes.js';

/**
 * The managers' console (docs/console.md): a static page built by `npm run build` into dist/console/
 * (console/ in the repository: Preact + htm, bundled by esbuild), served from here with no CDN and no
 * inline script, so helmet's default CSP holds. The page talks to the public API with the token the
 * manager signs in with; it has no route of its own but the development sign-in below.
 */
export interface ConsoleOptions {
  /** Where the built assets are; found next to the running code when not given. */
  assetsDir?: string | null;
  /**
   * Mints development manager tokens ("sign in as a development manager"): set only when the JWT secret is
   * the public development one and NODE_ENV is not production (config `consoleDevSignIn`).
   */
  devSignIn?: { secret: string; orgId?: string; issuer?: string; audience?: string } | null;
}

/** A development manager's token lives as long as `npm run token`'s. */
const DEV_TOKEN_LIFETIME = '12h';
export const DEV_MANAGER_SUBJECT = 'dev-manager';

export function consoleRouter(options: ConsoleOptions = {}) {
  const router = Router();
  const assets = options.assetsDir === undefined ? findConsoleAssets() : options.assetsDir;

  register(router, ROUTES.console, (req, res) => {
    // The page's assets are relative (./console.js): they resolve under /console/ only.
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(301, '/console/');
    if (!assets) throw new AppError('console_not_built', 'the console is not built: run npm run build', 503);
    res.sendFile(path.join(assets, 'index.html'));
  });

  register(router, ROUTES.consoleDevToken, (_req, res) => {
    const dev = options.devSignIn;
    // Anywhere but a development deployment the route does not exist.
    if (!dev) throw new AppError('route_not_found', 'no such route', 404);
    const token = signToken(dev.secret, 'manager', DEV_MANAGER_SUBJECT, DEV_TOKEN_LIFETIME, {
      org: dev.orgId,
      issuer: dev.issuer,
      audience: dev.audience,
    });
    res.json({ token, subject: DEV_MANAGER_SUBJECT, expires_in: DEV_TOKEN_LIFETIME });
  });

  if (assets) router.use('/console', express.static(assets, { index: false, fallthrough: true, maxAge: '5m' }));
  return router;
}

/**
 * dist/console next to the compiled code (dist/src/http → dist/console), or, run from the sources
 * (`npm run dev`), the repository's dist/console; null when neither has been built.
 */
export function findConsoleAssets(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth += 1) {
    for (const candidate of [path.join(dir, 'console'), path.join(dir, 'dist', 'console')]) {
      if (existsSync(path.join(candidate, 'index.html')) && existsSync(path.join(candidate, 'console.js'))) return candidate;
    }
    dir = path.dirname(dir);
  }
  return null;
}

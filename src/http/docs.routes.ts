import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { OpenApiDocument } from './openapi.js';
import { register, ROUTES } from './routes.js';

/**
 * `GET /openapi.json` and Swagger UI at `/docs/`. The page loads its scripts from here (swagger-ui-dist,
 * no CDN, no inline script: helmet's CSP stays as it is) and reads the document from /openapi.json.
 */
export function docsRouter(document: OpenApiDocument) {
  const router = Router();
  const page = swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.json' }, customSiteTitle: 'Collections Orchestrator API' });

  register(router, ROUTES.openapi, (_req, res) => {
    res.json(document);
  });
  register(router, ROUTES.docs, (req, res, next) => {
    // The page's assets are relative (./swagger-ui.css): they resolve under /docs/ only.
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(301, '/docs/');
    page(req, res, next);
  });
  router.use('/docs', swaggerUi.serve);
  return router;
}

import { describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import request from 'supertest';
import { conversationMachine } from '../../machines/conversation/conversation.machine.js';
import { createApp, type AppDeps } from '../../src/app.js';
import { buildOpenApiDocument, openApiPath } from '../../src/http/openapi.js';
import { ROUTES } from '../../src/http/routes.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { DEFAULT_COMPLIANCE } from '../../src/policies/compliance.js';

/** The OpenAPI document: valid OpenAPI 3.1, and no route served by Express is missing from it. */

/** The app as main.ts builds it; nothing here touches the database or the services. */
function appWithoutBackends(): Express {
  const unused = {} as never;
  const deps: AppDeps = {
    db: unused,
    runtime: unused,
    machine: conversationMachine,
    compliance: DEFAULT_COMPLIANCE,
    auth: { secret: 'openapi-test-secret-0123456789abcdef0123', maxAgeMs: 86_400_000 },
    conversationIdSecret: 'openapi-test-conversation-secret-0123456789',
    logger: createLogger({ level: 'silent' }),
    metrics: createMetrics(),
    dependencies: unused,
    plans: unused,
    clock: Date.now,
  };
  return createApp(deps);
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every `METHOD path` Express serves, from the app's router stack (routers mounted at the root). */
function expressRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of paths) for (const method of Object.keys(layer.route.methods)) found.push(`${method.toUpperCase()} ${path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return found;
}

function documentedRoutes(document: { paths: Record<string, Record<string, unknown>> }): Set<string> {
  return new Set(Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)));
}

describe('the OpenAPI document', () => {
  const app = appWithoutBackends();

  it('when served at /openapi.json without a token, then a real OpenAPI 3.1 validator accepts it', async () => {
    const response = await request(app).get('/openapi.json').expect(200);
    expect(response.body.openapi).toBe('3.1.0');
    const result = await new Validator().validate(response.body);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('when Express serves a route, then the document describes it', async () => {
    const document = (await request(app).get('/openapi.json').expect(200)).body;
    const documented = documentedRoutes(document);
    const served = expressRoutes(app);
    expect(served.length).toBeGreaterThanOrEqual(Object.keys(ROUTES).length);
    const missing = served.filter((route) => !documented.has(route.replace(/ (.*)$/, (_m, path: string) => ` ${openApiPath(path)}`)));
    expect(missing).toEqual([]);
  });

  it('when a route is registered outside the table, then the walk finds it missing', () => {
    const app2 = appWithoutBackends();
    app2.get('/v1/not-in-the-table/:id', (_req, res) => void res.end());
    const documented = documentedRoutes(buildOpenApiDocument(ROUTES, { version: 'test' }));
    const missing = expressRoutes(app2).filter((route) => !documented.has(route.replace(/ (.*)$/, (_m, path: string) => ` ${openApiPath(path)}`)));
    expect(missing).toEqual(['GET /v1/not-in-the-table/:id']);
  });

  it('when a route validates its body with a schema, then the document shows that schema', () => {
    const document = buildOpenApiDocument(ROUTES, { version: 'test' });
    const sms = document.paths['/orchestrate/sms-received']!.post as { requestBody: { content: Record<string, { schema: { required: string[] } }> } };
    expect(sms.requestBody.content['application/json']!.schema.required).toEqual(['tenant_id', 'phone_number', 'content']);
    const approvals = document.paths['/v1/approvals']!.get as { parameters: Array<{ name: string; in: string }>; security: unknown[] };
    expect(approvals.parameters.map((parameter) => parameter.name)).toEqual(['status', 'limit', 'cursor']);
    expect(approvals.security).toEqual([{ bearer: [] }]);
  });

  it('when /docs is asked for, then it redirects to /docs/ and that serves Swagger UI reading /openapi.json', async () => {
    await request(app).get('/docs').expect(301).expect('Location', '/docs/');
    const page = await request(app).get('/docs/').expect(200);
    expect(page.text).toContain('swagger-ui');
    const init = await request(app).get('/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toContain('/openapi.json');
    await request(app).get('/docs/swagger-ui-bundle.js').expect(200);
  });
});

import { z } from 'zod';
import type { RouteSpec } from './routes.js';

/**
 * The OpenAPI 3.1 document, built from the route table: its schemas are the zod schemas the handlers parse
 * with, turned into JSON Schema 2020-12 (OpenAPI 3.1's dialect) by zod's own `z.toJSONSchema`. The input
 * side is described (what a caller sends: a phone number is a string, defaults make fields optional);
 * refinements across fields (say `modified_text` with `modify`) are in the descriptions, not the schema.
 */

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** `/v1/conversations/:id` → `/v1/conversations/{id}`. */
export const openApiPath = (expressPath: string) => expressPath.replace(/:(\w+)/g, '{$1}');

function parameters(spec: RouteSpec) {
  const out: JsonSchema[] = [];
  for (const where of ['params', 'query'] as const) {
    const schema = spec.request?.[where];
    if (!schema) continue;
    const object = jsonSchema(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, property] of Object.entries(object.properties ?? {})) {
      out.push({
        name,
        in: where === 'params' ? 'path' : 'query',
        required: where === 'params' || (object.required ?? []).includes(name),
        schema: property,
      });
    }
  }
  if (spec.request?.idempotencyKey) {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: spec.request.idempotencyKey === 'required',
      description: 'Deduplicates retries, per conversation (docs/api.md#idempotency)',
      schema: { type: 'string', minLength: 1, maxLength: 200 },
    });
  }
  return out;
}

const errorSchema = {
  type: 'object',
  required: ['error', 'request_id'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
    request_id: { type: 'string' },
  },
};

function operation(name: string, spec: RouteSpec) {
  const contentType = spec.response.contentType ?? 'application/json';
  const roles = spec.auth === 'none' ? 'No token.' : `Roles: ${spec.auth.join(', ')}.`;
  return {
    operationId: name,
    tags: [spec.tag],
    summary: spec.summary,
    description: roles,
    security: spec.auth === 'none' ? [] : [{ bearer: [] }],
    parameters: parameters(spec),
    ...(spec.request?.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.request.body) } } } } : {}),
    responses: {
      [String(spec.response.status)]: { description: spec.response.description, content: { [contentType]: { schema: {} } } },
      default: { description: 'An error, in the one error format', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
  };
}

export function buildOpenApiDocument(routes: Record<string, RouteSpec>, info: { version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [name, spec] of Object.entries(routes)) {
    const path = openApiPath(spec.path);
    paths[path] = { ...paths[path], [spec.method]: operation(name, spec) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Collections Orchestrator',
      version: info.version,
      description: 'Durable SMS conversations for debt collection. Error format, idempotency and roles: docs/api.md.',
    },
    tags: [
      { name: 'native', description: 'The native API: any machine event in, state and audit trail out' },
      { name: 'compatibility', description: 'What the services around us (and the collections dashboard) already call' },
      { name: 'operations', description: 'Health and metrics' },
      { name: 'docs', description: 'This document' },
    ],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'HS256 (JWT_SECRET) or RS256/ES256 (JWT_JWKS_URL); role `service` or `manager`, scope `tenants` / `org` (docs/auth.md; npm run token)' } },
      schemas: { Error: errorSchema },
    },
  };
}
export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;

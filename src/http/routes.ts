import type { RequestHandler, Router } from 'express';
import { z } from 'zod';
import { requireRole, type Role } from './auth.js';
import {
  approvalsQuery,
  approveResponseBody,
  conversationIdParams,
  escalateBody,
  escalationsQuery,
  eventBody,
  paymentPlanDetectedBody,
  plansQuery,
  smsReceivedBody,
  statusParams,
  suppressionBody,
  suppressionsQuery,
  workflowIdParams,
} from './schemas.js';
import { complianceCheckBody, conversationsQuery } from './schemas.js';

/**
 * Every HTTP route, declared once: method, path, who may call it, the zod schemas its handler parses, and
 * what it answers. The routers register from this table (`register`), the OpenAPI document is built from
 * it (openapi.ts), and test/e2e/openapi.test.ts fails when a route reaches Express without an entry here.
 *
 * To add a route: add an entry below, then `register(router, ROUTES.yourRoute, handler)` in a router.
 */
export interface RouteSpec {
  method: 'get' | 'post';
  /** Express syntax (`/v1/conversations/:id`); the document shows `{id}`. */
  path: string;
  tag: 'native' | 'compatibility' | 'operations' | 'docs';
  summary: string;
  /** `none`: no token. Otherwise the roles that may call it (a 403 `forbidden_role` for others). */
  auth: 'none' | readonly Role[];
  request?: {
    body?: z.ZodType;
    params?: z.ZodObject;
    query?: z.ZodObject;
    /** Whether the `Idempotency-Key` header is read. */
    idempotencyKey?: 'required' | 'optional';
  };
  response: { status: number; description: string; contentType?: string };
}

const ANY_ROLE = ['manager', 'service'] as const;

export const ROUTES = {
  health: {
    method: 'get',
    path: '/health',
    tag: 'operations',
    summary: 'Liveness and database reachability, for load balancers',
    auth: 'none',
    response: { status: 200, description: '`{status: ok|degraded, database: up|down}`; 503 when the database is down' },
  },
  healthLive: {
    method: 'get',
    path: '/health/live',
    tag: 'operations',
    summary: 'Liveness: the process answers (a liveness probe)',
    auth: 'none',
    response: { status: 200, description: '`{status: ok}`' },
  },
  healthReady: {
    method: 'get',
    path: '/health/ready',
    tag: 'operations',
    summary: 'Readiness: the database answers and, where this process runs a worker, the worker runs and polls',
    auth: 'none',
    response: {
      status: 200,
      description: '`{status: ready|not_ready, database: up|down, worker: running|stalled|fenced|stopped|none}`; 503 when not ready',
    },
  },
  healthDependencies: {
    method: 'get',
    path: '/health/dependencies',
    tag: 'operations',
    summary: 'Each dependency probed (cached 10 s): healthy, degraded or down',
    auth: ANY_ROLE,
    response: {
      status: 200,
      description:
        '`{orchestrator, sms_agent, collections_monitor, notification_service, supabase, openai}` each `healthy|degraded|down`, plus `details`',
    },
  },
  prometheus: {
    method: 'get',
    path: '/metrics',
    tag: 'operations',
    summary: 'Prometheus metrics of this process (with METRICS_TOKEN set: that bearer token instead of a role token)',
    auth: ANY_ROLE,
    response: { status: 200, description: 'Prometheus text exposition', contentType: 'text/plain' },
  },
  openapi: {
    method: 'get',
    path: '/openapi.json',
    tag: 'docs',
    summary: 'This document',
    auth: 'none',
    response: { status: 200, description: 'OpenAPI 3.1 document, generated from the route table and its zod schemas' },
  },
  docs: {
    method: 'get',
    path: '/docs',
    tag: 'docs',
    summary: 'Swagger UI over /openapi.json',
    auth: 'none',
    response: { status: 200, description: 'HTML page (`/docs` redirects to `/docs/`)', contentType: 'text/html' },
  },
  machine: {
    method: 'get',
    path: '/v1/machine',
    tag: 'native',
    summary: 'The conversation machine: states, events, version, Mermaid diagram',
    auth: ANY_ROLE,
    response: { status: 200, description: '`{id, version, initial, states, events, mermaid, definition}`' },
  },
  conversationEvents: {
    method: 'post',
    path: '/v1/conversations/:id/events',
    tag: 'native',
    summary: 'Apply a machine event (the role needed depends on the event type)',
    auth: ANY_ROLE,
    request: { params: conversationIdParams, body: eventBody, idempotencyKey: 'required' },
    response: { status: 202, description: '`{conversation_id, state, version, outcome, duplicate}`; 200 with the first answer for a repeated key' },
  },
  conversation: {
    method: 'get',
    path: '/v1/conversations/:id',
    tag: 'native',
    summary: 'State and a summary of the context, without personal data',
    auth: ANY_ROLE,
    request: { params: conversationIdParams },
    response: { status: 200, description: 'The conversation: state, context summary, plans, timers, allowed events' },
  },
  transitions: {
    method: 'get',
    path: '/v1/conversations/:id/transitions',
    tag: 'native',
    summary: 'The hash-chained audit trail, oldest first',
    auth: ANY_ROLE,
    request: { params: conversationIdParams },
    response: { status: 200, description: '`{conversation_id, transitions: [...]}`' },
  },
  approvals: {
    method: 'get',
    path: '/v1/approvals',
    tag: 'native',
    summary: 'The approval queue, oldest first, in pages',
    auth: ['manager'],
    request: { query: approvalsQuery },
    response: { status: 200, description: '`{items, next_cursor}`' },
  },
  plans: {
    method: 'get',
    path: '/v1/plans',
    tag: 'native',
    summary: 'Agreed payment plans, newest first',
    auth: ['manager'],
    request: { query: plansQuery },
    response: { status: 200, description: '`{items}`' },
  },
  escalations: {
    method: 'get',
    path: '/v1/escalations',
    tag: 'native',
    summary: 'Open escalations, oldest first',
    auth: ['manager'],
    request: { query: escalationsQuery },
    response: { status: 200, description: '`{items}`' },
  },
  suppressions: {
    method: 'get',
    path: '/v1/compliance/suppressions',
    tag: 'native',
    summary: 'Suppressed numbers (opt-outs, the debtor\'s or a manager\'s), newest first',
    auth: ['manager'],
    request: { query: suppressionsQuery },
    response: { status: 200, description: '`{items: [{phone_number, tenant_id, source, conversation_id, added_by, reason, since}]}` (`tenant_id` null: every tenant)' },
  },
  addSuppression: {
    method: 'post',
    path: '/v1/compliance/suppressions',
    tag: 'native',
    summary: 'Suppress a number for `tenant_id`, else for every tenant of the token\'s scope: nothing is sent to it there again (an inbound START does not lift it)',
    auth: ['manager'],
    request: { body: suppressionBody },
    response: { status: 201, description: '`{phone_number, suppressed: true, created}` (200 when it was already suppressed)' },
  },
  smsReceived: {
    method: 'post',
    path: '/orchestrate/sms-received',
    tag: 'compatibility',
    summary: "The SMS Agent reports an inbound text (creates the conversation on first contact)",
    auth: ['service'],
    request: { body: smsReceivedBody, idempotencyKey: 'optional' },
    response: { status: 202, description: 'Applied event, with `workflow_id`' },
  },
  approveResponse: {
    method: 'post',
    path: '/orchestrate/approve-response',
    tag: 'compatibility',
    summary: "A manager's decision on a pending draft (by response_queue_id, or by conversation_id + phone_number)",
    auth: ['manager'],
    request: { body: approveResponseBody, idempotencyKey: 'optional' },
    response: { status: 202, description: 'Applied event, with `response_queue_id`, `action`, `status: "processed"`' },
  },
  escalate: {
    method: 'post',
    path: '/orchestrate/escalate',
    tag: 'compatibility',
    summary: 'Hand a conversation to a person',
    auth: ANY_ROLE,
    request: { body: escalateBody, idempotencyKey: 'optional' },
    response: { status: 202, description: 'Applied event, with `escalation_id`, `escalation_type`, `severity`, `status: "created"`' },
  },
  paymentPlanDetected: {
    method: 'post',
    path: '/orchestrate/payment-plan-detected',
    tag: 'compatibility',
    summary: 'Another service saw a payment plan: judged by our policy',
    auth: ANY_ROLE,
    request: { body: paymentPlanDetectedBody, idempotencyKey: 'optional' },
    response: { status: 200, description: '`{conversation_id, detected, source, plan, verdict, reasons, counter_proposal, flags, escalated, state}`' },
  },
  retry: {
    method: 'post',
    path: '/orchestrate/retry/:workflowId',
    tag: 'compatibility',
    summary: 'A failed conversation drafts (or sends) again',
    auth: ['manager'],
    request: { params: workflowIdParams, idempotencyKey: 'optional' },
    response: { status: 202, description: 'Applied event, with `workflow_id`, `status: "retrying"`, `message`; a refusal also carries `workflow_id`, `status: "failed"`' },
  },
  workflowStatus: {
    method: 'get',
    path: '/orchestrate/workflow/:conversationId/status',
    tag: 'compatibility',
    summary: "A conversation's state in the dashboard's words, plus everything GET /v1/conversations/{id} answers",
    auth: ANY_ROLE,
    request: { params: statusParams },
    response: {
      status: 200,
      description: '`{workflow_id, workflow_type, status, current_step, ai_confidence, escalation_triggered, last_updated, …}`',
    },
  },
  orchestrateMetrics: {
    method: 'get',
    path: '/orchestrate/metrics',
    tag: 'compatibility',
    summary: 'Counts for the dashboard, from the database (the same on every replica)',
    auth: ANY_ROLE,
    response: { status: 200, description: '`{last_hour, today, conversations_by_state, pending_approvals, …}`' },
  },
  // The managers' console (docs/console.md) and the API it works through.
  conversations: {
    method: 'get',
    path: '/v1/conversations',
    tag: 'native',
    summary: 'Conversations, newest change first, filtered (state, tenant, updated_since, flags), in keyset pages, with counts by state',
    auth: ['manager'],
    request: { query: conversationsQuery },
    response: { status: 200, description: '`{items, next_cursor, counts?}`; numbers masked (`phone_masked`)' },
  },
  timeline: {
    method: 'get',
    path: '/v1/conversations/:id/timeline',
    tag: 'native',
    summary: 'Everything that happened, oldest first: messages both ways, drafts, decisions, transitions, compliance decisions, payments',
    auth: ['manager'],
    request: { params: conversationIdParams },
    response: { status: 200, description: '`{conversation_id, entries: [{kind, at, …}]}`' },
  },
  complianceCheck: {
    method: 'post',
    path: '/v1/conversations/:id/compliance-check',
    tag: 'native',
    summary: "Judges a manager's text with the checks a decision applies, in the debtor's language; nothing is written",
    auth: ['manager'],
    request: { params: conversationIdParams, body: complianceCheckBody },
    response: { status: 200, description: '`{allowed, rule, violations, segments, encoding, max_segments, language}`' },
  },
  revealPhone: {
    method: 'post',
    path: '/v1/conversations/:id/phone-reveal',
    tag: 'native',
    summary: "The debtor's number, unmasked; who asked and when is recorded",
    auth: ['manager'],
    request: { params: conversationIdParams },
    response: { status: 200, description: '`{conversation_id, phone_number, revealed_by, revealed_at}`' },
  },
  console: {
    method: 'get',
    path: '/console',
    tag: 'docs',
    summary: "The managers' console (a page over this API; its assets are under /console/)",
    auth: 'none',
    response: { status: 200, description: 'HTML page', contentType: 'text/html' },
  },
  consoleDevToken: {
    method: 'post',
    path: '/console/dev-token',
    tag: 'docs',
    summary: 'Development only (the development JWT secret, NODE_ENV not production): a 12 h token of a manager of every tenant',
    auth: 'none',
    response: { status: 200, description: '`{token, subject, expires_in}`; 404 `route_not_found` anywhere else' },
  },
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;

/**
 * Registers one route of the table: its role check first (when it has roles), then `before` (what must
 * run ahead of the role check, such as authentication on routes served ahead of the app-wide one), then
 * the handler.
 */
export function register(router: Router, spec: RouteSpec, handler: RequestHandler, options: { before?: RequestHandler[] } = {}) {
  const guards = spec.auth === 'none' ? [] : [requireRole(...spec.auth)];
  router[spec.method](spec.path, ...(options.before ?? []), ...guards, handler);
}

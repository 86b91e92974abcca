import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { ConversationMachine } from '../machines/conversation/conversation.machine.js';
import type { Db } from './db/database.js';
import { approvalsRouter } from './http/approvals.routes.js';
import { createAuthenticator, type AuthOptions } from './http/auth.js';
import { conversationsRouter, machineRouter } from './http/conversations.routes.js';
import { createErrorHandler, notFoundHandler } from './http/errors.js';
import { healthRouter, type DependencyInfo } from './http/health.routes.js';
import { orchestrateRouter } from './http/orchestrate.routes.js';
import { plansRouter } from './http/plans.routes.js';
import { docsRouter } from './http/docs.routes.js';
import { consoleApiRouter } from './http/console-api.routes.js';
import { consoleRouter, type ConsoleOptions } from './http/console.routes.js';
import { buildOpenApiDocument } from './http/openapi.js';
import { metricsAuth, metricsRouter } from './http/metrics.routes.js';
import { ROUTES } from './http/routes.js';
import type { PlanAssessmentDeps } from './use-cases/assess-plan.js';
import { requestIdMiddleware } from './http/request-context.js';
import { accessLog, routeTemplate } from './http/access-log.js';
import { textGuard } from './http/text-guard.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { CompliancePolicy } from './policies/compliance.js';
import type { Runtime } from './runtime/apply-event.js';

/** The API's version in the OpenAPI document: package.json's. */
export const SERVICE_VERSION = '0.1.0';

export interface AppDeps {
  db: Db;
  runtime: Runtime;
  machine: ConversationMachine;
  compliance: CompliancePolicy;
  /** How inbound tokens are verified and scoped (config JWT_*, ORG_ID; docs/auth.md). */
  auth: AuthOptions;
  /** The scraper's bearer token for /metrics (config METRICS_TOKEN); unset: any role's token. */
  metricsToken?: string;
  /** Keys the HMAC of derived conversation ids (config CONVERSATION_ID_SECRET). */
  conversationIdSecret: string;
  logger: Logger;
  metrics: Metrics;
  dependencies: DependencyInfo;
  /** What POST /orchestrate/payment-plan-detected needs to judge a plan. */
  plans: PlanAssessmentDeps;
  clock: () => number;
  /** The managers' console at /console: where its assets are, and the development sign-in (docs/console.md). */
  console?: ConsoleOptions;
}

/** The HTTP app, without `listen`: main.ts serves it, supertest drives it. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  // No ETag on our answers: each is the state of one request, no client revalidates one, and hashing every
  // event's answer cost ~0.1 ms of CPU (docs/benchmarks.md, "The seventh pass"). Static assets keep theirs.
  app.set('etag', false);
  // Without helmet's `upgrade-insecure-requests`: the console's and the docs' assets are same-origin and relative,
  // fetched over HTTPS whenever the page is, and on a plain-HTTP deployment (an office network without TLS) the
  // upgrade sent them to an https:// that nothing answers, so the console never loaded.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(requestIdMiddleware);
  app.use(accessLog(deps.logger));
  app.use((req, res, next) => {
    const stop = deps.metrics.httpSeconds.startTimer({ method: req.method });
    res.on('finish', () => stop({ route: routeTemplate(req), status: String(res.statusCode) }));
    next();
  });

  const authenticate = createAuthenticator(deps.auth);
  // The routes ahead of the body parser take no body, but their path, query and headers are checked all the same.
  const authenticateAndGuard: RequestHandler = (req, res, next) => authenticate(req, res, (error?: unknown) => (error ? next(error) : textGuard(req, res, next)));
  app.use(healthRouter({ db: deps.db, dependencies: deps.dependencies, authenticate: authenticateAndGuard }));
  app.use(metricsRouter(deps.metrics.registry, metricsAuth(deps.metricsToken, authenticateAndGuard)));
  // The document describes the API, not its data: it is served without a token, like /health.
  app.use(docsRouter(buildOpenApiDocument(ROUTES, { version: SERVICE_VERSION })));
  // A page like /docs: served without a token; everything it shows comes from the API with the manager's token.
  app.use(consoleRouter(deps.console));

  // The token first, then the body: a caller without a token gets a 401, never a 400 about its body.
  app.use(authenticate);
  app.use(express.json({ limit: '64kb' }));
  app.use(textGuard);
  app.use(machineRouter(deps.machine));
  app.use(conversationsRouter(deps));
  app.use(orchestrateRouter(deps));
  app.use(approvalsRouter(deps));
  app.use(plansRouter(deps));
  app.use(consoleApiRouter(deps));

  app.use(notFoundHandler);
  app.use(createErrorHandler(deps.logger));
  return app;
}

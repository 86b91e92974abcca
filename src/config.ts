import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigurationError } from './startup-errors.js';
import { parseAmountToCents } from './negotiation/money.js';
import { isTimeZone } from './negotiation/time-zones.js';
import { DEFAULT_CONTACT_WINDOW } from './policies/contact-window.js';
import { MAX_AGENCY_NAME_LENGTH, normaliseAgencyName } from './policies/disclosure.js';
import { DEFAULT_MAX_SEGMENTS } from './policies/compliance.js';

/** The only reader of process.env. Validated once at boot; a bad value stops the process with a clear message. */

const DURATION = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "36h", "4h", "30s", "1500ms" or a bare number of milliseconds. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text}`);
  return Number(match[1]) * UNIT_MS[(match[2] ?? 'ms') as keyof typeof UNIT_MS];
}

/** Positive unless `zero` says what 0 means (a timeout or SLA of 0 would fire at once). */
const duration = (fallback: string, options: { zero?: 'allowed' } = {}) =>
  z
    .string()
    .default(fallback)
    .refine((value) => DURATION.test(value.trim()), 'expected a duration such as 36h, 4h, 30s or 1500ms')
    .transform(parseDuration)
    .refine((ms) => ms > 0 || options.zero === 'allowed', 'must be longer than 0');
/** The services we call and the key set we fetch: http(s) only (a file: URL would read the local disk). */
const optionalUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional();
/** An empty value is a mistake, not port 0 (which would pick a random port). */
const port = (fallback: number, min = 0) =>
  z
    .string()
    .default(String(fallback))
    .refine((value) => /^\d+$/.test(value.trim()), 'expected a port number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(65535));
const isPostgresUrl = (value: string) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol);

/**
 * The CA that signed the database server's certificate (a private one, as Supabase's): the PEM itself, or a
 * path to it. Read once here, so a wrong path stops the start with the variable named.
 */
const caCertificate = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return undefined;
    // A PEM pasted into one line of an .env file or a secret store often carries literal "\n".
    const pem = value.trim().startsWith('-----BEGIN') ? value.replace(/\\n/g, '\n') : readOrNull(value);
    if (pem === null) {
      ctx.addIssue({ code: 'custom', message: `DATABASE_CA_CERT is neither a PEM certificate nor a readable file: ${value}` });
      return z.NEVER;
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      ctx.addIssue({ code: 'custom', message: 'DATABASE_CA_CERT holds no PEM certificate (-----BEGIN CERTIFICATE-----)' });
      return z.NEVER;
    }
    return pem;
  });
function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export const DEV_JWT_SECRET = 'dev-only-secret-change-me-0123456789abcdef';
/** Signs the token we send downstream; distinct from the inbound secret so a downstream service cannot replay it at us. */
const DEV_OUTBOUND_JWT_SECRET = 'dev-only-outbound-secret-change-me-fedcba9876543210';

/**
 * Keys the HMAC that derives conversation ids from tenant and phone (src/http/conversation-id.ts): without
 * it, an id could be brute-forced back to the debtor's phone number.
 */
const DEV_CONVERSATION_ID_SECRET = 'dev-only-conversation-id-secret-change-me-0123456789';

/**
 * The organisation a development or test deployment serves, so that `npm run token -- manager` can mint a
 * manager token for all its tenants. Production has none unless ORG_ID says so (then managers need `tenants`).
 */
export const DEV_ORG_ID = 'dev-org';

/** Connections one process keeps for itself whatever the load: the worker's liveness session and graphile-worker's LISTEN. */
const POOL_RESERVED_CONNECTIONS = 2;
/**
 * The pool is sized for simultaneous database operations, not for running jobs: a graphile-worker job holds
 * no connection while it runs (it borrows one to be fetched, for each transaction it applies, and to be
 * completed), and most of a job's time is spent waiting on the network (a model, the SMS Agent). So a
 * hundred jobs share a pool of 20 without deadlock, and the pool stays well inside a server's
 * max_connections (100 on the embedded Postgres) whatever WORKER_CONCURRENCY is.
 */
const DEFAULT_POOL_SIZE = 20;
/** With a worker: the two reserved connections, at least one for jobs' transactions and one for HTTP. */
const POOL_MINIMUM_WITH_WORKER = POOL_RESERVED_CONNECTIONS + 2;
/**
 * Jobs one worker runs at once. Jobs are network-bound (drafting waits seconds on a model), so this is high:
 * at 4, a burst of 100 drafts made every send wait for all of them. Job priorities (job-queue.ts) still
 * let a turn in progress finish before new drafts start.
 */
const DEFAULT_WORKER_CONCURRENCY = 100;

/** Names the agency in development and tests only; production must say who it is (a wrong name misleads, §1006.18). */
const DEV_AGENCY_NAME = 'Acme Recovery';

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: port(8000),
    /**
     * How long an idle HTTP connection stays open for the next request: longer than a load balancer's idle
     * timeout (60 s on AWS's), and long enough that a client's next burst reuses its connections.
     */
    HTTP_KEEP_ALIVE_TIMEOUT: duration('65s'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATABASE_URL: z.string().refine(isPostgresUrl, 'expected a postgres:// or postgresql:// URL').optional(),
    /** The connection for workers and migrations when DATABASE_URL is a transaction-mode pooler (docs/architecture.md §5). */
    DATABASE_DIRECT_URL: z.string().refine(isPostgresUrl, 'expected a postgres:// or postgresql:// URL').optional(),
    DATABASE_CA_CERT: caCertificate,
    DATA_DIR: z.string().default('.data'),
    EMBEDDED_PG_PORT: port(54329, 1),
    JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
    OUTBOUND_JWT_SECRET: z.string().min(32, 'OUTBOUND_JWT_SECRET must be at least 32 characters').optional(),
    OUTBOUND_JWT_AUDIENCE: z.string().min(1).optional(),
    JWT_MAX_AGE: duration('24h'),
    JWT_JWKS_URL: optionalUrl,
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).optional(),
    ORG_ID: z.string().min(1).max(200).optional(),
    CONVERSATION_ID_SECRET: z.string().min(32, 'CONVERSATION_ID_SECRET must be at least 32 characters').optional(),
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(1000).optional(),
    COLLECTIONS_MONITOR_URL: optionalUrl,
    SMS_AGENT_URL: optionalUrl,
    NOTIFICATION_SERVICE_URL: optionalUrl,
    SIMULATOR_BASE_PORT: z.coerce.number().int().default(8001),
    OPENAI_API_KEY: z.string().optional(),
    OPENAI_MODEL: z.string().default('gpt-4-turbo'),
    OPENAI_BASE_URL: optionalUrl,
    OPENAI_TIMEOUT: duration('30s'),
    AUTO_SEND_ABOVE: z.coerce.number().min(0).max(1).default(0.85),
    REVIEW_AT_LEAST: z.coerce.number().min(0).max(1).default(0.6),
    NO_REPLY_TIMEOUT: duration('36h'),
    APPROVAL_SLA: duration('4h'),
    SERVICE_TIMEOUT: duration('30s'),
    RUN_WORKER: z
      .enum(['0', '1', 'true', 'false'])
      .default('1')
      .transform((value) => value === '1' || value === 'true'),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(DEFAULT_WORKER_CONCURRENCY),
    WORKER_SWEEP_INTERVAL: duration('10s'),
    /** How long a send waits out an SMS Agent outage before the conversation fails for staff. */
    SEND_RETRY_WINDOW: duration('15m'),
    /** Conversations a process remembers as it last wrote them, to skip a read per event (0: off; unset: see composition). */
    CONVERSATION_CACHE_SIZE: z.coerce.number().int().min(0).max(1_000_000).optional(),
    /** The write path's and the send's statements as named prepared statements: `auto` (on with a worker in the process), `on`, `off`. */
    DB_PREPARED_STATEMENTS: z.enum(['auto', 'on', 'off']).default('auto'),
    MANAGERS_RECIPIENT: z.string().default('collections-managers'),
    AGENCY_NAME: z
      .string()
      .optional()
      .refine(
        (value) => value === undefined || (normaliseAgencyName(value) !== null && normaliseAgencyName(value)!.length <= MAX_AGENCY_NAME_LENGTH),
        `AGENCY_NAME must be 1–${MAX_AGENCY_NAME_LENGTH} characters with a letter or digit`,
      ),
    SMS_MAX_SEGMENTS: z.coerce.number().int().min(1).max(10).default(DEFAULT_MAX_SEGMENTS),
    ALLOW_FEE_LANGUAGE: z
      .enum(['0', '1', 'true', 'false'])
      .default('0')
      .transform((value) => value === '1' || value === 'true'),
    /** A static bearer token for Prometheus: when set, /metrics takes it and nothing else. */
    METRICS_TOKEN: z
      .string()
      .min(16, 'METRICS_TOKEN must be at least 16 characters')
      .regex(/^\S+$/, 'METRICS_TOKEN must not contain spaces')
      .optional(),
    /** Also serve /metrics (alone) on this port: an internal port for the scraper, and the only one of a worker-only process. */
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    INSPECT: z
      .enum(['0', '1', 'true', 'false'])
      .default('0')
      .transform((value) => value === '1' || value === 'true'),
    /** A relay (an inspector server someone else runs) to send to instead of starting one. */
    INSPECT_URL: z.string().url().refine((value) => /^wss?:/.test(value), 'INSPECT_URL must be a ws:// or wss:// URL').optional(),
    INSPECT_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
    INSPECT_PII: z
      .enum(['0', '1', 'true', 'false'])
      .default('0')
      .transform((value) => value === '1' || value === 'true'),
    DEFAULT_TIME_ZONE: z
      .string()
      .default('America/New_York')
      .refine(isTimeZone, 'expected an IANA time zone such as America/Chicago'),
    PLAN_MIN_WEEKLY: z
      .string()
      .default('25')
      .refine((value) => (parseAmountToCents(value) ?? 0) > 0, 'expected a positive amount in dollars such as 25 or 25.50')
      .transform((value) => parseAmountToCents(value)!),
    PLAN_MAX_WEEKS: z.coerce.number().int().min(1).max(104).default(12),
    PLAN_MIN_TOTAL_PERCENT: z.coerce.number().int().min(1).max(100).default(90),
    PLAN_MAX_DAYS_TO_FIRST_PAYMENT: z.coerce.number().int().min(0).max(365).default(30),
    PLAN_AUTO_AGREE_MAX_WEEKS: z.coerce.number().int().min(0).max(104).default(4),
    PLAN_MANAGER_AFTER_FAILED: z.coerce.number().int().min(0).max(100).default(2),
    PLAN_MAX_COUNTER_RATIO: z.coerce.number().min(1).max(100).default(3),
    PLAN_GRACE_PERIOD: duration('3d', { zero: 'allowed' }),
    PLAN_REMINDER_DAYS_BEFORE: z.coerce.number().int().min(0).max(30).default(2),
    PLAN_REMINDER_HOUR: z.coerce.number().int().min(8).max(20).default(10),
    CALLING_HOURS_START: z.coerce.number().int().min(0).max(23).default(8),
    CALLING_HOURS_END: z.coerce.number().int().min(1).max(24).default(21),
    REPLY_WINDOW: duration('30m', { zero: 'allowed' }),
    IDENTITY_CHECK: z.enum(['on_record', 'off']).default('on_record'),
    CAP_UNSOLICITED_PER_DAY: z.coerce.number().int().min(0).max(100).default(3),
    CAP_UNSOLICITED_PER_WEEK: z.coerce.number().int().min(0).max(100).default(7),
    CAP_REPLIES_PER_DAY: z.coerce.number().int().min(1).max(1000).default(10),
    SERVICE_TIME_ZONES: z
      .string()
      .default('America/New_York,America/Chicago,America/Denver,America/Phoenix,America/Los_Angeles')
      .transform((value) => value.split(',').map((zone) => zone.trim()).filter(Boolean))
      .refine((zones) => zones.length > 0 && zones.every(isTimeZone), 'expected a comma-separated list of IANA time zones'),
  })
  .refine((env) => env.CALLING_HOURS_START < env.CALLING_HOURS_END, {
    message: 'CALLING_HOURS_START must be before CALLING_HOURS_END',
    path: ['CALLING_HOURS_END'],
  })
  .refine((env) => env.REVIEW_AT_LEAST <= env.AUTO_SEND_ABOVE, {
    message: 'REVIEW_AT_LEAST must not exceed AUTO_SEND_ABOVE',
    path: ['REVIEW_AT_LEAST'],
  })
  .refine((env) => env.METRICS_PORT === undefined || env.METRICS_PORT === 0 || env.METRICS_PORT !== env.PORT, {
    message: 'METRICS_PORT must differ from PORT',
    path: ['METRICS_PORT'],
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.JWT_SECRET !== undefined, {
    message: 'JWT_SECRET is required in production',
    path: ['JWT_SECRET'],
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.AGENCY_NAME !== undefined, {
    message: 'AGENCY_NAME is required in production',
    path: ['AGENCY_NAME'],
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.OUTBOUND_JWT_SECRET !== undefined, {
    message: 'OUTBOUND_JWT_SECRET is required in production',
    path: ['OUTBOUND_JWT_SECRET'],
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.CONVERSATION_ID_SECRET !== undefined, {
    message: 'CONVERSATION_ID_SECRET is required in production',
    path: ['CONVERSATION_ID_SECRET'],
  })
  // The same secret both ways would let any downstream service replay our token against our API.
  .refine((env) => (env.OUTBOUND_JWT_SECRET ?? DEV_OUTBOUND_JWT_SECRET) !== (env.JWT_SECRET ?? DEV_JWT_SECRET), {
    message: 'OUTBOUND_JWT_SECRET must differ from JWT_SECRET',
    path: ['OUTBOUND_JWT_SECRET'],
  })
  .refine((env) => env.DB_POOL_SIZE === undefined || !env.RUN_WORKER || env.DB_POOL_SIZE >= POOL_MINIMUM_WITH_WORKER, {
    message: `DB_POOL_SIZE must be at least ${POOL_MINIMUM_WITH_WORKER} when the worker runs (its liveness session and LISTEN, one for jobs, one for HTTP)`,
    path: ['DB_POOL_SIZE'],
  })
  .refine((env) => env.DATABASE_DIRECT_URL === undefined || env.DATABASE_URL !== undefined, {
    message: 'DATABASE_DIRECT_URL goes with DATABASE_URL (the pooled connection HTTP-only processes use); set both',
    path: ['DATABASE_DIRECT_URL'],
  })
  // Production never falls back to an embedded database or to simulators that would swallow every SMS.
  .refine((env) => env.NODE_ENV !== 'production' || env.DATABASE_URL !== undefined, {
    message: 'DATABASE_URL is required in production',
    path: ['DATABASE_URL'],
  })
  .refine(
    (env) =>
      env.NODE_ENV !== 'production' ||
      (env.COLLECTIONS_MONITOR_URL !== undefined && env.SMS_AGENT_URL !== undefined && env.NOTIFICATION_SERVICE_URL !== undefined),
    { message: 'COLLECTIONS_MONITOR_URL, SMS_AGENT_URL and NOTIFICATION_SERVICE_URL are required in production', path: ['SMS_AGENT_URL'] },
  );

export type Config = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigurationError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  return Object.freeze({
    env: e.NODE_ENV,
    port: e.PORT,
    httpKeepAliveMs: e.HTTP_KEEP_ALIVE_TIMEOUT,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    /** Workers and migrations connect here: they need a session of their own, which a transaction pooler is not. */
    databaseDirectUrl: e.DATABASE_DIRECT_URL ?? e.DATABASE_URL,
    databaseCaCert: e.DATABASE_CA_CERT,
    dbPoolSize: e.DB_POOL_SIZE ?? DEFAULT_POOL_SIZE,
    dataDir: e.DATA_DIR,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    jwtSecret: e.JWT_SECRET ?? DEV_JWT_SECRET,
    /** The console's "sign in as a development manager": only where the secret is the public development one, outside production. */
    consoleDevSignIn: e.NODE_ENV !== 'production' && (e.JWT_SECRET ?? DEV_JWT_SECRET) === DEV_JWT_SECRET,
    jwtMaxAgeMs: e.JWT_MAX_AGE,
    /** Inbound tokens (docs/auth.md): HS256 with jwtSecret, RS256/ES256 from the key set; iss and aud when set. */
    auth: {
      jwksUrl: e.JWT_JWKS_URL,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      orgId: e.ORG_ID ?? (e.NODE_ENV === 'production' ? undefined : DEV_ORG_ID),
    },
    conversationIdSecret: e.CONVERSATION_ID_SECRET ?? DEV_CONVERSATION_ID_SECRET,
    outboundJwt: { secret: e.OUTBOUND_JWT_SECRET ?? DEV_OUTBOUND_JWT_SECRET, audience: e.OUTBOUND_JWT_AUDIENCE },
    services: {
      collectionsMonitor: e.COLLECTIONS_MONITOR_URL,
      smsAgent: e.SMS_AGENT_URL,
      notificationService: e.NOTIFICATION_SERVICE_URL,
      simulatorBasePort: e.SIMULATOR_BASE_PORT,
      timeoutMs: e.SERVICE_TIMEOUT,
    },
    openai: {
      apiKey: e.OPENAI_API_KEY,
      model: e.OPENAI_MODEL,
      baseUrl: e.OPENAI_BASE_URL,
      timeoutMs: e.OPENAI_TIMEOUT,
    },
    routing: { autoSendAbove: e.AUTO_SEND_ABOVE, reviewAtLeast: e.REVIEW_AT_LEAST },
    timers: { noReplyMs: e.NO_REPLY_TIMEOUT, approvalSlaMs: e.APPROVAL_SLA },
    worker: { run: e.RUN_WORKER, concurrency: e.WORKER_CONCURRENCY, sweepIntervalMs: e.WORKER_SWEEP_INTERVAL, sendRetryWindowMs: e.SEND_RETRY_WINDOW },
    conversationCacheSize: e.CONVERSATION_CACHE_SIZE,
    preparedStatements: e.DB_PREPARED_STATEMENTS,
    managersRecipient: e.MANAGERS_RECIPIENT,
    compliance: {
      agencyName: normaliseAgencyName(e.AGENCY_NAME) ?? DEV_AGENCY_NAME,
      maxSegments: e.SMS_MAX_SEGMENTS,
      allowFees: e.ALLOW_FEE_LANGUAGE,
    },
    metrics: { token: e.METRICS_TOKEN, port: e.METRICS_PORT },
    /** The Stately inspector (docs/audit.md §4): on with INSPECT=1 or an INSPECT_URL; texts and numbers only with INSPECT_PII=1. */
    inspect: {
      enabled: e.INSPECT || e.INSPECT_URL !== undefined,
      url: e.INSPECT_URL,
      port: e.INSPECT_PORT,
      includePii: e.INSPECT_PII,
    },
    negotiation: {
      defaultTimeZone: e.DEFAULT_TIME_ZONE,
      policy: {
        minWeeklyCents: e.PLAN_MIN_WEEKLY,
        maxWeeks: e.PLAN_MAX_WEEKS,
        minTotalBasisPoints: e.PLAN_MIN_TOTAL_PERCENT * 100,
        maxDaysToFirstPayment: e.PLAN_MAX_DAYS_TO_FIRST_PAYMENT,
        autoAgreeMaxWeeks: e.PLAN_AUTO_AGREE_MAX_WEEKS,
        managerAfterFailedPlans: e.PLAN_MANAGER_AFTER_FAILED,
        maxCounterRatio: e.PLAN_MAX_COUNTER_RATIO,
      },
      timers: { reminderDaysBefore: e.PLAN_REMINDER_DAYS_BEFORE, reminderHour: e.PLAN_REMINDER_HOUR, graceMs: e.PLAN_GRACE_PERIOD },
    },
    identityCheck: e.IDENTITY_CHECK,
    frequencyCaps: { unsolicitedPerDay: e.CAP_UNSOLICITED_PER_DAY, unsolicitedPerWeek: e.CAP_UNSOLICITED_PER_WEEK, repliesPerDay: e.CAP_REPLIES_PER_DAY },
    contactWindow: {
      startHour: e.CALLING_HOURS_START,
      endHour: e.CALLING_HOURS_END,
      replyWindowMs: e.REPLY_WINDOW,
      fallbackZones: e.SERVICE_TIME_ZONES,
      maxAreaCodeZones: DEFAULT_CONTACT_WINDOW.maxAreaCodeZones,
    },
  });
}

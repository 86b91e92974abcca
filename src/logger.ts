import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger } from 'pino';
import { AppError, ServiceError } from './errors.js';

export type { Logger };

/** Carries the request id (and whatever else belongs to one request or job) into every log line. */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/**
 * Personal data never reaches the logs, at any level: phone numbers and message texts are censored wherever
 * they appear under these keys (up to three levels deep), and errors are logged through `errorFields`.
 */
const REDACTED_KEYS = ['phone', 'phone_number', 'to', 'body', 'content', 'text', 'finalText', 'approved_text', 'modified_text', 'tenant_name', 'tenantName'];
const REDACT_PATHS = [
  ...REDACTED_KEYS,
  ...REDACTED_KEYS.map((key) => `*.${key}`),
  ...REDACTED_KEYS.map((key) => `*.*.${key}`),
  'req.headers.authorization',
];

/** Fields of an error that name what failed without quoting data: pg's SQLSTATE, table, constraint, routine; Node's errno. */
const SAFE_ERROR_FIELDS = [
  'code', 'errno', 'syscall', 'severity', 'table', 'column', 'constraint', 'schema', 'dataType', 'routine',
  'status', 'statusCode', 'upstreamStatus', 'service', 'retryable',
] as const;

/**
 * How every `err` is logged, at every level. An error's message is ours only when we wrote it (an AppError):
 * anything else may quote what it failed on. A pg error's message, `detail` and `where` quote the values
 * of the row or the JSON it refused — a debtor's text or number — so of those only the code, table,
 * constraint and routine are kept. The stack is kept without its first line, which repeats the message.
 */
export function errorFields(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const fields: Record<string, unknown> = { type: error.constructor?.name ?? error.name };
  // A ServiceError can carry what the downstream service answered, which may quote what we sent it.
  if (error instanceof AppError && !(error instanceof ServiceError)) fields.message = error.message;
  for (const key of SAFE_ERROR_FIELDS) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  const frames = error.stack?.split('\n').filter((line) => line.startsWith('    at '));
  if (frames && frames.length > 0) fields.stack = frames.join('\n');
  if (error.cause !== undefined && depth < 3) fields.cause = errorFields(error.cause, depth + 1);
  return fields;
}

export function createLogger(options: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      name: options.name ?? 'orchestrator',
      level: options.level,
      serializers: { err: errorFields },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      mixin: () => {
        const context = requestContext.getStore();
        return context ? { requestId: context.requestId } : {};
      },
    },
    options.destination ?? pino.destination(1),
  );
}

/**
 * Readable lines for a person at a terminal (`npm start`, `npm run dev`): pino-pretty, one line per entry,
 * when stdout is a TTY and pino-pretty is installed (a development dependency: not in the production
 * image). Anything else (a pipe, a file, a container's log collector) gets pino's JSON lines. Redaction
 * happens before either.
 */
export async function terminalDestination(
  stdout: { isTTY?: boolean } = process.stdout,
  output?: NodeJS.WritableStream,
): Promise<pino.DestinationStream | undefined> {
  if (!stdout.isTTY) return undefined;
  try {
    const { default: pretty } = await import('pino-pretty');
    return pretty({ colorize: output === undefined, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true, sync: true, ...(output ? { destination: output } : {}) });
  } catch {
    return undefined;
  }
}

/** Last four digits only, for the rare place a number helps an operator (debug level). */
export function maskPhone(phone: string): string {
  return phone.length <= 4 ? '****' : `***${phone.slice(-4)}`;
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger } from 'pino';

export type { Logger };

/** Carries the request id (and whatever else belongs to one request or job) into every log line. */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/**
 * Personal data never reaches info-level logs: phone numbers and message texts are censored wherever
 * they appear under these keys, however deep the object that carries them.
 */
const REDACTED_KEYS = ['phone', 'phone_number', 'to', 'body', 'content', 'text', 'finalText', 'approved_text', 'modified_text', 'tenant_name', 'tenantName'];
const REDACT_PATHS = [
  ...REDACTED_KEYS,
  ...REDACTED_KEYS.map((key) => `*.${key}`),
  ...REDACTED_KEYS.map((key) => `*.*.${key}`),
  'req.headers.authorization',
];

export function createLogger(options: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      name: options.name ?? 'orchestrator',
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      mixin: () => {
        const context = requestContext.getStore();
        return context ? { requestId: context.requestId } : {};
      },
    },
    options.destination ?? pino.destination(1),
  );
}

/** Last four digits only, for the rare place a number helps an operator (debug level). */
export function maskPhone(phone: string): string {
  return phone.length <= 4 ? '****' : `***${phone.slice(-4)}`;
}

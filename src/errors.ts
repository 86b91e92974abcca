/**
 * One small error family. `code` is machine-readable, `status` is what the HTTP error handler answers,
 * `retryable` tells workers whether trying again may help.
 */
export class AppError extends Error {
  /** Fields a caller reads beside `error` and `request_id` (the error handler adds them; never personal data). */
  responseFields?: Record<string, unknown>;

  constructor(
    readonly code: string,
    message: string,
    readonly status = 500,
    readonly retryable = false,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string, details?: unknown) => new AppError('invalid_request', message, 400, false, details);
export const notFound = (what: string) => new AppError('not_found', `${what} not found`, 404);
export const conflict = (code: string, message: string, details?: unknown) => new AppError(code, message, 409, false, details);
export const forbidden = (code: string, message: string) => new AppError(code, message, 403);

/** A downstream call that failed. 5xx, timeouts and open breakers may be retried; other 4xx may not. */
export class ServiceError extends AppError {
  constructor(
    readonly service: string,
    message: string,
    retryable: boolean,
    readonly upstreamStatus?: number,
    options?: { cause?: unknown },
  ) {
    super(`${service}_unavailable`, message, 502, retryable, upstreamStatus ? { upstreamStatus } : undefined, options);
    this.name = 'ServiceError';
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof AppError ? error.retryable : true;
}

/**
 * A setting the operator must change (a variable, a directory, a port; or a configuration that cannot work,
 * found only once connected): one line, exit status 2, and a supervisor does not restart it in a loop.
 */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

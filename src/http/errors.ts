import type { ErrorRequestHandler, RequestHandler } from 'express';
import { databaseUnavailable, isDatabaseUnavailable } from '../db/database.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

/** The only place that writes an error response: `{error: {code, message, details?}, request_id}`. */
export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const appError = toAppError(error);
    // `err` goes through the logger's error serializer (src/logger.ts), which never logs what a database
    // error may quote of the request (its message, detail, where): only its code, table, constraint, routine.
    if (appError.status >= 500) logger.error({ err: error, code: appError.code, path: req.path }, 'request failed');
    else logger.debug({ code: appError.code, path: req.path }, 'request refused');
    // RFC 6750: a 401 tells the caller which scheme we want.
    if (appError.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    res.status(appError.status).json({
      ...appError.responseFields,
      error: { code: appError.code, message: appError.message, ...(appError.details === undefined ? {} : { details: appError.details }) },
      request_id: res.locals.requestId,
    });
  };
}

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isDatabaseUnavailable(error)) return databaseUnavailable(error);
  const status = (error as { status?: number; statusCode?: number }).status ?? (error as { statusCode?: number }).statusCode;
  const type = (error as { type?: string }).type;
  if (type === 'entity.parse.failed') return new AppError('invalid_json', 'the body is not valid JSON', 400);
  if (type === 'entity.too.large') return new AppError('body_too_large', 'the body is too large', 413);
  // Anything else Express or body-parser refuses (an unsupported charset or encoding, an aborted body). A fixed
  // message: theirs can quote what the caller sent.
  if (status && status >= 400 && status < 500) return new AppError('bad_request', 'the request could not be read', status);
  return new AppError('internal_error', 'something went wrong on our side', 500);
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('route_not_found', `no route for ${req.method} ${req.path}`, 404));
};

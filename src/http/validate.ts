import type { z } from 'zod';
import { AppError, badRequest } from '../errors.js';
import { INVALID_PHONE_NUMBER } from './schemas.js';

/**
 * Parses or throws a 400 whose details list each problem with its path. A phone number that is not one is
 * `invalid_phone_number` when it is the only problem; among others, the body is `invalid_request` and the
 * phone's entry in `details` carries `code: invalid_phone_number`.
 */
export function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const details = result.error.issues.map((issue) => {
      const code = issue.code === 'custom' ? (issue.params as { code?: string } | undefined)?.code : undefined;
      return { path: issue.path.join('.'), message: issue.message, ...(code ? { code } : {}) };
    });
    if (details.every((detail) => detail.code === INVALID_PHONE_NUMBER)) {
      throw new AppError(INVALID_PHONE_NUMBER, 'the phone number is not a phone number', 400, false, details);
    }
    throw badRequest('the request is not valid', details);
  }
  return result.data;
}

import type { z } from 'zod';
import { AppError, badRequest } from '../errors.js';
import { FIELD_ERROR_CODES } from './schemas.js';

const FIELD_ERROR_MESSAGES: Record<(typeof FIELD_ERROR_CODES)[number], string> = {
  invalid_phone_number: 'the phone number is not a phone number',
  invalid_tenant_id: 'the tenant id is not a safe path segment',
  amount_out_of_range: 'an amount is above the largest one accepted',
};

/**
 * Parses or throws a 400 whose details list each problem with its path. A phone number that is not one, a
 * tenant id that is not a safe path segment, an amount above the maximum: the error's code is theirs
 * (`invalid_phone_number`, `invalid_tenant_id`, `amount_out_of_range`) when that is the only kind of problem;
 * among others, the body is `invalid_request` and each entry in `details` carries its `code`.
 */
export function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const details = result.error.issues.map((issue) => {
      const code = issue.code === 'custom' ? (issue.params as { code?: string } | undefined)?.code : undefined;
      return { path: issue.path.join('.'), message: issue.message, ...(code ? { code } : {}) };
    });
    const only = details[0]?.code;
    if (FIELD_ERROR_CODES.some((code) => code === only) && details.every((detail) => detail.code === only)) {
      throw new AppError(only!, FIELD_ERROR_MESSAGES[only as (typeof FIELD_ERROR_CODES)[number]], 400, false, details);
    }
    throw badRequest('the request is not valid', details);
  }
  return result.data;
}

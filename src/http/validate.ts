import type { z } from 'zod';
import { badRequest } from '../errors.js';

/** Parses or throws a 400 whose details list each problem with its path. */
export function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw badRequest(
      'the request is not valid',
      result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    );
  }
  return result.data;
}

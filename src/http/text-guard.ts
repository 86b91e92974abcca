import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { describeUnsafe, findUnsafeCharacter, normaliseSmsText } from '../text/text.js';

/**
 * Every string that reaches a route is valid text (src/text/text.ts): body, path, query and the
 * Idempotency-Key and Authorization headers are checked here, after the token and before any route,
 * so no NUL, lone surrogate or control character ever reaches Postgres (which answers them with a 500)
 * or a log line. Refusals name where the problem is, never the value.
 *
 * The one exception is the text of an inbound SMS: it is normalised (normaliseSmsText), not refused.
 */

export interface Problem {
  path: string;
  message: string;
}

/** Where a debtor's SMS text sits in a request body. Matched like Express matches routes: any case, optional trailing slash. */
interface SmsTextField {
  method: string;
  path: RegExp;
  field: string;
  when?: (body: Record<string, unknown>) => boolean;
}

export const SMS_TEXT_FIELDS: readonly SmsTextField[] = [
  { method: 'POST', path: /^\/orchestrate\/sms-received\/?$/i, field: 'content' },
  { method: 'POST', path: /^\/v1\/conversations\/[^/]+\/events\/?$/i, field: 'text', when: (body) => body.type === 'sms.received' },
];

/** No body of ours nests deeper than 2; the limit bounds the walk (bodies are at most 64 kB anyway). */
export const MAX_BODY_DEPTH = 32;
/** Keys that only ever serve prototype pollution; no body of ours has them. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const CHECKED_HEADERS = ['idempotency-key', 'authorization'];
/** Enough to fix a request, bounded so that a hostile body cannot make a huge answer. */
const MAX_PROBLEMS = 20;

export const textGuard: RequestHandler = (req, _res, next) => {
  const text: Problem[] = [];
  const shape: Problem[] = [];
  checkPath(req.path, text);
  for (const name of CHECKED_HEADERS) walk(req.headers[name], `header.${name}`, text, shape);
  walk(req.query, 'query', text, shape);
  normaliseSmsFields(req);
  walk(req.body, 'body', text, shape);

  if (text.length > 0) return next(new AppError('invalid_text', 'the request holds characters that are not text', 400, false, text.slice(0, MAX_PROBLEMS)));
  if (shape.length > 0) return next(new AppError('invalid_request', 'the request is not valid', 400, false, shape.slice(0, MAX_PROBLEMS)));
  next();
};

function checkPath(path: string, problems: Problem[]) {
  for (const [index, segment] of path.split('/').entries()) {
    if (!segment.includes('%')) {
      const found = findUnsafeCharacter(segment);
      if (found) problems.push({ path: `url.segment.${index}`, message: describeUnsafe(found) });
      continue;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      // Percent-escapes that are not UTF-8 (also how a lone surrogate would have to be sent in a URL).
      problems.push({ path: `url.segment.${index}`, message: 'is not valid percent-encoded UTF-8' });
      continue;
    }
    const found = findUnsafeCharacter(decoded);
    if (found) problems.push({ path: `url.segment.${index}`, message: describeUnsafe(found) });
  }
}

function normaliseSmsFields(req: Request) {
  const body = req.body as unknown;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const record = body as Record<string, unknown>;
  for (const field of SMS_TEXT_FIELDS) {
    if (req.method !== field.method || !field.path.test(req.path) || (field.when && !field.when(record))) continue;
    const value = record[field.field];
    if (typeof value === 'string') record[field.field] = normaliseSmsText(value);
  }
}

/** Iterative, so a deeply nested body cannot overflow the stack before the depth check refuses it. */
function walk(root: unknown, rootPath: string, text: Problem[], shape: Problem[]) {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: rootPath, depth: 0 }];
  while (stack.length > 0 && text.length + shape.length < MAX_PROBLEMS) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      const found = findUnsafeCharacter(value);
      if (found) text.push({ path, message: describeUnsafe(found) });
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_BODY_DEPTH) {
      shape.push({ path, message: `nested deeper than ${MAX_BODY_DEPTH} levels` });
      continue;
    }
    const keys = Object.keys(value);
    for (const [index, key] of keys.entries()) {
      const found = findUnsafeCharacter(key);
      if (found) {
        // The key itself is not echoed: it is named by its position.
        text.push({ path: `${path}[key ${index}]`, message: `the key ${describeUnsafe(found)}` });
        continue;
      }
      if (FORBIDDEN_KEYS.has(key)) {
        shape.push({ path: `${path}.${key}`, message: 'this key is not allowed' });
        continue;
      }
      stack.push({ value: (value as Record<string, unknown>)[key], path: `${path}.${key}`, depth: depth + 1 });
    }
  }
}

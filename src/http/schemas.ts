import { z } from 'zod';
import { ESCALATION_TYPES } from '../../machines/conversation/conversation.types.js';
import { normalisePhone } from '../text/phone.js';
import type { Role } from './auth.js';

/** Request bodies, validated at the edge. Money is integer cents. */

const id = z.string().trim().min(1).max(200);
/** Keys the runtime writes itself (job results, timers, generated ones) are not for callers to take. */
const RESERVED_KEY = /^(result|timer|generated):/;
const callerKey = id.refine((key) => !RESERVED_KEY.test(key), 'this prefix is reserved for keys the service makes itself');
const text = z.string().trim().min(1).max(2_000);
/** The issue code `parse` (validate.ts) answers as `invalid_phone_number`. */
export const INVALID_PHONE_NUMBER = 'invalid_phone_number';
export const INVALID_TENANT_ID = 'invalid_tenant_id';
export const AMOUNT_OUT_OF_RANGE = 'amount_out_of_range';
/** Codes of our own that `parse` answers as the error's code when every problem of a body is that one. */
export const FIELD_ERROR_CODES = [INVALID_PHONE_NUMBER, INVALID_TENANT_ID, AMOUNT_OUT_OF_RANGE] as const;

/**
 * The largest amount one money field takes: $1,000,000.00. No consumer debt we collect comes near it, and
 * far below 2^53 cents, so sums of such amounts stay exact integers. Larger is a caller's bug, refused.
 */
export const MAX_AMOUNT_CENTS = 100_000_000;
/**
 * A positive amount of integer cents, at most MAX_AMOUNT_CENTS (the JSON Schema says so too). Checked by
 * hand so that any amount too large, 2^53 and beyond included, gets the one code.
 */
const amountCents = z
  .number()
  .superRefine((value, ctx) => {
    if (value > MAX_AMOUNT_CENTS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_AMOUNT_CENTS} cents ($1,000,000.00)`, params: { code: AMOUNT_OUT_OF_RANGE } });
    } else if (!Number.isInteger(value) || value < 1) {
      ctx.addIssue({ code: 'custom', message: 'expected a positive whole number of cents' });
    }
  })
  .meta({ type: 'integer', minimum: 1, maximum: MAX_AMOUNT_CENTS });

/**
 * A tenant id: it is also a path segment of the Collections Monitor's URL, so none that a URL would read as
 * another path (`.`, `..`, or one holding `/`, `\`, `?`, `#`).
 */
const tenantId = id.superRefine((value, ctx) => {
  if (value === '.' || value === '..' || /[/\\?#]/.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'a tenant id may not be "." or "..", nor hold / \\ ? #', params: { code: INVALID_TENANT_ID } });
  }
});
/** A phone number, handed on in E.164 (src/text/phone.ts): nothing after the schema sees the number as typed. */
const phone = z
  .string()
  .max(40)
  .transform((value, ctx) => {
    const e164 = normalisePhone(value);
    if (e164 === null) {
      ctx.addIssue({ code: 'custom', message: 'expected a phone number, such as +15551234567', params: { code: INVALID_PHONE_NUMBER } });
      return z.NEVER;
    }
    return e164;
  });

/**
 * An optional field of a compatibility (`/orchestrate/*`) body. The replaced system's models declare them
 * `Optional[...] = None`, so its callers send `null` for a field they leave out: null is read as absent.
 */
const optionalOrNull = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);

/** Path parameters, by route. */
export const conversationIdParams = z.object({ id });
export const workflowIdParams = z.object({ workflowId: id });
export const statusParams = z.object({ conversationId: id });

/** The SMS Agent's existing call. */
export const smsReceivedBody = z.object({
  tenant_id: tenantId,
  phone_number: phone,
  content: text,
  conversation_id: optionalOrNull(id),
  message_id: optionalOrNull(callerKey),
});

/**
 * Ours names the queue item (`response_queue_id`); the collections dashboard names the conversation and the
 * debtor's number instead (`conversation_id` + `phone_number`): the conversation's pending approval is the one.
 */
export const approveResponseBody = z
  .object({
    response_queue_id: optionalOrNull(id),
    conversation_id: optionalOrNull(id),
    phone_number: optionalOrNull(phone),
    action: z.enum(['approve', 'modify', 'escalate', 'reject']),
    approved_text: optionalOrNull(text),
    modified_text: optionalOrNull(text),
    escalation_reason: optionalOrNull(z.string().trim().max(500)),
    manager_id: optionalOrNull(id),
  })
  .refine((body) => body.action !== 'modify' || body.modified_text !== undefined, {
    message: 'modified_text is required when action is modify',
    path: ['modified_text'],
  })
  .refine((body) => body.response_queue_id !== undefined || body.conversation_id !== undefined, {
    message: 'response_queue_id (or conversation_id with phone_number) is required',
    path: ['response_queue_id'],
  })
  .refine((body) => body.response_queue_id !== undefined || body.conversation_id === undefined || body.phone_number !== undefined, {
    message: 'phone_number is required with conversation_id',
    path: ['phone_number'],
  });

const severity = z.enum(['low', 'medium', 'high', 'critical']);
/** The dashboard's `priority` words, read as a severity. */
const priority = z
  .enum(['low', 'normal', 'medium', 'high', 'urgent', 'critical'])
  .transform((value) => (value === 'normal' ? 'medium' : value === 'urgent' ? 'critical' : value));

/**
 * Every shape callers already send: ours `{conversation_id, reason}`; the typed one `{conversation_id,
 * escalation_type, severity, reason?}`; older ones with `workflow_id` and `escalation_reason`/`priority`.
 */
export const escalateBody = z
  .object({
    conversation_id: optionalOrNull(id),
    workflow_id: optionalOrNull(id),
    escalation_type: optionalOrNull(z.enum(ESCALATION_TYPES)),
    severity: optionalOrNull(severity),
    priority: optionalOrNull(priority),
    reason: optionalOrNull(z.string().trim().min(1).max(500)),
    escalation_reason: optionalOrNull(z.string().trim().min(1).max(500)),
  })
  .refine((body) => body.conversation_id !== undefined || body.workflow_id !== undefined, {
    message: 'conversation_id (or workflow_id) is required',
    path: ['conversation_id'],
  })
  .refine((body) => body.reason !== undefined || body.escalation_reason !== undefined || body.escalation_type !== undefined, {
    message: 'say why: reason, escalation_reason or escalation_type',
    path: ['reason'],
  })
  .transform((body) => ({
    conversationId: (body.conversation_id ?? body.workflow_id)!,
    escalationType: body.escalation_type ?? ('manual' as const),
    severity: body.severity ?? body.priority,
    reason: body.reason ?? body.escalation_reason,
  }));

/** The SMS Agent's plan detection: the debtor's message, and the model's answer when it drafted one. */
export const paymentPlanDetectedBody = z.object({
  conversation_id: id,
  tenant_id: tenantId,
  message_content: text,
  ai_response: optionalOrNull(z.string().trim().max(2_000)),
});

export const plansQuery = z.object({
  status: z.enum(['active', 'completed', 'broken', 'replaced', 'cancelled']).optional(),
  conversation_id: id.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const escalationsQuery = z.object({
  reason: z.string().trim().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const reason = z.string().trim().max(500).optional();

/** Events callers may post to `POST /v1/conversations/{id}/events`, and who may post each. */
export const eventBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('sms.received'), text, message_id: callerKey.optional(), tenant_id: tenantId.optional(), phone_number: phone.optional() }),
  z.object({ type: z.literal('payment.received'), amount_cents: amountCents, paid_in_full: z.boolean().default(false) }),
  z.object({ type: z.literal('review.approved'), approval_id: id, text: text.optional() }),
  z.object({ type: z.literal('review.modified'), approval_id: id, text }),
  z.object({ type: z.literal('review.escalated'), approval_id: id, reason }),
  z.object({ type: z.literal('review.rejected'), approval_id: id, reason }),
  z.object({ type: z.literal('staff.escalate'), reason, escalation_type: z.enum(ESCALATION_TYPES).optional(), severity: severity.optional() }),
  z.object({ type: z.literal('staff.resume') }),
  z.object({ type: z.literal('staff.close'), reason }),
  z.object({ type: z.literal('retry') }),
  z.object({ type: z.literal('identity.verified') }),
  z.object({ type: z.literal('identity.rejected') }),
  z.object({ type: z.literal('debt.verified') }),
]);
export type EventBody = z.infer<typeof eventBody>;

export const EVENT_ROLES: Record<EventBody['type'], Role[]> = {
  'sms.received': ['service'],
  'payment.received': ['service'],
  'review.approved': ['manager'],
  'review.modified': ['manager'],
  'review.escalated': ['manager'],
  'review.rejected': ['manager'],
  'staff.escalate': ['manager', 'service'],
  'staff.resume': ['manager'],
  'staff.close': ['manager'],
  retry: ['manager'],
  'identity.verified': ['manager'],
  'identity.rejected': ['manager'],
  'debt.verified': ['manager'],
};

export const approvalsQuery = z.object({
  status: z.enum(['pending', 'approved', 'modified', 'escalated', 'rejected', 'superseded', 'expired', 'withdrawn']).default('pending'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

export const idempotencyKey = callerKey;

/** A manager's suppression: the number is opted out for every conversation until an explicit opt-in. */
export const suppressionBody = z.object({ phone_number: phone, tenant_id: tenantId.optional(), reason: z.string().trim().min(1).max(500).optional() });
export const suppressionsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });

/** `true`/`false` (or `1`/`0`) in a query string. */
const queryFlag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

/** The managers' list of conversations (GET /v1/conversations). */
export const conversationsQuery = z.object({
  /** A top state (`negotiating`) or a full path (`negotiating.awaitingConfirmation`). */
  state: z.string().trim().regex(/^[A-Za-z]+(\.[A-Za-z]+)*$/, 'a state name or path').max(100).optional(),
  tenant_id: tenantId.optional(),
  /** Part of a tenant id, any case. */
  q: z.string().trim().min(1).max(200).optional(),
  updated_since: z.iso.datetime({ offset: true }).transform((value) => new Date(value)).optional(),
  escalated: queryFlag.optional(),
  awaiting_approval: queryFlag.optional(),
  in_plan: queryFlag.optional(),
  /** Also count the conversations in each state (under the other filters). */
  counts: queryFlag.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

/** A text a manager is writing, judged by the checks a decision applies (empty is judged too: it is refused). */
export const complianceCheckBody = z.object({ text: z.string().max(2_000) });

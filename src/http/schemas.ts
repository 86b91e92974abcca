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

/** Path parameters, by route. */
export const conversationIdParams = z.object({ id });
export const workflowIdParams = z.object({ workflowId: id });
export const statusParams = z.object({ conversationId: id });

/** The SMS Agent's existing call. */
export const smsReceivedBody = z.object({
  tenant_id: id,
  phone_number: phone,
  content: text,
  conversation_id: id.optional(),
  message_id: callerKey.optional(),
});

/**
 * Ours names the queue item (`response_queue_id`); the collections dashboard names the conversation and the
 * debtor's number instead (`conversation_id` + `phone_number`): the conversation's pending approval is the one.
 */
export const approveResponseBody = z
  .object({
    response_queue_id: id.optional(),
    conversation_id: id.optional(),
    phone_number: phone.optional(),
    action: z.enum(['approve', 'modify', 'escalate', 'reject']),
    approved_text: text.optional(),
    modified_text: text.optional(),
    escalation_reason: z.string().trim().max(500).optional(),
    manager_id: id.optional(),
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
    conversation_id: id.optional(),
    workflow_id: id.optional(),
    escalation_type: z.enum(ESCALATION_TYPES).optional(),
    severity: severity.optional(),
    priority: priority.optional(),
    reason: z.string().trim().min(1).max(500).optional(),
    escalation_reason: z.string().trim().min(1).max(500).optional(),
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
  tenant_id: id,
  message_content: text,
  ai_response: z.string().trim().max(2_000).optional(),
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
  z.object({ type: z.literal('sms.received'), text, message_id: callerKey.optional(), tenant_id: id.optional(), phone_number: phone.optional() }),
  z.object({ type: z.literal('payment.received'), amount_cents: z.number().int().positive(), paid_in_full: z.boolean().default(false) }),
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
export const suppressionBody = z.object({ phone_number: phone, reason: z.string().trim().min(1).max(500).optional() });
export const suppressionsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });

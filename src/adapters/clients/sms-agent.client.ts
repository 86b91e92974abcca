import { z } from 'zod';
import { ServiceError } from '../../errors.js';
import { SMS_AGENT, type SmsAgent, type SmsHistoryMessage } from '../ports.js';
import type { ServiceHttp } from './service-http.js';

const sendResponse = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  twilio_sid: z.string().nullish(),
  conversation_id: z.string().nullish(),
});

const historyResponse = z.object({
  messages: z.array(
    z.object({
      id: z.union([z.string(), z.number()]).transform(String),
      direction: z.string(),
      content: z.string().nullish().transform((value) => value ?? ''),
      delivery_status: z.string().nullish().transform((value) => value ?? null),
      created_at: z.string(),
      conversation_id: z.string().nullish().transform((value) => value ?? null),
    }),
  ),
});

export function createSmsAgentClient(http: ServiceHttp): SmsAgent {
  return {
    async send(message, idempotencyKey, signal) {
      const body = await http.request<unknown>('POST', '/sms/send', {
        json: { to: message.to, body: message.body, conversation_id: message.conversationId },
        headers: { 'idempotency-key': idempotencyKey },
        signal,
        operation: 'sms.send',
        // An agent that accepted the text but answered late would get it again on an immediate retry. The
        // send job retries instead, after checking the agent's history for this text.
        retry: false,
      });
      const parsed = sendResponse.safeParse(body);
      if (!parsed.success) throw new ServiceError(SMS_AGENT, 'sms_agent answered a send without an id', false);
      return { id: parsed.data.id };
    },

    async history(phone, signal) {
      let body: unknown;
      try {
        body = await http.request<unknown>('GET', ['conversations', phone], { signal, operation: 'sms.history' });
      } catch (error) {
        // A number that never texted has no conversation yet: that is an empty history, not a failure.
        if (error instanceof ServiceError && error.upstreamStatus === 404) return [];
        throw error;
      }
      const parsed = historyResponse.safeParse(body);
      if (!parsed.success) throw new ServiceError(SMS_AGENT, 'sms_agent answered an unexpected conversation shape', false);
      return parsed.data.messages
        .map((message, index) => ({ message, index, at: Date.parse(message.created_at) }))
        // Oldest first whatever order the agent uses; ties keep the agent's order.
        .sort((a, b) => (a.at - b.at) || (a.index - b.index))
        .map(({ message }): SmsHistoryMessage => ({
          id: message.id,
          direction: /^in/i.test(message.direction) ? 'inbound' : 'outbound',
          content: message.content,
          deliveryStatus: message.delivery_status,
          createdAt: message.created_at,
          conversationId: message.conversation_id,
        }));
    },
  };
}

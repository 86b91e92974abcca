import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type express from 'express';
import { z } from 'zod';
import { createFaults, createSimulatorApp, withControls, finishApp, sendError, validationDetails, type SimulatorControls } from './simulator-kit.js';

/**
 * Stand-in for the SMS Agent (docs/architecture.md §6): `POST /sms/send` (202, honours `Idempotency-Key`) and
 * `GET /conversations/{phone}`. Nothing leaves the machine; inbound texts are recorded with `recordInbound`.
 */

export interface SimulatedSms {
  id: string;
  phone_number: string;
  direction: 'inbound' | 'outbound';
  content: string;
  delivery_status: 'queued' | 'delivered' | 'received';
  conversation_id: string;
  twilio_sid: string;
  created_at: string;
}

export interface ReceivedSend {
  to: string;
  body: string;
  conversation_id?: string;
  idempotencyKey?: string;
  /** The caller's X-Request-Id: the request that caused the send, when one did. */
  requestId?: string;
  /** The message id answered. */
  id: string;
  /** When the send arrived (ms since the epoch), for the turn benchmark's timings. */
  receivedAtMs: number;
}

export interface SmsAgentSimulator extends SimulatorControls {
  app: express.Express;
  /** Every send stored, in arrival order (idempotent replays and simulated failures are not). */
  readonly sent: ReceivedSend[];
  /** Every send request that got past the faults, idempotent replays included: how often a text was handed over. */
  readonly arrivals: Array<{ to: string; idempotencyKey?: string; replay: boolean }>;
  recordInbound(phone: string, content: string, conversationId?: string): SimulatedSms;
  /** Both directions for one number, oldest first. */
  conversation(phone: string): SimulatedSms[];
  reset(): void;
}

const sendBody = z.object({
  to: z.string().regex(/^\+?[0-9][0-9 ().-]{5,19}$/, 'expected a phone number'),
  body: z.string().min(1).max(1600),
  conversation_id: z.string().min(1).optional(),
});

type SendAnswer = { id: string; twilio_sid: string; conversation_id: string };

export function createSmsAgentSimulator(options: { faultControl?: boolean } = {}): SmsAgentSimulator {
  const faults = createFaults({ control: options.faultControl });
  const app = createSimulatorApp(faults);
  const sent: ReceivedSend[] = [];
  const arrivals: SmsAgentSimulator['arrivals'] = [];
  const messages: SimulatedSms[] = [];
  const answers = new Map<string, SendAnswer>();

  const conversationIdFor = (phone: string) => `sim-conv-${createHash('sha256').update(phone).digest('hex').slice(0, 12)}`;
  const store = (message: Omit<SimulatedSms, 'id' | 'twilio_sid' | 'created_at'>): SimulatedSms => {
    const stored = { ...message, id: randomUUID(), twilio_sid: `SM${randomBytes(16).toString('hex')}`, created_at: new Date().toISOString() };
    messages.push(stored);
    return stored;
  };
  const conversation = (phone: string) => messages.filter((message) => message.phone_number === phone);


  app.post('/sms/send', async (req, res) => {
    const parsed = sendBody.safeParse(req.body ?? {});
    if (!parsed.success) return sendError(res, 400, 'validation_error', 'invalid send request', validationDetails(parsed.error));
    const key = req.get('idempotency-key');
    const replay = key ? answers.get(key) : undefined;
    arrivals.push({ to: parsed.data.to, idempotencyKey: key, replay: replay !== undefined });
    if (replay) {
      await faults.delay(req);
      return res.status(202).json(replay);
    }
    const { to, body } = parsed.data;
    const message = store({
      phone_number: to,
      direction: 'outbound',
      content: body,
      delivery_status: 'queued',
      conversation_id: parsed.data.conversation_id ?? conversationIdFor(to),
    });
    const answer: SendAnswer = { id: message.id, twilio_sid: message.twilio_sid, conversation_id: message.conversation_id };
    if (key) answers.set(key, answer);
    sent.push({
      to,
      body,
      conversation_id: parsed.data.conversation_id,
      idempotencyKey: key,
      requestId: req.get('x-request-id'),
      id: message.id,
      receivedAtMs: Date.now(),
    });
    // Stored before the (optional) delay: a caller that dies mid-request has still sent the text.
    await faults.delay(req);
    // Like the carrier callback would: queued → delivered once the agent has accepted it.
    res.on('finish', () => {
      message.delivery_status = 'delivered';
    });
    res.status(202).json(answer);
  });

  app.get('/conversations/:phone', async (req, res) => {
    const phone = req.params.phone;
    const history = conversation(phone).map(({ id, direction, content, delivery_status, created_at, conversation_id }) => ({
      id,
      direction,
      content,
      delivery_status,
      created_at,
      conversation_id,
    }));
    await faults.delay(req);
    res.json({ phone_number: phone, messages: history, total: history.length });
  });
  finishApp(app);

  return withControls<SmsAgentSimulator>(
    faults,
    {
      app,
      sent,
      arrivals,
      recordInbound(phone, content, conversationId) {
        return store({
          phone_number: phone,
          direction: 'inbound',
          content,
          delivery_status: 'received',
          conversation_id: conversationId ?? conversationIdFor(phone),
        });
      },
      conversation,
    },
    () => {
      sent.length = 0;
      arrivals.length = 0;
      messages.length = 0;
      answers.clear();
    },
  );
}

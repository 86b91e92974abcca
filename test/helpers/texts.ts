import request from 'supertest';
import type { Db } from '../../src/db/database.js';
import { signToken } from '../../src/http/auth.js';
import type { RunningSimulators } from '../../src/simulators/index.js';
import { TEST_JWT_SECRET, waitFor } from './orchestrator.js';

/**
 * Debtors texting in through the SMS Agent's webhook, and the check that each got exactly one reply: for the
 * tests that put the service through something (a pooler, a database restart) and count what came out.
 */
export interface InboundText {
  key: string;
  phone: string;
  conversationId: string;
}

export function inboundText(prefix: string, n: number): InboundText {
  return { key: `${prefix}-${n}`, phone: `+1555017${String(1_000 + n).padStart(4, '0')}`, conversationId: `conv-${prefix}-${n}` };
}

const serviceToken = signToken(TEST_JWT_SECRET, 'service', 'sms-agent');

/** Posts the text; the status, or 0 when nothing answered (the process was down). */
export async function postText(url: string, text: InboundText): Promise<number> {
  const response = await request(url)
    .post('/orchestrate/sms-received')
    .set('Authorization', `Bearer ${serviceToken}`)
    .set('Idempotency-Key', text.key)
    .send({ tenant_id: 'tenant-field', phone_number: text.phone, content: 'Hi, what is my balance?', conversation_id: text.conversationId })
    .catch(() => ({ status: 0 }));
  return response.status;
}

/** Waits until every conversation waits for the debtor's next text, then counts the replies each phone got. */
export async function waitUntilAnswered(db: Db, sms: RunningSimulators['sms'], texts: InboundText[], timeoutMs = 60_000) {
  const ids = texts.map((text) => text.conversationId);
  let answered = 0;
  await waitFor(
    async () => {
      if (ids.length === 0) return true;
      const rows = await db.selectFrom('conversations').select('id').where('id', 'in', ids).where('state', '=', 'awaitingReply').execute();
      answered = rows.length;
      return answered === ids.length;
    },
    timeoutMs,
    'every conversation to be answered',
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${answered} of ${ids.length} answered`);
  });
  return texts.map((text) => sms.sent.filter((sent) => sent.to === text.phone).length);
}

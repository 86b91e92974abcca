import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { deliverSms } from '../../src/adapters/sms-delivery.js';
import type { SmsAgent } from '../../src/adapters/ports.js';
import { createLogger } from '../../src/logger.js';
import { startSimulators, type RunningSimulators } from '../../src/simulators/index.js';
import { testServiceClients } from '../helpers/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * The hand-off to the SMS Agent on real Postgres and the simulator (docs/architecture.md §4): a retry
 * reconciles with the agent's history, but only ever with a text that is its own.
 */

let testDb: TestDatabase;
let simulators: RunningSimulators;
let smsAgent: SmsAgent;
const logger = createLogger({ level: 'silent' });

beforeAll(async () => {
  testDb = await createTestDatabase();
  simulators = await startSimulators({ basePort: 0, logger });
  const clients = testServiceClients(simulators, logger);
  smsAgent = clients.services.smsAgent;
});
afterAll(async () => {
  await simulators.close();
  await testDb.drop();
});
beforeEach(() => simulators.reset());

const deliver = (message: { key: string; conversationId: string; phone: string; text: string }) => deliverSms({ db: testDb.db, smsAgent, logger }, message);

describe('a retry reconciles only with its own text', () => {
  it("when two tenants' conversations text one number the same template and one send fails cleanly, then its retry sends its own text instead of adopting the other's", async () => {
    const phone = '+15550901001';
    const text = 'Acme Recovery is a debt collector. Reply STOP to opt out.';
    const other = await deliver({ key: 'draft-tenant-y', conversationId: 'conv-y', phone, text });

    // Tenant X's send meets a clean failure: 503, nothing stored at the agent; our row stays `sending`.
    simulators.sms.failNext(1, 503);
    await expect(deliver({ key: 'draft-tenant-x', conversationId: 'conv-x', phone, text })).rejects.toMatchObject({ retryable: true });
    expect(simulators.sms.sent).toHaveLength(1);

    const retried = await deliver({ key: 'draft-tenant-x', conversationId: 'conv-x', phone, text });
    expect(retried.smsId).not.toBe(other.smsId);
    expect(simulators.sms.sent.map((sent) => sent.conversation_id)).toEqual(['conv-y', 'conv-x']);
    const rows = await testDb.db.selectFrom('outbound_messages').select(['conversation_id', 'sms_agent_id']).where('conversation_id', 'in', ['conv-x', 'conv-y']).orderBy('conversation_id').execute();
    expect(rows).toEqual([
      { conversation_id: 'conv-x', sms_agent_id: simulators.sms.sent[1]!.id },
      { conversation_id: 'conv-y', sms_agent_id: other.smsId },
    ]);
  });

  it('when two of our rows would claim one SMS Agent id, then the database refuses the second', async () => {
    const values = (key: string) => ({ idempotency_key: key, conversation_id: key, body: 'x', status: 'accepted' as const, sms_agent_id: 'sms-shared-id' });
    await testDb.db.insertInto('outbound_messages').values(values('claim-a')).execute();
    await expect(testDb.db.insertInto('outbound_messages').values(values('claim-b')).execute()).rejects.toMatchObject({ code: '23505' });
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestOrchestrator, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * A conversation belongs to one tenant (docs/architecture.md §2, "Which conversation"). Two tenants' texts that
 * race for one caller-chosen conversation id: one creates it, the other is refused with nothing written.
 * No worker: only what the requests write.
 */

let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator({}, { worker: false });
});
afterAll(() => harness.stop());

const TRIALS = 20;
type Route = 'orchestrate' | 'events';

/** One inbound text naming `conversationId`, on either route that takes one; `tenants` scopes the service token. */
function inbound(route: Route, conversationId: string, tenant: string, phone: string, text: string, key: string, tenants?: string[]) {
  const token = harness.token('service', 'sms-agent', tenants ? { tenants } : undefined);
  const call =
    route === 'orchestrate'
      ? request(harness.url).post('/orchestrate/sms-received')
      : request(harness.url).post(`/v1/conversations/${encodeURIComponent(conversationId)}/events`);
  const body =
    route === 'orchestrate'
      ? { tenant_id: tenant, phone_number: phone, content: text, conversation_id: conversationId, message_id: key }
      : { type: 'sms.received', tenant_id: tenant, phone_number: phone, text, message_id: key };
  return call.set('Authorization', `Bearer ${token}`).send(body);
}

async function writtenFor(conversationId: string) {
  const db = harness.orchestrator.db;
  const [conversation, messages, inbox, transitions] = await Promise.all([
    db.selectFrom('conversations').select(['tenant_id', 'phone']).where('id', '=', conversationId).executeTakeFirst(),
    db.selectFrom('messages').select('body').where('conversation_id', '=', conversationId).execute(),
    db.selectFrom('inbox').select('idempotency_key').where('conversation_id', '=', conversationId).execute(),
    db.selectFrom('transitions').select('event_id').where('conversation_id', '=', conversationId).execute(),
  ]);
  return {
    tenant: conversation?.tenant_id,
    texts: messages.map((row) => row.body),
    keys: inbox.map((row) => row.idempotency_key),
    eventIds: [...new Set(transitions.map((row) => row.event_id))],
  };
}

describe('two tenants racing for one conversation id', () => {
  it.each<Route>(['orchestrate', 'events'])(
    `when tenants A and B text at once naming the same conversation id (%s route, ${TRIALS} trials, A's token scoped to A in half), then one gets 202, the other 409 conversation_mismatch (404 for a scoped token that may not see the winner), and no text lands in the other's conversation`,
    async (route) => {
      const crossed: string[] = [];
      for (let trial = 0; trial < TRIALS; trial += 1) {
        const id = `race-${route}-${trial}`;
        // Tenants sharing a debtor's number: the tenant alone tells the conversations apart.
        const phone = `+1555070${String(trial).padStart(4, '0')}`;
        const sides = [
          { tenant: 'tenant-race-a', text: `A says ${trial}`, key: `a-${route}-${trial}`, tenants: trial % 2 === 0 ? ['tenant-race-a'] : undefined },
          { tenant: 'tenant-race-b', text: `B says ${trial}`, key: `b-${route}-${trial}`, tenants: undefined },
        ];
        const responses = await Promise.all(sides.map((side) => inbound(route, id, side.tenant, phone, side.text, side.key, side.tenants)));
        const written = await writtenFor(id);
        const owner = sides.find((side) => side.tenant === written.tenant);
        const refusal = responses.find((response) => response.status !== 202);
        const outcome = {
          statuses: responses.map((response) => response.status).sort(),
          refusal: refusal?.body?.error?.code,
          texts: written.texts,
          keys: written.keys,
          eventIds: written.eventIds,
        };
        // A token scoped to A that loses to B is told nothing of B's conversation: 404, as when not racing.
        const refusedScoped = owner?.tenant === 'tenant-race-b' && sides[0]!.tenants !== undefined;
        const clean = {
          statuses: refusedScoped ? [202, 404] : [202, 409],
          refusal: refusedScoped ? 'not_found' : 'conversation_mismatch',
          texts: owner ? [owner.text] : ['(no owner)'],
          keys: owner ? [owner.key] : [],
          eventIds: owner ? [owner.key] : [],
        };
        if (JSON.stringify(outcome) !== JSON.stringify(clean)) crossed.push(`trial ${trial}: ${JSON.stringify(outcome)}`);
        // The owner's answer names its own conversation; the refused side's names nothing.
        const accepted = responses.find((response) => response.status === 202);
        if (accepted) expect(accepted.body.conversation_id).toBe(id);
      }
      expect(crossed).toEqual([]);
    },
    120_000,
  );
});

describe('a conversation keeps its tenant and number', () => {
  it("when tenant B names A's conversation with A's own message id, then 409 conversation_mismatch, not A's stored answer", async () => {
    await inbound('orchestrate', 'owned-1', 'tenant-own-a', '+15550710001', 'mine', 'own-1').expect(202);
    const refused = await inbound('orchestrate', 'owned-1', 'tenant-own-b', '+15550710001', 'not yours', 'own-1').expect(409);
    expect(refused.body.error.code).toBe('conversation_mismatch');
    expect((await writtenFor('owned-1')).texts).toEqual(['mine']);
  });

  it('when anything updates a conversation to another tenant or number, then the database refuses it', async () => {
    const db = harness.orchestrator.db;
    await expect(db.updateTable('conversations').set({ tenant_id: 'tenant-own-b' }).where('id', '=', 'owned-1').execute()).rejects.toThrow(/never change/);
    await expect(db.updateTable('conversations').set({ phone: '+15550710002' }).where('id', '=', 'owned-1').execute()).rejects.toThrow(/never change/);
    expect(await db.selectFrom('conversations').select(['tenant_id', 'phone']).where('id', '=', 'owned-1').executeTakeFirst()).toEqual({
      tenant_id: 'tenant-own-a',
      phone: '+15550710001',
    });
  });
});

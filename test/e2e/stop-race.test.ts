import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import request from 'supertest';
import { startTestOrchestrator, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';
import type { PendingApproval } from '../helpers/approvals.js';

/**
 * A STOP racing a manager's approval (docs/architecture.md §4): once we answered 202 to the STOP, no text of
 * the conversation reaches the SMS Agent, whoever wins. Many rounds on separate conversations, each STOP fired
 * a few milliseconds after its approval so that it lands in every phase of the send (before the worker
 * takes the job, during the send-time gate, during the hand-off). The simulator stamps each arrival.
 */

let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator({ WORKER_CONCURRENCY: '16' });
});
afterAll(() => harness.stop());

const ROUNDS = 100;
const TENANT = 'tenant-stop-race';
const service = () => ({ Authorization: `Bearer ${harness.token('service')}` });
const manager = () => ({ Authorization: `Bearer ${harness.token('manager', 'mia')}` });
const rounds = Array.from({ length: ROUNDS }, (_, n) => ({ n, id: `conv-stop-race-${n}`, phone: `+1555093${String(n).padStart(4, '0')}` }));

const inbound = (round: (typeof rounds)[number], content: string, key: string) =>
  request(harness.url)
    .post('/orchestrate/sms-received')
    .set(service())
    .set('Idempotency-Key', key)
    .send({ tenant_id: TENANT, phone_number: round.phone, content, conversation_id: round.id })
    .expect(202);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a STOP racing an approval', () => {
  it(`when a STOP and an approval race (${ROUNDS} rounds), then no text reaches the SMS Agent after our 202 to the STOP`, async () => {
    for (const round of rounds) await inbound(round, 'I lost my job last month', `race-${round.n}-hello`);
    for (const round of rounds) await waitForState(harness.orchestrator, round.id, ['pendingApproval'], 60_000);
    const queue = await request(harness.url).get(`/v1/approvals?status=pending&limit=200`).set(manager()).expect(200);
    const items = new Map((queue.body.items as PendingApproval[]).map((item) => [item.conversation_id, item.response_queue_id]));

    const stopAcknowledgedAt = new Map<string, number>();
    // Ten at a time, so that each send meets an unhurried worker, as in production.
    for (let batch = 0; batch < ROUNDS; batch += 10) {
      await Promise.all(
        rounds.slice(batch, batch + 10).map(async (round) => {
          const approval = request(harness.url)
            .post('/orchestrate/approve-response')
            .set(manager())
            .set('Idempotency-Key', `race-${round.n}-approve`)
            .send({ response_queue_id: items.get(round.id), action: 'approve' })
            .then((response) => expect([202, 409]).toContain(response.status));
          // Staggered, not a proof: each round's STOP lands at another moment of its send (which takes from a
          // few to several hundred milliseconds from the approval, by the machine's load).
          await pause((round.n % 10) * 150);
          await inbound(round, 'STOP', `race-${round.n}-stop`);
          stopAcknowledgedAt.set(round.id, Date.now());
          await approval;
        }),
      );
    }

    for (const round of rounds) await waitForState(harness.orchestrator, round.id, ['optedOut'], 60_000);
    // Every job of these conversations has run (a send still on its way would arrive late).
    await waitFor(async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from graphile_worker._private_jobs where payload->>'conversationId' like 'conv-stop-race-%'`.execute(harness.testDb.db);
      return rows[0]!.n === 0;
    }, 60_000, 'the race conversations to have no jobs left');

    const sent = harness.orchestrator.simulators!.sms.sent.filter((sms) => !/unsubscribed/.test(sms.body));
    const late = sent.filter((sms) => {
      const round = rounds.find((candidate) => candidate.phone === sms.to)!;
      return sms.receivedAtMs > stopAcknowledgedAt.get(round.id)!;
    });
    // How the races went, for the record: approved texts that reached the agent in all, and after the STOP's 202.
    process.stdout.write(`stop race: ${ROUNDS} rounds, ${sent.length} approved texts reached the SMS Agent, ${late.length} of them after the STOP's 202\n`);
    expect(late.map((sms) => ({ to: sms.to, msAfter: sms.receivedAtMs - stopAcknowledgedAt.get(rounds.find((r) => r.phone === sms.to)!.id)! }))).toEqual([]);
  }, 240_000);

  it("when a STOP comes in another conversation of the tenant with that number, then from our 202 on the first conversation's approved text does not go", async () => {
    const phone = '+15550939999';
    const other = { n: -1, id: 'conv-stop-other-a', phone };
    await inbound(other, 'I lost my job last month', 'other-a-hello');
    await waitForState(harness.orchestrator, other.id, ['pendingApproval']);
    const item = (await request(harness.url).get('/v1/approvals?status=pending&limit=200').set(manager()).expect(200)).body.items.find(
      (entry: PendingApproval) => entry.conversation_id === other.id,
    ) as PendingApproval;

    // The other conversation's drafter is slow to read the STOP (its tenant read waits): the 202 must not wait for it.
    harness.orchestrator.simulators!.monitor.setResponseDelay(3_000);
    await inbound({ n: -2, id: 'conv-stop-other-b', phone }, 'STOP', 'other-b-stop');
    const acknowledged = Date.now();
    await request(harness.url).post('/orchestrate/approve-response').set(manager()).send({ response_queue_id: item.response_queue_id, action: 'approve' }).expect(202);
    const settled = await waitForState(harness.orchestrator, other.id, ['failed', 'awaitingReply'], 30_000);
    const texts = harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === phone && !/unsubscribed/.test(sms.body) && sms.receivedAtMs > acknowledged);
    expect(texts).toEqual([]);
    expect(settled).toBe('failed'); // the send met the opt-out
    harness.orchestrator.simulators!.monitor.setResponseDelay(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { evaluatePlan } from '../../src/negotiation/index.js';
import { startTestOrchestrator, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';
import { pendingApproval } from '../helpers/approvals.js';

/**
 * Payment plans end to end with the default (rules) drafter: the SMS webhook, code's offer and
 * restatement, the debtor's yes, the stored plan, payments, a missed instalment. Real HTTP, real Postgres,
 * the worker, the simulators. The clock is injectable: moving it forward makes a due date pass.
 */

let harness: TestOrchestrator;
let clockOffsetMs = 0;
beforeAll(async () => {
  harness = await startTestOrchestrator({ PLAN_GRACE_PERIOD: '1h' }, { clock: () => Date.now() + clockOffsetMs });
});
afterAll(() => harness.stop());

const service = () => ({ Authorization: `Bearer ${harness.token('service')}` });
const manager = () => ({ Authorization: `Bearer ${harness.token('manager', 'mia')}` });
const DAY = 86_400_000;

let counter = 0;
/** A debtor with a $750 balance in Chicago, who has not broken a plan before. */
function debtor(tenantId: string) {
  counter += 1;
  const phone = `+1555040${String(counter).padStart(4, '0')}`;
  harness.orchestrator.simulators!.monitor.setTenant(tenantId, { amount_owed: '750.00', failed_payment_plans: 0, time_zone: 'America/Chicago' });
  const conversationId = `conv-plan-${counter}`;
  let message = 0;
  return {
    conversationId,
    phone,
    async says(content: string) {
      message += 1;
      await request(harness.url)
        .post('/orchestrate/sms-received')
        .set(service())
        .send({ tenant_id: tenantId, phone_number: phone, content, conversation_id: conversationId, message_id: `${conversationId}-m${message}` })
        .expect(202);
    },
    texts: () => harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === phone).map((sms) => sms.body),
    async pays(amountCents: number, key: string) {
      return request(harness.url)
        .post(`/v1/conversations/${conversationId}/events`)
        .set(service())
        .set('Idempotency-Key', key)
        .send({ type: 'payment.received', amount_cents: amountCents })
        .expect(202);
    },
    status: async () => (await request(harness.url).get(`/v1/conversations/${conversationId}`).set(manager()).expect(200)).body,
    /** A first hello, answered: the conversation exists and waits for the debtor. */
    async greets() {
      await this.says('hello');
      await waitForState(harness.orchestrator, conversationId, ['awaitingReply']);
    },
  };
}

async function textCount(d: ReturnType<typeof debtor>, count: number) {
  return waitFor(() => d.texts().length >= count && d.texts(), 10_000, `${count} texts to ${d.phone}`);
}

describe('payment plans, end to end (rules drafter)', () => {
  it('when a debtor offers $200/week for 4 weeks on $750 and says yes, then the plan is agreed, stored, paid and the conversation closes', async () => {
    const d = debtor('tenant-plan-en');
    await d.says('I can pay $200/week for 4 weeks starting next Friday');
    await waitForState(harness.orchestrator, d.conversationId, ['negotiating.awaitingConfirmation']);
    const [offer] = await textCount(d, 1);
    expect(offer).toMatch(/^4 weekly payments: \$200\.00 from \w{3}, \w{3} \d+, last \$150\.00 on \w{3} \d+\. Total \$750\.00\. Reply YES to agree\./);
    expect((await d.status()).offered_plan).toMatchObject({ count: 4, instalment_cents: 20_000, total_cents: 75_000 });

    await d.says('yes');
    await waitForState(harness.orchestrator, d.conversationId, ['planAgreed']);
    const [, confirmation] = await textCount(d, 2);
    expect(confirmation).toMatch(/^Thank you, your plan is set: 4 weekly payments/);
    const status = await d.status();
    expect(status).toMatchObject({ state: 'planAgreed', top_state: 'planAgreed', offered_plan: null });
    expect(status.plan).toMatchObject({ status: 'active', frequency: 'weekly', instalment_cents: 20_000, count: 4, total_cents: 75_000 });
    expect(status.plan.schedule.map((i: { amount_cents: number }) => i.amount_cents)).toEqual([20_000, 20_000, 20_000, 15_000]);
    // Stored with its schedule, and announced to staff.
    const plans = await request(harness.url).get(`/v1/plans?conversation_id=${d.conversationId}`).set(manager()).expect(200);
    expect(plans.body.items).toHaveLength(1);
    expect(plans.body.items[0].schedule.map((i: { status: string }) => i.status)).toEqual(['due', 'due', 'due', 'due']);
    await waitFor(
      () => harness.orchestrator.simulators!.notifications.received.find((n) => n.content.subject === 'A payment plan was agreed' && (n.metadata as { conversation_id?: string }).conversation_id === d.conversationId),
      10_000,
      'the staff notification',
    );

    await d.pays(20_000, `${d.conversationId}-p1`);
    await d.pays(20_000, `${d.conversationId}-p2`);
    const paying = await d.status();
    expect(paying.state).toBe('planAgreed');
    expect(paying.plan.schedule.map((i: { status: string }) => i.status)).toEqual(['kept', 'kept', 'due', 'due']);

    await d.pays(35_000, `${d.conversationId}-p3`);
    const done = await d.status();
    expect(done).toMatchObject({ state: 'closed', plan: { status: 'completed', paid_cents: 75_000 } });
    const history = await harness.orchestrator.db.selectFrom('payment_plan_history').select('status').where('plan_id', '=', done.plan.id).orderBy('id').execute();
    expect(history.map((row) => row.status)).toEqual(['active', 'completed']);
    const trail = await request(harness.url).get(`/v1/conversations/${d.conversationId}/transitions`).set(manager()).expect(200);
    expect(trail.body.transitions.map((t: { to_state: string }) => t.to_state)).toEqual(
      expect.arrayContaining(['negotiating.awaitingConfirmation', 'planAgreed', 'closed']),
    );
  });

  it('when a payment arrives while an offer awaits a yes, then the agreed plan is credited with it and the confirmation states what is still owed', async () => {
    const d = debtor('tenant-plan-paid-early');
    await d.says('I can pay $200/week for 4 weeks starting next Friday');
    await waitForState(harness.orchestrator, d.conversationId, ['negotiating.awaitingConfirmation']);
    await textCount(d, 1);
    await d.pays(47_200, `${d.conversationId}-early`);
    expect(await d.status()).toMatchObject({ state: 'negotiating.awaitingConfirmation', context: { paid_cents: 47_200 } });

    await d.says('yes');
    await waitForState(harness.orchestrator, d.conversationId, ['planAgreed']);
    const [, confirmation] = await textCount(d, 2);
    expect(confirmation).toMatch(/^Thank you, your plan is set: .*\$472\.00 received, \$278\.00 left\./);
    const status = await d.status();
    expect(status.plan).toMatchObject({ status: 'active', total_cents: 75_000, paid_cents: 47_200 });
    expect(status.plan.schedule.map((i: { status: string; paid_cents: number }) => [i.status, i.paid_cents])).toEqual([
      ['kept', 20_000],
      ['kept', 20_000],
      ['due', 7_200],
      ['due', 0],
    ]);
    const plans = await request(harness.url).get(`/v1/plans?conversation_id=${d.conversationId}`).set(manager()).expect(200);
    expect(plans.body.items[0]).toMatchObject({ paid_cents: 47_200 });
    expect(plans.body.items[0].schedule.map((i: { status: string }) => i.status)).toEqual(['kept', 'kept', 'due', 'due']);

    // Paying what is left ($278.00), not the full total, settles the plan.
    await d.pays(27_800, `${d.conversationId}-rest`);
    expect(await d.status()).toMatchObject({ state: 'closed', plan: { status: 'completed', paid_cents: 75_000 } });
  });

  it('when a payment is more than what is left of the plan, then the plan completes and the overpayment goes to a person (escalated, overpaid), listed with the open escalations', async () => {
    const d = debtor('tenant-plan-overpaid');
    await d.says('I can pay $200/week for 4 weeks starting next Friday');
    await waitForState(harness.orchestrator, d.conversationId, ['negotiating.awaitingConfirmation']);
    await d.says('yes');
    await waitForState(harness.orchestrator, d.conversationId, ['planAgreed']);
    await d.pays(100_000_000, `${d.conversationId}-million`);
    const status = await d.status();
    expect(status).toMatchObject({ state: 'escalated', plan: { status: 'completed', paid_cents: 100_000_000, total_cents: 75_000 } });
    expect(status.context.escalation).toMatchObject({ reason: 'overpaid', severity: 'high' });
    const open = await request(harness.url).get('/v1/escalations?reason=overpaid').set(manager()).expect(200);
    expect(open.body.items).toEqual([expect.objectContaining({ conversation_id: d.conversationId, escalation_type: 'overpaid', severity: 'high' })]);
  });

  it('when a Spanish-speaking debtor offers and says sí, then everything happens in Spanish and the plan is agreed', async () => {
    const d = debtor('es-plan-1');
    await d.says('puedo pagar 200 por semana por 4 semanas a partir del viernes');
    await waitForState(harness.orchestrator, d.conversationId, ['negotiating.awaitingConfirmation']);
    const [offer] = await textCount(d, 1);
    expect(offer).toMatch(/^4 pagos semanales: \$200\.00 desde .*, último \$150\.00 .*Total \$750\.00\. Responda SI para aceptar\. .*cobrador de deudas/);
    await d.says('Sí, de acuerdo');
    await waitForState(harness.orchestrator, d.conversationId, ['planAgreed']);
    const [, confirmation] = await textCount(d, 2);
    expect(confirmation).toMatch(/^Gracias, su plan quedó acordado: /);
    expect((await d.status()).plan).toMatchObject({ status: 'active', count: 4, total_cents: 75_000 });
  });

  it('when the offer is too little, then the debtor gets a counter-proposal the policy accepts', async () => {
    const d = debtor('tenant-plan-counter');
    await d.says('I can pay $50 a week for 8 weeks');
    await waitForState(harness.orchestrator, d.conversationId, ['pendingApproval', 'negotiating.awaitingConfirmation']);
    const status = await d.status();
    const offered = status.state === 'pendingApproval' ? (await pendingOffer(d.conversationId)) : status.offered_plan;
    expect(offered.total_cents).toBe(75_000);
    const plan = {
      frequency: offered.frequency,
      instalmentCents: offered.instalment_cents,
      count: offered.count,
      downPaymentCents: offered.down_payment_cents,
      totalCents: offered.total_cents,
      schedule: offered.schedule.map((i: { due_on: string; amount_cents: number }) => ({ dueOn: i.due_on, amountCents: i.amount_cents })),
    };
    const today = new Date(Date.now()).toLocaleDateString('en-CA', { timeZone: 'America/Chicago' });
    expect(evaluatePlan(plan, { owedCents: 75_000, today, timeZone: 'America/Chicago', failedPlans: 0 }).verdict).not.toBe('invalid');
  });

  it('when the offer is unrealistic, then a person takes over, it is listed among open escalations, and the debtor gets one holding reply', async () => {
    const d = debtor('tenant-plan-unrealistic');
    await d.says('$5 a month');
    await waitForState(harness.orchestrator, d.conversationId, ['escalated']);
    expect((await d.status()).context.escalation).toMatchObject({ reason: 'unrealistic_proposal' });
    const open = await request(harness.url).get('/v1/escalations?reason=unrealistic_proposal').set(manager()).expect(200);
    expect(open.body.items.map((e: { conversation_id: string }) => e.conversation_id)).toContain(d.conversationId);
    const [holding] = await waitFor(() => d.texts().length > 0 && d.texts(), 15_000, 'the holding reply');
    expect(holding).toMatch(/^Thanks\. A member of our team will contact you about a plan\. Acme Recovery is a debt collector/);
    expect(holding).not.toMatch(/\$|\d/);
    // One text, recorded once, as a reply to their message.
    const sent = await harness.orchestrator.db.selectFrom('outbound_messages').select(['kind']).where('conversation_id', '=', d.conversationId).execute();
    expect(sent).toEqual([{ kind: 'reply' }]);
  });

  it('when the balance is paid in full, then the conversation closes and the debtor gets one confirmation that it is settled', async () => {
    const d = debtor('tenant-plan-paid-in-full');
    await d.greets();
    // A text we start waits for the calling hours: at noon in Chicago it goes at once, whenever the test runs.
    const today = new Date().toLocaleDateString('en-CA', { timeZone: 'America/Chicago' });
    clockOffsetMs = Date.parse(`${today}T18:00:00Z`) - Date.now();
    let texts: string[];
    try {
      await request(harness.url)
        .post(`/v1/conversations/${d.conversationId}/events`)
        .set(service())
        .set('Idempotency-Key', 'paid-in-full-1')
        .send({ type: 'payment.received', amount_cents: 75_000, paid_in_full: true })
        .expect(202);
      await waitForState(harness.orchestrator, d.conversationId, ['closed']);
      texts = await waitFor(() => d.texts().length === 2 && d.texts(), 15_000, 'the confirmation');
    } finally {
      clockOffsetMs = 0;
    }
    expect(texts[1]).toMatch(/^Thank you\. Your account is paid in full and settled\. Nothing more is due\. Acme Recovery is a debt collector/);
    const sent = await harness.orchestrator.db.selectFrom('outbound_messages').select(['kind']).where('conversation_id', '=', d.conversationId).orderBy('first_attempt_at').execute();
    expect(sent).toEqual([{ kind: 'reply' }, { kind: 'unsolicited' }]);
  });

  it('when an instalment passes its grace period unpaid, then staff are told, the debtor is asked to catch up, and negotiation re-opens', async () => {
    const d = debtor('tenant-plan-missed');
    await d.says('I can pay $250 a week for 3 weeks');
    await waitForState(harness.orchestrator, d.conversationId, ['negotiating.awaitingConfirmation']);
    await d.says('ok');
    await waitForState(harness.orchestrator, d.conversationId, ['planAgreed']);
    await textCount(d, 2);
    const firstDue = (await d.status()).plan.schedule[0].due_on as string;

    // Two days after the first due date (grace 1 h), at noon in Chicago (inside the calling hours): a payment
    // of a cent re-arms the timers on the new clock.
    clockOffsetMs = Date.parse(`${firstDue}T18:00:00Z`) + 2 * DAY - Date.now();
    try {
      await d.pays(1, `${d.conversationId}-cent`);
      await waitForState(harness.orchestrator, d.conversationId, ['negotiating.missedPayment']);
      const status = await d.status();
      expect(status.plan).toMatchObject({ status: 'active', missed: 1 });
      expect(status.plan.schedule[0]).toMatchObject({ status: 'missed', paid_cents: 1 });
      await waitFor(() => d.texts().find((text) => text.startsWith('We did not receive your payment of $249.99')), 10_000, 'the missed-payment text');
      expect(d.texts().filter((text) => text.startsWith('We did not receive'))).toHaveLength(1);
      await waitFor(
        () => harness.orchestrator.simulators!.notifications.received.find((n) => n.content.subject === 'A plan instalment was missed' && (n.metadata as { conversation_id?: string }).conversation_id === d.conversationId),
        10_000,
        'the staff notification',
      );
      // Catching up resumes the plan.
      await d.pays(24_999, `${d.conversationId}-catch-up`);
      expect((await d.status()).state).toBe('planAgreed');
    } finally {
      clockOffsetMs = 0;
    }
  });
});

/** The offer a queued draft carries (when the counter-proposal needs a manager). */
async function pendingOffer(conversationId: string) {
  const item = (await pendingApproval(harness.url, manager(), conversationId))!;
  const plan = item.draft.plan.plan;
  return {
    frequency: plan.frequency,
    instalment_cents: plan.instalmentCents,
    count: plan.count,
    down_payment_cents: plan.downPaymentCents,
    total_cents: plan.totalCents,
    schedule: plan.schedule.map((i: { dueOn: string; amountCents: number }) => ({ due_on: i.dueOn, amount_cents: i.amountCents })),
  };
}

const detected = (body: object, status = 200) => request(harness.url).post('/orchestrate/payment-plan-detected').set(service()).send(body).expect(status);

describe('endpoints the existing callers use', () => {
  it('when the SMS Agent reports a PAYMENT_PLAN line, then the answer carries the plan, the verdict and the reasons, without moving an acceptable plan', async () => {
    const d = debtor('tenant-detect-1');
    await d.greets();
    const answer = await detected({ conversation_id: d.conversationId, tenant_id: 'tenant-detect-1', message_content: 'I can do 100 a week', ai_response: 'PAYMENT_PLAN: weekly=100, weeks=8, start=2030-01-01' });
    expect(answer.body).toMatchObject({
      detected: true,
      source: 'message',
      verdict: 'needs_approval',
      reasons: ['longer_than_auto_agree'],
      plan: { frequency: 'weekly', instalment_cents: 10_000, count: 8, total_cents: 75_000 },
      counter_proposal: null,
      flags: [],
      escalated: false,
      state: 'awaitingReply',
    });
  });

  it('when the model\u2019s plan is not in the debtor\u2019s words, then it is flagged and never agreeable on its own', async () => {
    const d = debtor('tenant-detect-2');
    await d.greets();
    const answer = await detected({ conversation_id: d.conversationId, tenant_id: 'tenant-detect-2', message_content: 'ok I will see', ai_response: 'PAYMENT_PLAN: weekly=250, weeks=3' });
    expect(answer.body).toMatchObject({ detected: true, source: 'ai_response', verdict: 'needs_approval', flags: ['not_in_message'] });
  });

  it('when the detected plan is unrealistic, then the conversation is escalated as unrealistic_proposal; another tenant\u2019s conversation is a 409', async () => {
    const d = debtor('tenant-detect-3');
    await d.greets();
    const body = { conversation_id: d.conversationId, tenant_id: 'tenant-detect-3', message_content: '$5 a week for 100 weeks' };
    const answer = await detected(body);
    expect(answer.body).toMatchObject({ verdict: 'invalid', counter_proposal: null, escalated: true, state: 'escalated' });
    expect(answer.body.reasons).toEqual(expect.arrayContaining(['too_long', 'below_min_weekly']));
    const mismatch = await detected({ ...body, tenant_id: 'someone-else' }, 409);
    expect(mismatch.body.error.code).toBe('conversation_mismatch');
  });

  it('when the dashboard escalates with its own shapes, then each is accepted and answered with an escalation id', async () => {
    const shapes = [
      (id: string) => ({ conversation_id: id, escalation_type: 'hardship', severity: 'high', reason: 'called the office' }),
      (id: string) => ({ conversation_id: id, escalation_reason: 'debtor asked for a call back', priority: 'urgent' }),
      (id: string) => ({ workflow_id: id, reason: 'manual review' }),
    ];
    for (const [index, shape] of shapes.entries()) {
      const d = debtor(`tenant-escalate-${index}`);
      await d.greets();
      const answer = await request(harness.url).post('/orchestrate/escalate').set(manager()).send(shape(d.conversationId)).expect(202);
      expect(answer.body).toMatchObject({ state: 'escalated', status: 'created', escalation_id: expect.any(String) });
      const open = await harness.orchestrator.db.selectFrom('escalations').selectAll().where('id', '=', answer.body.escalation_id).executeTakeFirstOrThrow();
      expect(open.conversation_id).toBe(d.conversationId);
      if (index === 0) expect(open).toMatchObject({ reason: 'hardship', severity: 'high', note: 'called the office' });
      if (index === 1) expect(open).toMatchObject({ reason: 'manual', severity: 'critical' });
    }
    await request(harness.url).post('/orchestrate/escalate').set(manager()).send({ conversation_id: 'x' }).expect(400);
  });

  it('when a manager rejects a queued draft, then nothing is sent and a person owns the conversation', async () => {
    const d = debtor('tenant-reject');
    await d.says('I lost my job last month');
    await waitForState(harness.orchestrator, d.conversationId, ['pendingApproval']);
    const item = (await pendingApproval(harness.url, manager(), d.conversationId))!;
    await request(harness.url)
      .post('/orchestrate/approve-response')
      .set(manager())
      .send({ response_queue_id: item.response_queue_id, action: 'reject', escalation_reason: 'needs a call' })
      .expect(202);
    expect((await d.status()).state).toBe('escalated');
    const rejected = await request(harness.url).get('/v1/approvals?status=rejected').set(manager()).expect(200);
    expect(rejected.body.items.map((entry: { response_queue_id: string }) => entry.response_queue_id)).toContain(item.response_queue_id);
    expect(d.texts()).toEqual([]);
  });
});

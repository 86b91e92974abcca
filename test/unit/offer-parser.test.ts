import { describe, expect, it } from '@jest/globals';
import type { PlanFrequency, PlanVerdict } from '../../machines/conversation/plan.types.js';
import { initialTransition, transition } from 'xstate';
import { conversationMachine } from '../../machines/conversation/conversation.machine.js';
import { toDraft } from '../../src/adapters/drafting/drafter.js';
import { createRulesDrafter } from '../../src/adapters/drafting/rules.drafter.js';
import { DEFAULT_PLAN_POLICY, buildPlan, evaluatePlan, negotiate, parseOffer, type ParsedOffer } from '../../src/negotiation/index.js';
import { DEFAULT_COMPLIANCE } from '../../src/policies/compliance.js';
import { statePath } from '../../src/runtime/machine-snapshot.js';
import { makeTenant } from '../helpers/fixtures.js';

/** Wednesday 2026-11-25, 09:00 in Chicago. */
const NOW = new Date('2026-11-25T15:00:00Z');
const ZONE = 'America/Chicago';
const TODAY = '2026-11-25';

type Fields = Omit<ParsedOffer, 'matched'>;
/** Expected parsed fields: instalment, frequency, count, start, down payment. */
const o = (
  instalmentCents: number | null,
  frequency: PlanFrequency | null,
  count: number | null = null,
  startOn: string | null = null,
  downPaymentCents: number | null = null,
): Fields => ({ instalmentCents, frequency, count, startOn, downPaymentCents });
/** Expected plan summary: regular instalments, regular amount, total. */
const p = (count: number, instalmentCents: number, totalCents: number) => ({ count, instalmentCents, totalCents });

type Row = [message: string, owedCents: number, offer: Fields | null, plan: ReturnType<typeof p> | null, verdict: PlanVerdict | null];

const ROWS: Row[] = [
  // Required examples.
  ['I can pay $200/week for 4 weeks starting next Friday', 75000, o(20000, 'weekly', 4, '2026-12-04'), p(4, 20000, 75000), 'valid'],
  ['puedo pagar 200 por semana por 4 semanas a partir del viernes', 75000, o(20000, 'weekly', 4, '2026-11-27'), p(4, 20000, 75000), 'valid'],
  ['$10 a week for 52 weeks', 75000, o(1000, 'weekly', 52), p(52, 1000, 52000), 'invalid'],
  ['$50 a week for 8 weeks', 75000, o(5000, 'weekly', 8), p(8, 5000, 40000), 'invalid'],
  ['I can pay $50 a week', 75000, o(5000, 'weekly'), p(15, 5000, 75000), 'invalid'],
  ['$100 a week for 8 weeks', 75000, o(10000, 'weekly', 8), p(8, 10000, 75000), 'needs_approval'],
  ['half now and the rest next month', 60000, o(30000, 'monthly', 1, null, 30000), p(1, 30000, 60000), 'needs_approval'],
  // English, with and without "$".
  ['200/wk for 8 weeks', 75000, o(20000, 'weekly', 8), p(4, 20000, 75000), 'valid'],
  ['I can pay 150 every two weeks starting Friday', 75000, o(15000, 'biweekly', null, '2026-11-27'), p(5, 15000, 75000), 'needs_approval'],
  ['50 bucks weekly', 75000, o(5000, 'weekly'), p(15, 5000, 75000), 'invalid'],
  ['$1,250.50 monthly', 75000, o(125050, 'monthly'), p(1, 75000, 75000), 'needs_approval'],
  ['$250 a week', 75000, o(25000, 'weekly'), p(3, 25000, 75000), 'valid'],
  ['I can send $375 every 2 weeks', 75000, o(37500, 'biweekly'), p(2, 37500, 75000), 'valid'],
  ['$150 biweekly for 10 weeks', 75000, o(15000, 'biweekly', 5), p(5, 15000, 75000), 'needs_approval'],
  ['150 bi-weekly', 75000, o(15000, 'biweekly'), p(5, 15000, 75000), 'needs_approval'],
  ['$200 every two weeks for 5 weeks', 75000, o(20000, 'biweekly'), p(4, 20000, 75000), 'needs_approval'],
  ['$300 twice a month', 75000, o(30000, 'semimonthly'), p(3, 30000, 75000), 'needs_approval'],
  ['twice a month 100 on the 1st and 15th', 75000, o(10000, 'semimonthly'), p(8, 10000, 75000), 'invalid'],
  ['$375 a month for 2 months', 75000, o(37500, 'monthly', 2), p(2, 37500, 75000), 'needs_approval'],
  ['$300 a month in 3 months', 75000, o(30000, 'monthly', 3), p(3, 30000, 75000), 'invalid'],
  ['pay you 80 a month for 12 months', 75000, o(8000, 'monthly', 12), p(10, 8000, 75000), 'invalid'],
  ['$100 a week for 3 months', 75000, o(10000, 'weekly'), p(8, 10000, 75000), 'needs_approval'],
  ['100 a week for eight weeks', 75000, o(10000, 'weekly', 8), p(8, 10000, 75000), 'needs_approval'],
  ['I can pay $80 a week starting Dec 1', 75000, o(8000, 'weekly', null, '2026-12-01'), p(10, 8000, 75000), 'needs_approval'],
  ['$60 a week starting mon', 75000, o(6000, 'weekly', null, '2026-11-30'), p(13, 6000, 75000), 'invalid'],
  ['$60 a week starting the 1st', 75000, o(6000, 'weekly', null, '2026-12-01'), p(13, 6000, 75000), 'invalid'],
  ['starting the 1st $100 a month', 75000, o(10000, 'monthly', null, '2026-12-01'), p(8, 10000, 75000), 'invalid'],
  ['weekly payments of 60', 75000, o(6000, 'weekly'), p(13, 6000, 75000), 'invalid'],
  ['$187.50 weekly for 4 weeks', 75000, o(18750, 'weekly', 4), p(4, 18750, 75000), 'valid'],
  ['I can pay $1,000 a week', 250000, o(100000, 'weekly'), p(3, 100000, 250000), 'valid'],
  ['$25 a week', 2000, o(2500, 'weekly'), p(1, 2000, 2000), 'valid'],
  ['$20 a week', 2000, o(2000, 'weekly'), p(1, 2000, 2000), 'valid'],
  ['$5 a week', 2000, o(500, 'weekly'), p(4, 500, 2000), 'invalid'],
  ['$25 every other friday', 75000, o(2500, 'biweekly', null, '2026-11-27'), p(30, 2500, 75000), 'invalid'],
  // Counts without a period; "x N".
  ['$200 x 6', 75000, o(20000, null, 6), p(4, 20000, 75000), 'valid'],
  ['$40/wk x6', 75000, o(4000, 'weekly', 6), p(6, 4000, 24000), 'invalid'],
  ['x 6 payments of $125', 75000, o(12500, null, 6), p(6, 12500, 75000), 'needs_approval'],
  // Typos.
  ['200 a weak', 75000, o(20000, 'weekly'), p(4, 20000, 75000), 'valid'],
  ['100 pr week', 75000, o(10000, 'weekly'), p(8, 10000, 75000), 'needs_approval'],
  ['100 cada semna', 75000, o(10000, 'weekly'), p(8, 10000, 75000), 'needs_approval'],
  ['I can pay u 30 a wk', 75000, o(3000, 'weekly'), p(25, 3000, 75000), 'invalid'],
  // Ranges: the lower bound.
  ['$40-50 a week', 75000, o(4000, 'weekly'), p(19, 4000, 75000), 'invalid'],
  ['$40–50/wk x 8', 75000, o(4000, 'weekly', 8), p(8, 4000, 32000), 'invalid'],
  ['I could do 30 to 40 a week starting next week', 75000, o(3000, 'weekly'), p(25, 3000, 75000), 'invalid'],
  ['entre 40 y 50 a la semana', 75000, o(4000, 'weekly'), p(19, 4000, 75000), 'invalid'],
  // Down payments.
  ['$100 now and $50 a week', 75000, o(5000, 'weekly', null, null, 10000), p(13, 5000, 75000), 'invalid'],
  ['$100 today and $50 every friday', 75000, o(5000, 'weekly', null, '2026-11-27', 10000), p(13, 5000, 75000), 'invalid'],
  ['100 down and the rest over 4 weeks', 75000, o(null, 'weekly', 4, null, 10000), p(4, 16250, 75000), 'valid'],
  ['$100 now, rest next month', 75000, o(65000, 'monthly', 1, null, 10000), p(1, 65000, 75000), 'needs_approval'],
  ['$500 now and $100 a week for 2 weeks', 75000, o(10000, 'weekly', 2, null, 50000), p(2, 10000, 70000), 'valid'],
  // Spanish.
  ['puedo pagar 100 por semana', 75000, o(10000, 'weekly'), p(8, 10000, 75000), 'needs_approval'],
  ['75 dlls cada semana por 10 semanas', 75000, o(7500, 'weekly', 10), p(10, 7500, 75000), 'needs_approval'],
  ['75 por semana durante 10 semanas empezando el lunes', 75000, o(7500, 'weekly', 10, '2026-11-30'), p(10, 7500, 75000), 'needs_approval'],
  ['$100 semanal', 75000, o(10000, 'weekly'), p(8, 10000, 75000), 'needs_approval'],
  ['50 dolares cada semana', 75000, o(5000, 'weekly'), p(15, 5000, 75000), 'invalid'],
  ['quincenal 150', 75000, o(15000, 'biweekly'), p(5, 15000, 75000), 'needs_approval'],
  ['Puedo pagar 150 cada 15 días', 75000, o(15000, 'biweekly'), p(5, 15000, 75000), 'needs_approval'],
  ['dos veces al mes 200', 75000, o(20000, 'semimonthly'), p(4, 20000, 75000), 'needs_approval'],
  ['puedo dar 250 al mes', 75000, o(25000, 'monthly'), p(3, 25000, 75000), 'invalid'],
  ['200 dlls por mes', 75000, o(20000, 'monthly'), p(4, 20000, 75000), 'invalid'],
  ['pago 100 el día 15 de cada mes', 75000, o(10000, 'monthly', null, '2026-12-15'), p(8, 10000, 75000), 'invalid'],
  ['pasado mañana 50 por semana', 75000, o(5000, 'weekly', null, '2026-11-27'), p(15, 5000, 75000), 'invalid'],
  ['la mitad ahora y el resto el mes que viene', 60000, o(30000, 'monthly', 1, null, 30000), p(1, 30000, 60000), 'needs_approval'],
  ['el resto el viernes y 200 hoy', 75000, o(55000, 'monthly', 1, '2026-11-27', 20000), p(1, 55000, 75000), 'needs_approval'],
  // Partial offers: a count or a period without an amount, an amount without a period.
  ['I can do 8 weeks', 75000, o(null, 'weekly', 8), null, null],
  ['four weeks', 75000, o(null, 'weekly', 4), null, null],
  ['cuatro semanas', 75000, o(null, 'weekly', 4), null, null],
  ['can I pay monthly?', 75000, o(null, 'monthly'), null, null],
  ['pay 300 in 2 weeks', 75000, o(30000, null), null, null],
  ['$750 on friday', 75000, o(75000, null, null, '2026-11-27'), null, null],
  ['I can pay 200', 75000, o(20000, null), null, null],
  ['yes but only $50', 75000, o(5000, null), null, null],
  // Not offers.
  ['I have 2 kids', 75000, null, null, null],
  ['call me at 5', 75000, null, null, null],
  ['can you call me at 5pm tomorrow', 75000, null, null, null],
  ['I was sick for 2 weeks', 75000, null, null, null],
  ['I owe $750', 75000, null, null, null],
  ['I make 500 a week', 75000, null, null, null],
  ['I get paid on the 15th', 75000, null, null, null],
  ["I'll pay on Friday", 75000, null, null, null],
  ['I can pay the full amount friday', 75000, null, null, null],
  ['mi hijo tiene 5 años', 75000, null, null, null],
  ['Hola, buenos días', 75000, null, null, null],
  ['STOP', 75000, null, null, null],
];

describe('parseOffer, buildPlan and evaluatePlan on real-looking messages', () => {
  it('when the table is counted, then it has at least 70 rows', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(70);
  });

  it.each(ROWS)('when the debtor writes %j (owing %i cents), then the offer, plan and verdict are as expected', (message, owedCents, offer, plan, verdict) => {
    const parsed = parseOffer(message, { timeZone: ZONE, now: NOW, owedCents });
    if (offer === null) {
      expect(parsed).toBeNull();
    } else {
      expect(parsed).not.toBeNull();
      const { matched, ...fields } = parsed as ParsedOffer;
      expect(fields).toEqual(offer);
      expect(matched.every((id) => /^offer:[a-z_]+$/.test(id))).toBe(true);
    }
    const built = parsed ? buildPlan(parsed, { owedCents, today: TODAY, timeZone: ZONE }) : null;
    if (plan === null) {
      expect(built).toBeNull();
    } else {
      expect(built).not.toBeNull();
      expect({ count: built?.count, instalmentCents: built?.instalmentCents, totalCents: built?.totalCents }).toEqual(plan);
    }
    const evaluation = built ? evaluatePlan(built, { owedCents, today: TODAY, timeZone: ZONE, failedPlans: 0 }, DEFAULT_PLAN_POLICY) : null;
    expect(evaluation?.verdict ?? null).toBe(verdict);
  });
});

/**
 * Where each row's conversation goes: the whole pipeline the service runs on the debtor's first message
 * (code's negotiation step, the rules drafter, routing, the machine; an auto-sent text counts as sent).
 * Offers the policy accepts wait for the debtor's yes; the rest wait for a manager or a person.
 */
const RESULTING_STATE: ReadonlyArray<[message: string, language: 'en' | 'es', state: string]> = [
  ["I can pay $200/week for 4 weeks starting next Friday", 'en', 'negotiating.awaitingConfirmation'],
  ["puedo pagar 200 por semana por 4 semanas a partir del viernes", 'es', 'negotiating.awaitingConfirmation'],
  ["$10 a week for 52 weeks", 'en', 'escalated'],
  ["$50 a week for 8 weeks", 'en', 'pendingApproval'],
  ["I can pay $50 a week", 'en', 'pendingApproval'],
  ["$100 a week for 8 weeks", 'en', 'pendingApproval'],
  ["half now and the rest next month", 'en', 'pendingApproval'],
  ["200/wk for 8 weeks", 'en', 'negotiating.awaitingConfirmation'],
  ["I can pay 150 every two weeks starting Friday", 'en', 'pendingApproval'],
  ["50 bucks weekly", 'en', 'pendingApproval'],
  ["$1,250.50 monthly", 'en', 'pendingApproval'],
  ["$250 a week", 'en', 'negotiating.awaitingConfirmation'],
  ["I can send $375 every 2 weeks", 'en', 'negotiating.awaitingConfirmation'],
  ["$150 biweekly for 10 weeks", 'en', 'pendingApproval'],
  ["150 bi-weekly", 'en', 'pendingApproval'],
  ["$200 every two weeks for 5 weeks", 'en', 'pendingApproval'],
  ["$300 twice a month", 'en', 'pendingApproval'],
  ["twice a month 100 on the 1st and 15th", 'en', 'pendingApproval'],
  ["$375 a month for 2 months", 'en', 'pendingApproval'],
  ["$300 a month in 3 months", 'en', 'pendingApproval'],
  ["pay you 80 a month for 12 months", 'en', 'escalated'],
  ["$100 a week for 3 months", 'en', 'pendingApproval'],
  ["100 a week for eight weeks", 'en', 'pendingApproval'],
  ["I can pay $80 a week starting Dec 1", 'en', 'pendingApproval'],
  ["$60 a week starting mon", 'en', 'pendingApproval'],
  ["$60 a week starting the 1st", 'en', 'pendingApproval'],
  ["starting the 1st $100 a month", 'en', 'escalated'],
  ["weekly payments of 60", 'en', 'pendingApproval'],
  ["$187.50 weekly for 4 weeks", 'en', 'negotiating.awaitingConfirmation'],
  ["I can pay $1,000 a week", 'en', 'negotiating.awaitingConfirmation'],
  ["$25 a week", 'en', 'negotiating.awaitingConfirmation'],
  ["$20 a week", 'en', 'negotiating.awaitingConfirmation'],
  ["$5 a week", 'en', 'escalated'],
  ["$25 every other friday", 'en', 'escalated'],
  ["$200 x 6", 'en', 'negotiating.awaitingConfirmation'],
  ["$40/wk x6", 'en', 'pendingApproval'],
  ["x 6 payments of $125", 'en', 'pendingApproval'],
  ["200 a weak", 'en', 'negotiating.awaitingConfirmation'],
  ["100 pr week", 'en', 'pendingApproval'],
  ["100 cada semna", 'es', 'pendingApproval'],
  ["I can pay u 30 a wk", 'en', 'pendingApproval'],
  ["$40-50 a week", 'en', 'pendingApproval'],
  ["$40–50/wk x 8", 'en', 'pendingApproval'],
  ["I could do 30 to 40 a week starting next week", 'en', 'pendingApproval'],
  ["entre 40 y 50 a la semana", 'es', 'pendingApproval'],
  ["$100 now and $50 a week", 'en', 'pendingApproval'],
  ["$100 today and $50 every friday", 'en', 'pendingApproval'],
  ["100 down and the rest over 4 weeks", 'en', 'negotiating.awaitingConfirmation'],
  ["$100 now, rest next month", 'en', 'pendingApproval'],
  ["$500 now and $100 a week for 2 weeks", 'en', 'negotiating.awaitingConfirmation'],
  ["puedo pagar 100 por semana", 'es', 'pendingApproval'],
  ["75 dlls cada semana por 10 semanas", 'es', 'pendingApproval'],
  ["75 por semana durante 10 semanas empezando el lunes", 'es', 'pendingApproval'],
  ["$100 semanal", 'es', 'pendingApproval'],
  ["50 dolares cada semana", 'es', 'pendingApproval'],
  ["quincenal 150", 'es', 'pendingApproval'],
  ["Puedo pagar 150 cada 15 días", 'es', 'pendingApproval'],
  ["dos veces al mes 200", 'es', 'pendingApproval'],
  ["puedo dar 250 al mes", 'es', 'pendingApproval'],
  ["200 dlls por mes", 'es', 'pendingApproval'],
  ["pago 100 el día 15 de cada mes", 'es', 'escalated'],
  ["pasado mañana 50 por semana", 'es', 'pendingApproval'],
  ["la mitad ahora y el resto el mes que viene", 'es', 'pendingApproval'],
  ["el resto el viernes y 200 hoy", 'es', 'pendingApproval'],
  ["I can do 8 weeks", 'en', 'awaitingReply'],
  ["four weeks", 'en', 'awaitingReply'],
  ["cuatro semanas", 'es', 'awaitingReply'],
  ["can I pay monthly?", 'en', 'awaitingReply'],
  ["pay 300 in 2 weeks", 'en', 'pendingApproval'],
  ["$750 on friday", 'en', 'pendingApproval'],
  ["I can pay 200", 'en', 'pendingApproval'],
  ["yes but only $50", 'en', 'pendingApproval'],
  ["I have 2 kids", 'en', 'pendingApproval'],
  ["call me at 5", 'en', 'pendingApproval'],
  ["can you call me at 5pm tomorrow", 'en', 'pendingApproval'],
  ["I was sick for 2 weeks", 'en', 'pendingApproval'],
  ["I owe $750", 'en', 'pendingApproval'],
  ["I make 500 a week", 'en', 'pendingApproval'],
  ["I get paid on the 15th", 'en', 'pendingApproval'],
  ["I'll pay on Friday", 'en', 'awaitingReply'],
  ["I can pay the full amount friday", 'en', 'pendingApproval'],
  ["mi hijo tiene 5 años", 'en', 'pendingApproval'],
  ["Hola, buenos días", 'en', 'awaitingReply'],
  ["STOP", 'en', 'optedOut'],
];

describe('the conversation each row leads to (rules drafter, routing, machine)', () => {
  it('when the tables are compared, then every row has its resulting state', () => {
    expect(RESULTING_STATE.map(([message]) => message)).toEqual(ROWS.map(([message]) => message));
  });

  it.each(RESULTING_STATE)('when the debtor writes %j (%s), then the conversation goes to %s', async (message, language, state) => {
    const owedCents = ROWS.find(([row]) => row === message)![1];
    const tenant = makeTenant({ amountOwedCents: owedCents, failedPaymentPlans: 0, language, timeZone: ZONE });
    // The debtor's first message: our answer is the first text, with the full notice.
    const step = negotiate({ texts: [message], offeredPlan: null, activePlan: null, owedCents, failedPlans: 0, language, timeZone: ZONE, now: NOW, compliance: DEFAULT_COMPLIANCE, firstText: true });
    const proposal = await createRulesDrafter().draft({ conversationId: 'c', tenant, history: [], unanswered: [{ text: message, at: NOW.toISOString(), messageId: 'm' }], step, plan: null });
    let [snapshot] = initialTransition(conversationMachine, { conversationId: 'c', tenantId: 't', phone: '+15550001111' });
    [snapshot] = transition(conversationMachine, snapshot, { type: 'sms.received', text: message, messageId: 'm', at: NOW.toISOString() });
    [snapshot] = transition(conversationMachine, snapshot, { type: 'xstate.done.actor.drafter', output: toDraft(proposal, 'd', language, step) } as never);
    if (snapshot.matches('sending')) [snapshot] = transition(conversationMachine, snapshot, { type: 'xstate.done.actor.sender', output: { smsId: 's' } } as never);
    expect(statePath(snapshot.value)).toBe(state);
  });
});

describe('the required examples in detail', () => {
  const run = (message: string, owedCents: number) => {
    const offer = parseOffer(message, { timeZone: ZONE, now: NOW, owedCents });
    const plan = offer && buildPlan(offer, { owedCents, today: TODAY, timeZone: ZONE });
    const evaluation = plan && evaluatePlan(plan, { owedCents, today: TODAY, timeZone: ZONE, failedPlans: 0 });
    return { offer, plan, evaluation };
  };

  it('when $200/week for 4 weeks is offered on $750, then the last payment is the $150 remainder', () => {
    const { plan } = run('I can pay $200/week for 4 weeks starting next Friday', 75000);
    expect(plan?.schedule).toEqual([
      { dueOn: '2026-12-04', amountCents: 20000 },
      { dueOn: '2026-12-11', amountCents: 20000 },
      { dueOn: '2026-12-18', amountCents: 20000 },
      { dueOn: '2026-12-25', amountCents: 15000 },
    ]);
  });

  it('when $10 a week for 52 weeks is offered, then it is invalid and no counter-proposal is realistic', () => {
    const { evaluation } = run('$10 a week for 52 weeks', 75000);
    expect(evaluation?.reasons).toEqual(expect.arrayContaining(['below_min_weekly', 'too_long', 'total_too_low']));
    expect(evaluation?.counterProposal).toBeNull();
  });

  it('when $50 a week for 8 weeks is offered, then the total is too low and a full-balance counter-proposal comes back', () => {
    const { evaluation } = run('$50 a week for 8 weeks', 75000);
    expect(evaluation?.reasons).toEqual(['total_too_low']);
    expect(evaluation?.counterProposal).toMatchObject({ frequency: 'weekly', count: 12, instalmentCents: 6300, totalCents: 75000 });
  });

  it('when $50 a week is offered with no count, then 15 weeks is too long and a counter-proposal comes back', () => {
    const { plan, evaluation } = run('I can pay $50 a week', 75000);
    expect(plan?.count).toBe(15);
    expect(evaluation?.reasons).toEqual(['too_long']);
    expect(evaluation?.counterProposal?.totalCents).toBe(75000);
  });

  it('when $100 a week for 8 weeks is offered, then a manager must approve it because it is longer than 4 weeks', () => {
    expect(run('$100 a week for 8 weeks', 75000).evaluation?.reasons).toEqual(['longer_than_auto_agree']);
  });

  it('when half now and the rest next month is offered on $600, then $300 is due today and $300 a month later', () => {
    expect(run('half now and the rest next month', 60000).plan?.schedule).toEqual([
      { dueOn: '2026-11-25', amountCents: 30000 },
      { dueOn: '2026-12-25', amountCents: 30000 },
    ]);
  });

  it('when a range is offered, then the lower bound is taken and noted', () => {
    expect(run('$40-50 a week', 75000).offer?.matched).toEqual(expect.arrayContaining(['offer:range', 'offer:weekly']));
  });

  it('when a weekday is named late in the evening, then the date is read in the debtor zone, not UTC', () => {
    // 21:00 Wednesday in Chicago is already Thursday in UTC.
    const late = parseOffer('$100 a week starting tomorrow', { timeZone: ZONE, now: new Date('2026-11-26T03:00:00Z'), owedCents: 75000 });
    expect(late?.startOn).toBe('2026-11-26');
  });

  it('when the matched ids are read, then they never contain message text', () => {
    const offer = parseOffer('I can pay $200/week for 4 weeks starting next Friday', { timeZone: ZONE, now: NOW, owedCents: 75000 });
    expect(offer?.matched.join(' ')).not.toMatch(/200|friday/i);
  });
});

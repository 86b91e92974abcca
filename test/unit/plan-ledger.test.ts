import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { initialTransition, transition, type AnyEventObject, type SnapshotFrom } from 'xstate';
import { conversationMachine, type ConversationMachine } from '../../machines/conversation/conversation.machine.js';
import { agreePlan, remainingCents } from '../../machines/conversation/plan-ledger.js';
import { allowedAmounts } from '../../src/adapters/drafting/drafter.js';
import { negotiate } from '../../src/negotiation/index.js';
import { checkOutgoingText, DEFAULT_COMPLIANCE } from '../../src/policies/compliance.js';
import { TEST_NOW, makeDraft, makePlan, makeScheduledPlan, offerOf } from '../helpers/fixtures.js';

/**
 * A payment is credited exactly once to whatever it pays. The machine alone (XState's pure transition, as
 * the runtime calls it), driven through any interleaving of offers, yeses, other replies, payments,
 * approvals and missed instalments: the plan's ledger is always the payments made since its offer was drafted.
 */

type Snapshot = SnapshotFrom<ConversationMachine>;
const INPUT = { conversationId: 'conv-ledger', tenantId: 'tenant-1', phone: '+15550001111' };
const AT = '2026-01-01T12:00:00.000Z';
const TOTAL = makePlan().totalCents;

/** One step of the world: the debtor writes, the conversation moves on (draft, approval, send), money arrives, a deadline passes. */
type Op =
  | { kind: 'offer'; needsApproval: boolean }
  | { kind: 'yes' }
  | { kind: 'other' }
  | { kind: 'advance' }
  | { kind: 'pay'; cents: number }
  | { kind: 'miss' };

// The conversation moves on more often than the debtor writes, so that offers are sent and answered;
// payments and misses come at any point between.
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('offer' as const), needsApproval: fc.boolean() }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'yes' as const }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'other' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'advance' as const }), weight: 10 },
  // Mostly small payments, so that plans run for a while; sometimes one that settles everything.
  { arbitrary: fc.record({ kind: fc.constant('pay' as const), cents: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 30_000 }), weight: 9 }, { arbitrary: fc.constant(TOTAL), weight: 1 }) }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'miss' as const }), weight: 2 },
);

/** The machine, and what the test knows independently of it: the payments since the offer now on the table was drafted. */
interface World {
  snapshot: Snapshot;
  /** What the debtor's latest message asks the drafter for. */
  asked: { kind: 'offer'; needsApproval: boolean } | { kind: 'yes' } | { kind: 'other' } | null;
  drafts: number;
  paidSinceOffer: number;
  /** The plan agreed last, by id, and the payments it should hold. */
  expected: Map<string, number>;
}

function apply(world: World, event: AnyEventObject): boolean {
  if (!world.snapshot.can(event as never)) return false;
  world.snapshot = transition(conversationMachine, world.snapshot, event as never)[0];
  return true;
}

function step(world: World, next: Op): void {
  const context = () => world.snapshot.context;
  switch (next.kind) {
    case 'offer':
    case 'yes':
    case 'other': {
      const text = next.kind === 'yes' ? 'yes' : next.kind === 'offer' ? '$200 a week' : 'ok thanks';
      if (apply(world, { type: 'sms.received', text, messageId: `m-${world.drafts}-${text}`, at: AT })) world.asked = next;
      return;
    }
    case 'advance': {
      if (world.snapshot.matches('pendingApproval')) apply(world, { type: 'review.approved', approvalId: context().approvalId, managerId: 'alice' });
      else if (world.snapshot.matches('sending')) apply(world, { type: 'xstate.done.actor.sender', output: { smsId: `sms-${world.drafts}` } });
      if (!world.snapshot.matches('drafting') || world.asked === null) return;
      world.drafts += 1;
      const id = `draft-${world.drafts}`;
      const asked = world.asked;
      // The drafter agrees only to a plan our last text offered (src/negotiation/negotiate.ts).
      const draft =
        asked.kind === 'offer'
          ? makeDraft({ id, intents: ['payment_plan'], confidence: 0.9, negotiation: offerOf(makePlan(), asked.needsApproval ? 'needs_approval' : 'valid') })
          : asked.kind === 'yes' && context().offeredPlan
            ? makeDraft({ id, intents: ['plan_accepted'], confidence: 0.95, negotiation: { kind: 'agree', plan: makeScheduledPlan() } })
            : makeDraft({ id, confidence: 0.95 });
      const paidBefore = world.paidSinceOffer;
      if (!apply(world, { type: 'xstate.done.actor.drafter', output: draft })) return;
      world.asked = null;
      if (draft.negotiation?.kind === 'offer') world.paidSinceOffer = 0;
      if (draft.negotiation?.kind === 'agree') {
        world.expected.set(id, paidBefore);
        world.paidSinceOffer = 0;
      }
      return;
    }
    case 'pay': {
      const plan = context().plan?.status === 'active' ? context().plan : null;
      if (!apply(world, { type: 'payment.received', amountCents: next.cents, paidInFull: false })) return;
      world.paidSinceOffer += next.cents;
      if (plan) world.expected.set(plan.id, world.expected.get(plan.id)! + next.cents);
      return;
    }
    case 'miss':
      apply(world, { type: 'timer.plan_deadline' });
      return;
  }
}

describe('plan ledger: a payment is credited exactly once', () => {
  it('when offers, yeses, replies, payments, approvals and misses interleave in any order, then the plan holds exactly the payments since its offer', () => {
    let creditedAgreements = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 10, maxLength: 80 }), (ops) => {
        const world: World = {
          snapshot: initialTransition(conversationMachine, INPUT)[0],
          asked: null,
          drafts: 0,
          paidSinceOffer: 0,
          expected: new Map(),
        };
        const seen = new Set<string>();
        for (const next of ops) {
          step(world, next);
          const agreed = world.snapshot.context.plan;
          if (agreed && !seen.has(agreed.id)) {
            seen.add(agreed.id);
            if (world.expected.get(agreed.id)! > 0) creditedAgreements += 1;
          }
          const plan = world.snapshot.context.plan;
          if (plan) {
            expect(plan.paidCents).toBe(world.expected.get(plan.id));
            // The instalments hold the same money, none more than its amount, oldest first.
            const held = plan.schedule.reduce((sum, instalment) => sum + instalment.paidCents, 0);
            expect(held).toBe(Math.min(plan.paidCents, plan.totalCents));
            for (const instalment of plan.schedule) expect(instalment.status === 'kept').toBe(instalment.paidCents === instalment.amountCents);
            if (plan.status === 'active') expect(remainingCents(plan)).toBeGreaterThan(0);
          }
          if (world.snapshot.status === 'done') break;
        }
      }),
      { numRuns: 250 },
    );
    // The runs did reach the case in question: plans agreed with money paid before the yes.
    expect(creditedAgreements).toBeGreaterThan(10);
  });

  it('when money paid before the yes covers instalments, then they are kept; money that covers the plan completes it as it is agreed', () => {
    const partly = agreePlan(makeScheduledPlan(), 'plan-1', 47_200);
    expect(partly.schedule.map((i) => [i.status, i.paidCents])).toEqual([
      ['kept', 20_000],
      ['kept', 20_000],
      ['due', 7_200],
      ['due', 0],
    ]);
    expect(partly).toMatchObject({ status: 'active', paidCents: 47_200 });
    expect(remainingCents(partly)).toBe(27_800);
    expect(agreePlan(makeScheduledPlan(), 'plan-2', TOTAL)).toMatchObject({ status: 'completed', paidCents: TOTAL });
  });

  it.each([
    ['en', 'yes', /^Thank you, your plan is set: .* \$472\.00 received, \$278\.00 left\. /],
    ['es', 'sí', /^Gracias, su plan quedó acordado: .* Recibimos \$472\.00; quedan \$278\.00\. /],
  ] as const)('when the debtor says yes after paying part (%s), then the confirmation states what was received and what is left, and passes the checks', (language, yes, pattern) => {
    const step = negotiate({
      texts: [yes],
      offeredPlan: makePlan(),
      activePlan: null,
      owedCents: TOTAL,
      failedPlans: 0,
      language,
      timeZone: 'America/Chicago',
      now: TEST_NOW,
      compliance: DEFAULT_COMPLIANCE,
      paidSinceOffer: 47_200,
    });
    expect(step).toMatchObject({ kind: 'agree', negotiation: { kind: 'agree', paidSinceOffer: 47_200 } });
    expect(step!.text).toMatch(pattern);
    const allowedCents = allowedAmounts({ step, plan: null });
    expect(checkOutgoingText(step!.text!, { language, policy: DEFAULT_COMPLIANCE, ledgerCents: TOTAL, allowedCents })).toEqual([]);
  });

  it('when a payment is more than what is left of the running plan, then the plan completes and a person is given the overpayment (escalated, overpaid); the exact rest just closes', () => {
    const agreedAt = (cents: number) => {
      let snapshot = initialTransition(conversationMachine, INPUT)[0];
      const events: AnyEventObject[] = [
        { type: 'sms.received', text: '$200 a week', messageId: 'm-1', at: AT },
        { type: 'xstate.done.actor.drafter', output: makeDraft({ intents: ['payment_plan'], confidence: 0.9, negotiation: offerOf() }) },
        { type: 'xstate.done.actor.sender', output: { smsId: 'sms-1' } },
        { type: 'sms.received', text: 'yes', messageId: 'm-2', at: AT },
        { type: 'xstate.done.actor.drafter', output: makeDraft({ id: 'draft-2', intents: ['plan_accepted'], confidence: 0.95, negotiation: { kind: 'agree', plan: makeScheduledPlan() } }) },
        { type: 'xstate.done.actor.sender', output: { smsId: 'sms-2' } },
        { type: 'payment.received', amountCents: 20_000, paidInFull: false },
      ];
      for (const event of events) snapshot = transition(conversationMachine, snapshot, event as never)[0];
      expect(snapshot.value).toBe('planAgreed');
      return transition(conversationMachine, snapshot, { type: 'payment.received', amountCents: cents, paidInFull: false });
    };
    const [over, overActions] = agreedAt(55_001);
    expect(over.value).toBe('escalated');
    expect(over.context.escalation).toMatchObject({ reason: 'overpaid', severity: 'high' });
    expect(over.context.plan).toMatchObject({ status: 'completed', paidCents: 75_001 });
    const actions = overActions as unknown as Array<{ type: string; params?: { plan?: { status: string } } }>;
    expect(actions.find((action) => action.type === 'recordPlanProgress')?.params?.plan).toMatchObject({ status: 'completed' });
    expect(actions.map((action) => action.type)).toEqual(expect.arrayContaining(['openEscalation', 'notifyStaff']));

    const [exact] = agreedAt(55_000);
    expect(exact.value).toBe('closed');
    expect(exact.context.plan).toMatchObject({ status: 'completed', paidCents: 75_000 });
  });
});

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { PaymentPlan, PlanFrequency } from '../../machines/conversation/plan.types.js';
import { PLAN_FREQUENCIES } from '../../machines/conversation/plan.types.js';
import { MAX_PLAN_TEXT, buildPlan, describePlan, detectPlanReply, formatCents } from '../../src/negotiation/index.js';

describe('detectPlanReply', () => {
  const ACCEPT = ['yes', 'Yes!', 'YES', 'yeah', 'yep', 'ok', 'Okay', 'agreed', 'deal', 'Sounds good', 'sure', 'I agree', 'confirm', 'yes thank you 🙏',
    'sí', 'si', 'Sí!', 'de acuerdo', 'acepto', 'claro', 'Está bien', 'esta bien', 'vale', 'no problem', 'No hay problema'];
  const DECLINE = ['no', 'No.', 'nope', 'no thanks', "I can't", 'I cannot', 'no puedo', 'No gracias', 'nah'];
  const NEITHER = ['yes but only $50', 'ok but can we do 40', 'sí pero solo 50', 'yes, 8 weeks instead', 'no, I can do $30', 'ok?', 'yes?',
    'what is this', 'ya', 'yes I cannot', '', 'hola', 'ok if I start Monday'];

  it.each(ACCEPT)('when the debtor answers %j, then it is an acceptance', (text) => {
    expect(detectPlanReply(text)).toBe('accept');
  });
  it.each(DECLINE)('when the debtor answers %j, then it is a refusal', (text) => {
    expect(detectPlanReply(text)).toBe('decline');
  });
  it.each(NEITHER)('when the debtor answers %j, then it is neither (a new offer, a question or a contradiction)', (text) => {
    expect(detectPlanReply(text)).toBeNull();
  });
});

const plan = (fields: Partial<PaymentPlan> & Pick<PaymentPlan, 'schedule'>): PaymentPlan => ({
  frequency: 'weekly',
  instalmentCents: fields.schedule[fields.downPaymentCents ? 1 : 0]?.amountCents ?? 0,
  count: fields.schedule.length - (fields.downPaymentCents ? 1 : 0),
  downPaymentCents: 0,
  totalCents: fields.schedule.reduce((sum, entry) => sum + entry.amountCents, 0),
  ...fields,
});

describe('describePlan', () => {
  const fourWeeks = plan({
    schedule: [
      { dueOn: '2026-12-04', amountCents: 20000 },
      { dueOn: '2026-12-11', amountCents: 20000 },
      { dueOn: '2026-12-18', amountCents: 20000 },
      { dueOn: '2026-12-25', amountCents: 15000 },
    ],
  });

  it('when a weekly plan with a smaller last payment is restated in English, then it names count, amounts, dates and total', () => {
    expect(describePlan(fourWeeks, 'en')).toBe('4 weekly payments: $200.00 from Fri, Dec 4, last $150.00 on Dec 25. Total $750.00.');
  });

  it('when the same plan is restated in Spanish, then it reads in Spanish', () => {
    expect(describePlan(fourWeeks, 'es')).toBe('4 pagos semanales: $200.00 desde el vie 4 de dic, último $150.00 el 25 de dic. Total $750.00.');
  });

  it('when there is a down payment, then it comes first', () => {
    const half = plan({ frequency: 'monthly', downPaymentCents: 30000, schedule: [{ dueOn: '2026-11-25', amountCents: 30000 }, { dueOn: '2026-12-25', amountCents: 30000 }] });
    expect(describePlan(half, 'en')).toBe('$300.00 today, then 1 payment: $300.00 on Fri, Dec 25. Total $600.00.');
    expect(describePlan(half, 'es')).toBe('$300.00 hoy, luego 1 pago: $300.00 el vie 25 de dic. Total $600.00.');
  });

  it('when all payments are equal, then it gives the date range', () => {
    const equal = plan({ frequency: 'biweekly', schedule: [{ dueOn: '2026-12-09', amountCents: 37500 }, { dueOn: '2026-12-23', amountCents: 37500 }] });
    expect(describePlan(equal, 'en')).toBe('2 biweekly payments: $375.00 from Wed, Dec 9 to Dec 23. Total $750.00.');
    expect(describePlan(equal, 'es')).toBe('2 pagos quincenales: $375.00 desde el mié 9 de dic al 23 de dic. Total $750.00.');
  });

  it('when formatting cents, then thousands are grouped by integer arithmetic', () => {
    expect([formatCents(123456), formatCents(5), formatCents(10_000_000_00)]).toEqual(['$1,234.56', '$0.05', '$10,000,000.00']);
  });

  it('when any plan of up to 13 payments with amounts under $100,000 is restated, then it fits in 100 characters', () => {
    const frequency = fc.constantFrom<PlanFrequency>(...PLAN_FREQUENCIES);
    const amount = fc.integer({ min: 1, max: 9_999_999 });
    const arbitraryPlan = fc
      .record({
        frequency,
        regular: amount,
        last: amount,
        down: fc.option(amount, { nil: null }),
        count: fc.integer({ min: 1, max: 13 }),
        start: fc.date({ min: new Date('2026-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true }),
      })
      .map(({ frequency, regular, last, down, count, start }) => {
        const instalments = down === null ? count : Math.max(count - 1, 0);
        const startOn = start.toISOString().slice(0, 10);
        const owedCents = (down ?? 0) + regular * Math.max(instalments - 1, 0) + Math.min(last, regular) * (instalments > 0 ? 1 : 0);
        return buildPlan(
          { instalmentCents: instalments > 0 ? regular : null, frequency, count: instalments || null, startOn, downPaymentCents: down, matched: [] },
          { owedCents, today: startOn, timeZone: 'America/Chicago' },
        );
      });
    fc.assert(
      fc.property(arbitraryPlan, fc.constantFrom<'en' | 'es'>('en', 'es'), (built, language) => {
        if (!built) return;
        expect(built.schedule.length).toBeLessThanOrEqual(13);
        expect([...describePlan(built, language)].length).toBeLessThanOrEqual(MAX_PLAN_TEXT);
      }),
      { numRuns: 2000 },
    );
  });

  it('when amounts are at the very top and there are 13 payments, then the tersest wording still fits', () => {
    const schedule = Array.from({ length: 13 }, (_, index) => ({ dueOn: `2027-${String(index < 9 ? 9 : 10).padStart(2, '0')}-${String(10 + index).padStart(2, '0')}`, amountCents: index === 12 ? 9_999_998 : 9_999_999 }));
    const worst = plan({ frequency: 'semimonthly', downPaymentCents: 9_999_999, schedule });
    for (const language of ['en', 'es'] as const) expect([...describePlan(worst, language)].length).toBeLessThanOrEqual(MAX_PLAN_TEXT);
  });
});

import { describe, expect, it } from '@jest/globals';
import { INTENTS, type Intent } from '../../machines/conversation/conversation.types.js';
import { DEFAULT_ROUTING, routeDraft, type Route } from '../../machines/conversation/routing.js';
import { toDraft, type DraftProposal } from '../../src/effects/drafting/drafter.js';
import {
  RULES_CONFIDENCE,
  composeReply,
  createRulesDrafter,
  detectIntents,
  extractPlan,
  formatCents,
  parseAmountCents,
  shortFirstName,
} from '../../src/effects/drafting/rules.drafter.js';
import { checkOutgoingText, complianceFooter } from '../../src/policies/compliance.js';
import type { Tenant } from '../../src/effects/ports.js';
import { makeTenant } from '../helpers/fixtures.js';

const tenant = makeTenant;

const request = (texts: string[], overrides: Partial<Tenant> = {}) => ({
  conversationId: 'c-1',
  tenant: tenant(overrides),
  history: [],
  unanswered: texts.map((text, index) => ({ text, at: `2025-01-0${index + 1}T10:00:00Z`, messageId: `m-${index}` })),
});

const asDraft = (proposal: DraftProposal, language: 'en' | 'es' = 'en') => toDraft(proposal, 'd-1', language);

/** One English and one Spanish message per intent, with the route it must take under default routing. */
const CASES: Array<{ intent: Intent; en: string; es: string; route: Route }> = [
  { intent: 'opt_out', en: 'STOP', es: 'No me escriban más', route: 'optOut' },
  { intent: 'cease', en: 'Stop contacting me', es: 'Dejen de llamarme', route: 'escalate' },
  { intent: 'attorney', en: 'Talk to my attorney', es: 'Hable con mi abogado', route: 'escalate' },
  { intent: 'bankruptcy', en: 'I filed for bankruptcy', es: 'Me declaré en bancarrota', route: 'escalate' },
  { intent: 'dispute', en: "This is not my debt, I don't owe you", es: 'Esa deuda no es mía, no debo nada', route: 'escalate' },
  { intent: 'hostile', en: 'You people are thieves', es: 'Son unos rateros', route: 'escalate' },
  { intent: 'hardship', en: 'I lost my job last month', es: 'Perdí mi trabajo el mes pasado', route: 'review' },
  { intent: 'payment_plan', en: 'I can pay $50 a week for 8 weeks', es: 'Puedo pagar 50 dólares por semana durante 8 semanas', route: 'review' },
  { intent: 'promise_to_pay', en: "I'll pay on Friday", es: 'Pagaré el viernes', route: 'autoSend' },
  { intent: 'paid', en: 'I already paid', es: 'Ya pagué', route: 'review' },
  { intent: 'wrong_number', en: 'Wrong number', es: 'Número equivocado', route: 'lowConfidence' },
  { intent: 'question', en: 'How much do I owe?', es: '¿Cuánto debo?', route: 'autoSend' },
  { intent: 'greeting', en: 'Hello', es: 'Hola', route: 'autoSend' },
  { intent: 'other', en: 'ok', es: 'bueno', route: 'review' },
];

describe('rules drafter', () => {
  const drafter = createRulesDrafter();

  it('when asked its name, then it is labelled rules, never a model', async () => {
    const proposal = await drafter.draft(request(['Hello']));
    expect(drafter.name).toBe('rules');
    expect(proposal).toMatchObject({ drafter: 'rules', model: null, promptVersion: null, usage: null, rawText: null, reviewReason: null });
    expect(proposal.reasons[0]).toMatch(/^drafter:rules/);
  });

  it('when every intent is covered, then the table covers INTENTS', () => {
    expect(CASES.map((c) => c.intent).sort()).toEqual([...INTENTS].sort());
  });

  for (const { intent, en, es, route } of CASES) {
    for (const [language, text] of [['en', en], ['es', es]] as const) {
      it(`when a ${language} debtor writes a ${intent} message, then the intent is ${intent}, the route ${route}, and the reply is compliant in the tenant's language`, async () => {
        const proposal = await drafter.draft(request([text], { language }));
        expect(proposal.intents[0]).toBe(intent);
        expect(proposal.confidence).toBe(RULES_CONFIDENCE[intent]);
        expect(routeDraft(asDraft(proposal, language), DEFAULT_ROUTING)).toBe(route);
        expect(checkOutgoingText(proposal.text, { language })).toEqual([]);
        expect(proposal.text.endsWith(complianceFooter(language))).toBe(true);
        expect(proposal.reasons.some((reason) => reason.startsWith(`rule:${intent}.`) || (intent === 'other' && reason === 'rule:none'))).toBe(true);
      });
    }
  }

  it('when the same request is drafted twice, then the proposal is identical (latency aside)', async () => {
    const input = request(['Hi, I lost my job. Can I pay $25 a week for 10 weeks?'], { language: 'es' });
    const { latencyMs: _a, ...first } = await drafter.draft(input);
    const { latencyMs: _b, ...second } = await drafter.draft(input);
    expect(second).toEqual(first);
    expect(first.intents).toEqual(['payment_plan', 'hardship', 'question', 'greeting']);
    expect(first.confidence).toBe(0.7);
  });

  it('when several messages are unanswered, then intents from all of them count and the most delicate decides', async () => {
    const proposal = await drafter.draft(request(['Hello', 'Wrong number']));
    expect(proposal.intents).toEqual(['wrong_number', 'greeting']);
    expect(proposal.confidence).toBe(0.5);
    // Nothing about the debt goes to someone who may not be the debtor.
    expect(proposal.text).not.toMatch(/Ana|\$/);
  });

  it('when opt-out words come in different forms, then each is an opt-out', () => {
    for (const text of ['stop', 'Stop.', 'UNSUBSCRIBE', 'quit', 'Cancel', 'END', 'please stop texting me', 'STOP sending me this', 'ALTO', 'parar', 'no quiero recibir más mensajes', 'dejen de enviarme mensajes']) {
      expect([text, detectIntents([text]).intents[0]]).toEqual([text, 'opt_out']);
    }
  });

  it('when a word only looks like a keyword, then it is not an opt-out', () => {
    for (const text of ['I will pay by the end of the month', 'para el viernes le pago', 'stop by the office?']) {
      expect([text, detectIntents([text]).intents.includes('opt_out')]).toEqual([text, false]);
    }
  });

  it('when the reply is personalised, then only the short first name and the balance formatted by code are used', async () => {
    const proposal = await drafter.draft(request(['Hello'], { tenantName: 'Ana García', amountOwedCents: 123_456 }));
    expect(proposal.text).toBe('Hi Ana, thanks for getting back to us. Your balance is $1,234.56. How would you like to settle it? This is a debt collector. Reply STOP to opt out.');
    const spanish = await drafter.draft(request(['Hola'], { language: 'es', tenantName: 'José Luis Pérez', amountOwedCents: 5 }));
    expect(spanish.text).toBe('Hola José, gracias por responder. Su saldo es de $0.05. ¿Cómo desea pagarlo? Este es un cobrador de deudas. Responda STOP para cancelar.');
    expect(shortFirstName('Bartholomew-Alexander Smith')).toBeNull();
    expect(shortFirstName('  ')).toBeNull();
  });

  it('when every intent is drafted for extreme tenants in both languages, then every reply passes the policy within 160 characters', () => {
    const tenants = [
      tenant({ tenantName: 'Maximilianos Z', amountOwedCents: 999_999_999 }),
      tenant({ tenantName: 'Bo', amountOwedCents: 0 }),
      tenant({ tenantName: '', amountOwedCents: 1 }),
    ];
    const plans = [null, { weeklyAmountCents: 9_999_999, weeks: 104 }];
    for (const language of ['en', 'es'] as const) {
      for (const base of tenants) {
        for (const intent of INTENTS) {
          for (const plan of plans) {
            const { text, violations } = composeReply(intent, { ...base, language }, plan);
            expect([language, intent, text, violations]).toEqual([language, intent, text, []]);
            expect([...text].length).toBeLessThanOrEqual(160);
          }
        }
      }
    }
  });
});

describe('plan extraction', () => {
  it('when the debtor states a weekly amount and a number of weeks, then the plan is in integer cents', () => {
    const cases: Array<[string, number, number]> = [
      ['$50 a week for 8 weeks', 5_000, 8],
      ['I can do $37.50 per week over 12 weeks', 3_750, 12],
      ['weekly payments of $25 for ten weeks', 2_500, 10],
      ['$40/wk x 6 wks', 4_000, 6],
      ['50 dólares por semana durante 8 semanas', 5_000, 8],
      ['puedo dar 75,50 dolares a la semana por ocho semanas', 7_550, 8],
      ['$1,200 weekly for 2 weeks', 120_000, 2],
    ];
    for (const [text, weeklyAmountCents, weeks] of cases) {
      expect([text, extractPlan([text])]).toEqual([text, { plan: { weeklyAmountCents, weeks }, reason: 'plan:weekly' }]);
    }
  });

  it('when the offer is monthly, then no plan is invented and the reason says why', () => {
    expect(extractPlan(['$200 per month for 3 months'])).toEqual({ plan: null, reason: 'plan:monthly_not_converted' });
    expect(extractPlan(['200 dólares al mes'])).toEqual({ plan: null, reason: 'plan:monthly_not_converted' });
    expect(extractPlan(['$50 a week for 2 months'])).toEqual({ plan: null, reason: 'plan:duration_in_months_not_converted' });
  });

  it('when the number of weeks is missing, then there is no plan but the intent is still payment_plan', async () => {
    expect(extractPlan(['I can pay $50 a week'])).toEqual({ plan: null, reason: 'plan:weeks_missing' });
    const proposal = await createRulesDrafter().draft(request(['I can pay $50 a week']));
    expect(proposal).toMatchObject({ intents: ['payment_plan'], plan: null, confidence: 0.7 });
    expect(proposal.text).toContain('how many weeks');
  });

  it('when there is no amount at all, then there is no plan and no reason', () => {
    expect(extractPlan(['hello', 'I will pay soon'])).toEqual({ plan: null, reason: null });
  });

  it('when the debtor revises an offer, then the latest message wins', () => {
    expect(extractPlan(['$30 a week for 10 weeks', 'actually $40 a week for 8 weeks']).plan).toEqual({ weeklyAmountCents: 4_000, weeks: 8 });
  });

  it('when a plan is found, then the reply repeats it and it waits for a manager', async () => {
    const proposal = await createRulesDrafter().draft(request(['I can pay $50 a week for 8 weeks']));
    expect(proposal.plan).toEqual({ weeklyAmountCents: 5_000, weeks: 8 });
    expect(proposal.text).toContain('$50.00 a week for 8 weeks');
    expect(proposal.reasons).toContain('plan:weekly');
    expect(routeDraft(asDraft(proposal), DEFAULT_ROUTING)).toBe('review');
  });

  it('when amounts are written in different notations, then they parse to cents without floating point', () => {
    expect(parseAmountCents('50')).toBe(5_000);
    expect(parseAmountCents('50.5')).toBe(5_050);
    expect(parseAmountCents('50,00')).toBe(5_000);
    expect(parseAmountCents('0.10')).toBe(10);
    expect(parseAmountCents('19.99')).toBe(1_999);
    expect(parseAmountCents('1,250.75')).toBe(125_075);
    expect(parseAmountCents('1.250,75')).toBe(125_075);
    expect(parseAmountCents('1,000')).toBe(100_000);
    expect(parseAmountCents('1,00,0')).toBeNull();
    expect(parseAmountCents('123456789')).toBeNull();
  });

  it('when cents are formatted, then it is dollars with grouping and two decimals', () => {
    expect(formatCents(0)).toBe('$0.00');
    expect(formatCents(5)).toBe('$0.05');
    expect(formatCents(123_456)).toBe('$1,234.56');
    expect(formatCents(100_000_000)).toBe('$1,000,000.00');
  });
});

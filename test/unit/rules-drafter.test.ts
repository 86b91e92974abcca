import { describe, expect, it } from '@jest/globals';
import { INTENTS, type Intent } from '../../machines/conversation/conversation.types.js';
import { DEFAULT_ROUTING, routeDraft, type Route } from '../../machines/conversation/routing.js';
import { STEP_CONFIDENCE, toDraft, type DraftProposal, type DraftRequest } from '../../src/adapters/drafting/drafter.js';
import { RULES_CONFIDENCE, composeReply, createRulesDrafter, detectIntents, shortFirstName } from '../../src/adapters/drafting/rules.drafter.js';
import { formatCents } from '../../src/negotiation/index.js';
import type { PaymentPlan } from '../../machines/conversation/plan.types.js';
import { DEFAULT_COMPLIANCE, DEFAULT_MAX_SEGMENTS, checkOutgoingText, complianceFooter } from '../../src/policies/compliance.js';
import { smsSegments } from '../../src/policies/sms-segments.js';
import type { Tenant } from '../../src/adapters/ports.js';
import { EARLIER_REPLY, makeDraftRequest, makePlan, makeTenant } from '../helpers/fixtures.js';

const tenant = makeTenant;

/** A reply later in the thread (one text of ours already went out): the short closing. */
const request = (texts: string[], overrides: Partial<Tenant> = {}, offeredPlan: PaymentPlan | null = null) =>
  makeDraftRequest(texts, tenant(overrides), { offeredPlan, history: [EARLIER_REPLY] });
/** The first reply of the thread: the closing carries the full notice. */
const firstRequest = (texts: string[], overrides: Partial<Tenant> = {}, offeredPlan: PaymentPlan | null = null) =>
  makeDraftRequest(texts, tenant(overrides), { offeredPlan });

const asDraft = (proposal: DraftProposal, language: 'en' | 'es', req: DraftRequest) => toDraft(proposal, 'd-1', language, req.step);

/** One English and one Spanish message per intent, with the route it must take under default routing. */
const CASES: Array<{ intent: Intent; en: string; es: string; route: Route; offered?: boolean }> = [
  { intent: 'opt_out', en: 'STOP', es: 'No me escriban más', route: 'optOut' },
  { intent: 'cease', en: 'Stop contacting me', es: 'Dejen de llamarme', route: 'escalate' },
  { intent: 'attorney', en: 'Talk to my attorney', es: 'Hable con mi abogado', route: 'escalate' },
  { intent: 'bankruptcy', en: 'I filed for bankruptcy', es: 'Me declaré en bancarrota', route: 'escalate' },
  { intent: 'dispute', en: "This is not my debt, I don't owe you", es: 'Esa deuda no es mía, no debo nada', route: 'escalate' },
  { intent: 'hostile', en: 'You people are thieves', es: 'Son unos rateros', route: 'escalate' },
  { intent: 'threat_to_sue', en: "I'm going to sue you", es: 'Los voy a demandar', route: 'escalate' },
  { intent: 'regulator_complaint', en: 'I filed a complaint with the CFPB', es: 'Voy a reportarlos a la CFPB', route: 'escalate' },
  { intent: 'supervisor_request', en: 'Let me talk to a supervisor', es: 'Quiero hablar con un supervisor', route: 'escalate' },
  { intent: 'harassment_claim', en: 'This is harassment', es: 'Esto es acoso', route: 'escalate' },
  { intent: 'hardship', en: 'I lost my job last month', es: 'Perdí mi trabajo el mes pasado', route: 'review' },
  // $400 against $1,234.56: our counter-proposal covers the balance in 12 weeks, which a manager approves.
  { intent: 'payment_plan', en: 'I can pay $50 a week for 8 weeks', es: 'Puedo pagar 50 dólares por semana durante 8 semanas', route: 'review' },
  { intent: 'plan_accepted', en: 'Yes', es: 'Sí, de acuerdo', route: 'agreePlan', offered: true },
  { intent: 'plan_declined', en: 'No', es: 'No puedo', route: 'autoSend', offered: true },
  { intent: 'promise_to_pay', en: "I'll pay on Friday", es: 'Pagaré el viernes', route: 'autoSend' },
  // A report of a payment, which a manager checks; "I already paid" (the debt) is a dispute (dispute-intents.test.ts).
  { intent: 'paid', en: 'I already made the payment', es: 'Ya hice el pago', route: 'review' },
  { intent: 'wrong_number', en: 'Wrong number', es: 'Número equivocado', route: 'lowConfidence' },
  { intent: 'question', en: 'How much do I owe?', es: '¿Cuánto debo?', route: 'autoSend' },
  { intent: 'greeting', en: 'Hello', es: 'Hola', route: 'autoSend' },
  { intent: 'other', en: 'maybe later', es: 'tal vez luego', route: 'review' },
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

  for (const { intent, en, es, route, offered } of CASES) {
    for (const [language, text] of [['en', en], ['es', es]] as const) {
      it(`when a ${language} debtor writes a ${intent} message, then the intent is ${intent}, the route ${route}, and the reply is compliant in the tenant's language`, async () => {
        // An offer on the table is makePlan(): $750 in four weekly payments, against a $750 balance.
        const req = offered ? firstRequest([text], { language, amountOwedCents: 75_000 }, makePlan()) : firstRequest([text], { language });
        const proposal = await drafter.draft(req);
        expect(proposal.intents[0]).toBe(intent);
        expect(proposal.confidence).toBe(req.step ? STEP_CONFIDENCE[req.step.kind] : RULES_CONFIDENCE[intent]);
        expect(routeDraft(asDraft(proposal, language, req), DEFAULT_ROUTING)).toBe(route);
        expect(checkOutgoingText(proposal.text, { language, firstText: true })).toEqual([]);
        expect(proposal.text.endsWith(complianceFooter(language, { firstText: true }))).toBe(true);
        const why = req.step ? `negotiation:${req.step.kind}` : `rule:${intent}.`;
        expect(proposal.reasons.some((reason) => reason.startsWith(why) || (intent === 'other' && reason === 'rule:none'))).toBe(true);
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

  it('when every intent is drafted for extreme tenants, both languages, first or later, with or without a 40-character agency, then every reply passes the default policy', () => {
    const tenants = [
      tenant({ tenantName: 'Maximilianos Z', amountOwedCents: 999_999_999 }),
      tenant({ tenantName: 'Bo', amountOwedCents: 0 }),
      tenant({ tenantName: '', amountOwedCents: 1 }),
    ];
    for (const agencyName of [null, 'Acme Recovery', 'Abcdefghij Klmnopqrst Uvwxyzabcd Efghijkl']) {
      const policy = { ...DEFAULT_COMPLIANCE, agencyName };
      for (const firstText of [false, true]) {
        for (const language of ['en', 'es'] as const) {
          for (const base of tenants) {
            for (const intent of INTENTS) {
              const { text, violations } = composeReply(intent, { ...base, language }, policy, { firstText });
              expect([language, intent, text, violations]).toEqual([language, intent, text, []]);
              expect(smsSegments(text).segments).toBeLessThanOrEqual(DEFAULT_MAX_SEGMENTS);
              if (agencyName) expect(text).toContain(agencyName);
            }
          }
        }
      }
    }
  });

  it('when the reply is the first of the thread, then it carries the full notice, and English still fits two SMS', async () => {
    const proposal = await drafter.draft(firstRequest(['Hello'], { tenantName: 'Ana García', amountOwedCents: 123_456 }));
    expect(proposal.text).toBe(
      'Hi Ana, thanks for getting back to us. Your balance is $1,234.56. How would you like to settle it? This is a debt collector attempting to collect a debt; any information obtained will be used for that purpose. Reply STOP to opt out.',
    );
    expect(smsSegments(proposal.text)).toMatchObject({ encoding: 'gsm7', segments: 2 });
    const spanish = await drafter.draft(firstRequest(['Hola'], { language: 'es', tenantName: 'José Luis Pérez', amountOwedCents: 5 }));
    expect(spanish.text.endsWith(complianceFooter('es', { firstText: true }))).toBe(true);
    expect(checkOutgoingText(spanish.text, { language: 'es', firstText: true })).toEqual([]);
  });

  it('when an agency is configured, then the closing names it and a plan restated by code does too', async () => {
    const policy = { ...DEFAULT_COMPLIANCE, agencyName: 'Acme Recovery' };
    const agencyDrafter = createRulesDrafter({ compliance: policy });
    const proposal = await agencyDrafter.draft(request(['Hello'], { tenantName: 'Ana García', amountOwedCents: 123_456 }));
    expect(proposal.text.endsWith('Acme Recovery is a debt collector. Reply STOP to opt out.')).toBe(true);
    expect(proposal.reviewReason).toBeNull();
  });
});

describe('rules drafter: replies about a plan (the step code decided)', () => {
  const drafter = createRulesDrafter();
  const balance = { amountOwedCents: 75_000 };

  it('when the debtor offers a plan the policy accepts, then the reply restates it in code and asks for a yes, and it goes out alone', async () => {
    const req = request(['I can pay $200/week for 4 weeks starting next Friday'], balance);
    const proposal = await drafter.draft(req);
    expect(proposal.text).toBe('4 weekly payments: $200.00 from Fri, Jan 9, last $150.00 on Jan 30. Total $750.00. Reply YES to agree. This is a debt collector. Reply STOP to opt out.');
    expect(routeDraft(asDraft(proposal, 'en', req), DEFAULT_ROUTING)).toBe('autoSend');
  });

  it('when the debtor says yes to our offer, then the plan is agreed and the reply confirms it, never a balance reminder', async () => {
    const req = request(['yes'], balance, makePlan());
    const proposal = await drafter.draft(req);
    expect(req.step?.negotiation).toMatchObject({ kind: 'agree', plan: { totalCents: 75_000, count: 4, timeZone: 'America/Chicago' } });
    expect(proposal.text).toMatch(/^Thank you, your plan is set: /);
    expect(proposal.text).not.toMatch(/balance/i);
  });

  it('when the debtor says yes and nothing was offered, then the reply asks for their terms, never a balance reminder', async () => {
    const proposal = await drafter.draft(request(['yes'], balance));
    expect(proposal.text).toBe('Great. How much can you pay each week, and starting when? This is a debt collector. Reply STOP to opt out.');
  });

  it('when the debtor says no to our offer, then the reply asks what they could pay', async () => {
    const proposal = await drafter.draft(request(['no'], { ...balance, language: 'es' }, makePlan()));
    expect(proposal.text).toBe('Entendido. ¿Cuánto podría pagar por semana y desde cuándo? Este es un cobrador de deudas. Responda STOP para cancelar.');
  });

  it('when an offer is far from anything the policy accepts, then a person takes over (unrealistic)', async () => {
    const req = request(['$10 a week for 52 weeks'], balance);
    const proposal = await drafter.draft(req);
    expect(routeDraft(asDraft(proposal, 'en', req), DEFAULT_ROUTING)).toBe('unrealistic');
  });

  it('when the debtor revises an offer, then the latest message wins', async () => {
    const req = request(['$30 a week for 10 weeks', 'actually $250 a week for 3 weeks'], balance);
    expect(req.step?.negotiation).toMatchObject({ kind: 'offer', plan: { instalmentCents: 25_000, count: 3 } });
  });

  it('when a dispute comes with an offer, then the dispute decides the reply and the route', async () => {
    const req = request(['This is not my debt but I can pay $200 a week for 4 weeks'], balance);
    const proposal = await drafter.draft(req);
    expect(proposal.intents[0]).toBe('dispute');
    expect(routeDraft(asDraft(proposal, 'en', req), DEFAULT_ROUTING)).toBe('escalate');
  });

  it('when cents are formatted, then it is dollars with grouping and two decimals', () => {
    expect(formatCents(0)).toBe('$0.00');
    expect(formatCents(5)).toBe('$0.05');
    expect(formatCents(123_456)).toBe('$1,234.56');
    expect(formatCents(100_000_000)).toBe('$1,000,000.00');
  });
});

describe('rules drafter: who is writing', () => {
  it.each(['Who is this?', 'who are you', '¿Quién es?', 'quien habla'])('when the debtor asks %j, then the reply names the agency and never states the balance', async (text) => {
    const proposal = await createRulesDrafter({ compliance: { ...DEFAULT_COMPLIANCE, agencyName: 'Acme Recovery' } }).draft(
      makeDraftRequest([text], makeTenant({ amountOwedCents: 123_456, language: /qui/i.test(text) ? 'es' : 'en' })),
    );
    expect(proposal.text).toContain('Acme Recovery');
    expect(proposal.text).not.toContain('$1,234.56');
  });
});

describe('rules drafter: a contact preference the debtor just stated', () => {
  const drafter = createRulesDrafter();
  const cases = [
    { language: 'en' as const, text: 'Call me after 6pm, not at work', preference: { earliestHour: 18, latestHour: null, notAtWork: true }, said: 'Noted: we will text you only after 6pm, and not during work hours.' },
    { language: 'en' as const, text: "Don't text me at work", preference: { earliestHour: null, latestHour: null, notAtWork: true }, said: 'Noted: we will not text you during work hours.' },
    { language: 'es' as const, text: 'escríbanme solo después de las 7', preference: { earliestHour: 19, latestHour: null, notAtWork: false }, said: 'Anotado: le escribiremos solo después de las 19:00.' },
  ];

  it.each(cases)('when the debtor writes $text, then the reply acknowledges it and stays compliant', async ({ language, text, preference, said }) => {
    const req = { ...request([text], { language }), statedPreference: preference };
    const proposal = await drafter.draft(req);
    expect(proposal.text).toContain(said);
    expect(checkOutgoingText(proposal.text, { language, ledgerCents: req.tenant.amountOwedCents })).toEqual([]);
  });

  it('when no preference was stated, then the reply says nothing about one', async () => {
    const proposal = await drafter.draft(request(['Hello']));
    expect(proposal.text).not.toMatch(/Noted:/);
  });
});

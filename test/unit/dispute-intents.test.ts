import { describe, expect, it } from '@jest/globals';
import { HUMAN_ONLY_INTENTS } from '../../machines/conversation/conversation.types.js';
import { DEFAULT_ROUTING, routeDraft } from '../../machines/conversation/routing.js';
import { plainWords } from '../../machines/conversation/text.js';
import { detectIntents } from '../../src/adapters/drafting/rules.drafter.js';
import { detectLegalIntents } from '../../src/policies/legal-intents.js';
import { makeDraft } from '../helpers/fixtures.js';

/**
 * Disputes and claims of payment in everyday words (FDCPA §809(b), Reg F §1006.38): every one must reach the
 * `dispute` rule, whatever the apostrophe, the spelling or the language; and the look-alikes (a debt that is
 * too high, a part paid, a plan to pay it off) must not take the conversation from automation.
 */

// Straight, curly (U+2019), left (U+2018), modifier (U+02BC), backtick, acute accent, none, a typed ";".
const APOSTROPHES = ["'", '\u2019', '\u2018', '\u02bc', '`', '\u00b4', '', ';'];
const isnt = APOSTROPHES.map((mark) => `this isn${mark}t my debt`);

const DISPUTES_EN = [
  'I already paid the rest, it is paid in full',
  'I paid off the remaining balance last week',
  'I paid it off, the remainder too',
  ...isnt,
  'This isn’t my debt',
  'THIS ISNT MY DEBT!!!',
  'this is not my debt',
  'That’s not my debt',
  'thats not my dept',
  'this aint my debt',
  "it's not mine",
  'its not mine',
  'not mine',
  'Not mine.',
  'that account is not mine',
  'this debt does not belong to me',
  "this doesn't belong to me",
  'not my bill, never was',
  'I already paid',
  'i already paid!!',
  'I already paid this off last year',
  'i alredy payed this',
  'allready paid it',
  'I already paid you guys',
  'already paid that debt, check your records',
  'I already paid my debt to you',
  'I paid it off',
  'i paid it off last year',
  'I paid this off in 2019',
  'we paid that off years ago',
  'paid it off already',
  'This was paid off years ago',
  'that debt was paid in full',
  'the account was settled in 2021',
  'it has been paid in full',
  'I paid in full already',
  'I paid it last year',
  'I paid you guys back in 2020',
  'wrong person',
  'you have the wrong person',
  'Wrong persn',
  'you got the wrong guy',
  'this is mistaken identity',
  'I never had an account with you',
  'never had a acount with them',
  'I never opened an account with your company',
  "I don't have an account with you",
  'never did business with you',
  "I don't owe this",
  'i dont owe u anything',
  "I never owed this",
  'I owe you nothing',
  "I don't recognize this debt",
  'never heard of this company',
  'I dispute this debt',
  'prove it',
  'send me proof of the debt',
  'this is a scam',
  "I was a victim of identity theft, it isn't mine",
];

const DISPUTES_ES = [
  'ya pagué el resto, ya está pagada',
  'Ya pagué',
  'ya pague',
  'YA PAGUÉ!!',
  'ya la pagué',
  'ya la pague hace dos años',
  'ya lo pagué todo',
  'esa deuda ya la pagué',
  'ya se pagó',
  'ya está pagada',
  'la cuenta ya fue pagada',
  'esa deuda está liquidada, ya la liquidé',
  'pagué todo el año pasado',
  'no es mía',
  'no es mia',
  'No es mío',
  'esa deuda no es mía',
  'no es mi deuda',
  'esa cuenta no es mía',
  'persona equivocada',
  'tienen a la persona equivocada',
  'se equivocaron de persona',
  'nunca tuve una cuenta con ustedes',
  'nunca he tenido una cuenta',
  'no tengo ninguna cuenta con ustedes',
  'no le debo nada',
  'yo no debo eso',
  'no reconozco esa deuda',
  'quiero pruebas',
  'disputo esta deuda',
];

const LOOK_ALIKES_EN = [
  'my debt is too high, can we do a plan?',
  'I paid half, can I pay the rest next week?',
  'I already paid half, can I pay the rest friday?',
  'I already paid $50 this week',
  'I already paid the first instalment',
  'I already paid my rent so I can only do $40 a week',
  'I already paid this week',
  'I already paid for this month, is that right?',
  'I paid the first payment yesterday',
  'I want to pay it off',
  'how do I pay this off?',
  'can I pay it off in 3 months?',
  "I'll have it paid off by March",
  'once it is paid in full will you report it?',
  'when this is paid off will you send a letter?',
  'is it paid off yet?',
  'is this paid in full now?',
  'I paid off my car, so I can pay more now',
  'I get paid on Friday',
  'I can pay $100 a week',
  "I can't pay it all at once",
  'my balance seems high but I want to fix it',
  'is that the right amount?',
  'what is my balance?',
  'this is my debt, I know, I just need time',
  "it's mine, I'll pay it",
  'not a problem, I will pay Friday',
  'not my best month, can we wait?',
  'I never miss a payment',
  'I have an account with you, what is the number?',
  'I just made the payment',
  'help me pay it off please',
  'I am trying to pay it off',
  "I'd like to get this paid off soon",
  'yes I agree to the plan',
  'hello',
  'who is this?',
  'please send me the payment link',
  'I paid 2 of 4 payments already',
];

const LOOK_ALIKES_ES = [
  'mi deuda es muy alta, ¿podemos hacer un plan?',
  'ya pagué la mitad, ¿puedo pagar el resto la próxima semana?',
  'ya pagué la primera cuota',
  'ya pague 50 esta semana',
  'ya voy a pagar',
  'le pago el viernes',
  'ya casi termino de pagar',
  'quiero pagar todo',
  '¿cuánto debo?',
  'es mi deuda, solo necesito tiempo',
  'puedo pagar 100 por semana',
  'ya hice el pago de esta semana',
];

const disputed = (text: string) => detectLegalIntents([text]).intents.includes('dispute');
const humanOnly = (text: string) => detectLegalIntents([text]).intents.filter((intent) => intent === 'opt_out' || HUMAN_ONLY_INTENTS.includes(intent));

describe('disputes and claims of payment, in everyday words', () => {
  const disputes = [...DISPUTES_EN, ...DISPUTES_ES];
  const lookAlikes = [...LOOK_ALIKES_EN, ...LOOK_ALIKES_ES];

  it('when the table is counted, then it holds at least 80 disputes and 40 look-alikes, in English and Spanish', () => {
    expect(disputes.length).toBeGreaterThanOrEqual(80);
    expect(lookAlikes.length).toBeGreaterThanOrEqual(40);
    expect(DISPUTES_ES.length).toBeGreaterThanOrEqual(20);
    console.info(`dispute table: ${disputes.length} disputes (${DISPUTES_EN.length} EN, ${DISPUTES_ES.length} ES), ${lookAlikes.length} look-alikes (${LOOK_ALIKES_EN.length} EN, ${LOOK_ALIKES_ES.length} ES)`);
  });

  it.each(disputes)('when the debtor writes %j, then it is a dispute', (text) => {
    expect(disputed(text)).toBe(true);
  });

  it.each(lookAlikes)('when the debtor writes %j, then nothing takes it from automation', (text) => {
    expect(humanOnly(text)).toEqual([]);
  });

  it.each(disputes)('when the rules drafter reads %j, then the draft escalates (no balance waits for approval)', (text) => {
    const { intents } = detectIntents([text]);
    expect(intents).toContain('dispute');
    expect(routeDraft(makeDraft({ intents, confidence: 0.95 }), DEFAULT_ROUTING)).toBe('escalate');
  });

  it('when an apostrophe is any mark or none, then the one normaliser reads the same words', () => {
    expect(new Set(isnt.map(plainWords))).toEqual(new Set(['this is not my debt']));
    expect(plainWords('I alredy payed, it’s not mine')).toBe('i already paid its not mine');
    expect(plainWords('Ya la pagué')).toBe('ya la pague');
  });
});

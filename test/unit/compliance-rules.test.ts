import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { HUMAN_ONLY_INTENTS, type Intent } from '../../machines/conversation/conversation.types.js';
import { detectOptOut, isOptOutRequest } from '../../machines/conversation/opt-out.js';
import { bareWords, foldText } from '../../machines/conversation/text.js';
import { buildDisclosure, MAX_AGENCY_NAME_LENGTH, normaliseAgencyName } from '../../src/policies/disclosure.js';
import { DEFAULT_COMPLIANCE, checkOutgoingText, complianceFooter, type ViolationCode } from '../../src/policies/compliance.js';
import { detectLegalIntents } from '../../src/policies/legal-intents.js';
import { smsSegments, type SmsEncoding } from '../../src/policies/sms-segments.js';

/**
 * The collection-law guardrails as one table (docs/compliance.md): opt-outs and their look-alikes, every
 * human-only intent in English and Spanish with typos, SMS segments, banned content, fees and amounts.
 */

// ---------------------------------------------------------------------------------------------------
// Opt-out (TCPA revocation by any reasonable means, Reg F §1006.6(e))

const OPT_OUTS: readonly string[] = [
  'STOP',
  'stop',
  'Stop.',
  'STOP!!!',
  'S T O P',
  'stop please',
  'Please stop',
  'STOP STOP',
  'ＳＴＯＰ',
  'S\u200BTOP',
  'END',
  'QUIT',
  'Cancel',
  'UNSUBSCRIBE',
  'unsuscribe me',
  'REVOKE',
  'opt out',
  'Opt-Out',
  'STOPALL',
  'stop all',
  'ALTO',
  'Alto por favor',
  'PARAR',
  'BAJA',
  'Cancelar',
  'take me off your list',
  'Please remove me from your list',
  'no more messages',
  'No more texts please',
  "don't text me",
  'don’t text me again',
  'Do not text this number',
  'remove my number',
  'delete my number from your system',
  'please stop texting me',
  'STOP sending me this',
  'I said STOP',
  'I revoke my consent to be texted',
  'no me escriban',
  'No me escriban más',
  'no me manden más mensajes',
  'ya no me manden mensajes',
  'bórrenme de su lista',
  'Bórrenme',
  'quítenme de su lista',
  'sáquenme de su lista por favor',
  'no quiero recibir más mensajes',
  'dejen de enviarme mensajes',
  'paren de escribirme',
  'denme de baja',
  'quiero darme de baja',
  'borren mi número',
  'basta de mensajes',
];

const OPT_OUT_LOOK_ALIKES: readonly string[] = [
  "don't stop my plan",
  'DON’T STOP MY PLAN',
  'I will pay by the end of the month',
  'para el viernes le pago',
  'stop by the office?',
  'I will STOP BY tomorrow',
  "can't stop worrying",
  'I quit my job last week',
  'cancel the plan, I want a new one',
  'no me manden la factura todavía',
  'me dieron de baja del trabajo',
  'no more money this week',
  'the end date is friday?',
  'please don’t stop sending reminders',
];

describe('opt-out detector', () => {
  it.each(OPT_OUTS)('when the debtor writes %j, then it is an opt-out (machine guard and rules agree)', (text) => {
    expect(isOptOutRequest(text)).toBe(true);
    expect(detectLegalIntents([text]).intents[0]).toBe('opt_out');
  });

  it.each(OPT_OUT_LOOK_ALIKES)('when the debtor writes the look-alike %j, then it is not an opt-out', (text) => {
    expect(detectOptOut(text)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------------
// Human-only intents, English and Spanish, with typos

const HUMAN_ONLY_CASES: ReadonlyArray<readonly [Intent, string]> = [
  ['cease', 'Stop calling me'],
  ['cease', 'dont contact me again'],
  ['cease', 'leave me alone'],
  ['cease', 'cease and desist'],
  ['cease', 'Dejen de llamarme'],
  ['cease', 'no me vuelvan a contactar'],
  ['cease', 'déjenme en paz'],
  ['attorney', 'talk to my lawyer'],
  ['attorney', 'my laywer will handle it'],
  ['attorney', 'contact my atorney'],
  ['attorney', 'I am represented by counsel'],
  ['attorney', 'hable con mi abogado'],
  ['attorney', 'mi abogao le llama'],
  ['bankruptcy', 'I filed for bankruptcy'],
  ['bankruptcy', 'i filed bankrupcy last month'],
  ['bankruptcy', 'chapter 7'],
  ['bankruptcy', 'Ch. 13 filed'],
  ['bankruptcy', 'the debt was discharged'],
  ['bankruptcy', 'me declaré en quiebra'],
  ['bankruptcy', 'estoy en bancarrota'],
  ['bankruptcy', 'capítulo 13'],
  ['threat_to_sue', "I'm going to sue you"],
  ['threat_to_sue', 'see you in court'],
  ['threat_to_sue', 'im gonna sue'],
  ['threat_to_sue', 'i will file a lawsuit'],
  ['threat_to_sue', 'you are violating the FDCPA'],
  ['threat_to_sue', 'los voy a demandar'],
  ['threat_to_sue', 'nos vemos en la corte'],
  ['threat_to_sue', 'voy a demandarlos'],
  ['regulator_complaint', 'I filed a complaint with the CFPB'],
  ['regulator_complaint', 'reporting you to the attorney general'],
  ['regulator_complaint', 'BBB complaint coming'],
  ['regulator_complaint', 'i will report you to the c.f.p.b.'],
  ['regulator_complaint', 'voy a reportarlos a la CFPB'],
  ['regulator_complaint', 'pondré una queja con el fiscal general'],
  ['supervisor_request', 'let me talk to a supervisor'],
  ['supervisor_request', 'I want a manager'],
  ['supervisor_request', 'speak to your boss'],
  ['supervisor_request', 'let me speek to a superviser'],
  ['supervisor_request', 'quiero hablar con un supervisor'],
  ['supervisor_request', 'pásame con tu gerente'],
  ['supervisor_request', 'quiero hablar con una persona real'],
  ['harassment_claim', 'this is harassment'],
  ['harassment_claim', 'stop harassing me'],
  ['harassment_claim', 'stop harrassing me'],
  ['harassment_claim', 'this is harasment'],
  ['harassment_claim', 'esto es acoso'],
  ['harassment_claim', 'me están acosando'],
  ['harassment_claim', 'dejen de hostigarme'],
  ['dispute', 'not my debt'],
  ['dispute', 'wrong person'],
  ['dispute', 'prove it'],
  ['dispute', "I don't owe you anything"],
  ['dispute', 'esa cuenta no es mía'],
  ['dispute', 'no reconozco esa deuda'],
  ['dispute', 'never heard of this company'],
  ['hostile', 'you are thieves'],
  ['hostile', 'f*ck you'],
  ['hostile', 'fuk off'],
  ['hostile', 'pinches rateros'],
  ['hostile', 'son unos ladrones'],
];

/** Decided look-alikes: the words are there, the intent is not. */
const HUMAN_ONLY_LOOK_ALIKES: ReadonlyArray<readonly [Intent, string]> = [
  ['attorney', 'I sent a complaint to the attorney general'],
  ['bankruptcy', 'I was discharged from the hospital on Monday'],
  ['supervisor_request', 'my supervisor cut my hours'],
  ['threat_to_sue', 'Sue will pay you on Friday'],
  ['harassment_claim', 'me voy a acostar temprano'],
  ['dispute', 'I dispatched the payment yesterday'],
  ['cease', 'I will call you tomorrow'],
  ['hostile', 'I lost my job'],
];

describe('human-only intents', () => {
  it('when the cases are listed, then every human-only intent has English and Spanish rows', () => {
    for (const intent of HUMAN_ONLY_INTENTS) expect([intent, HUMAN_ONLY_CASES.filter(([i]) => i === intent).length >= 5]).toEqual([intent, true]);
  });

  it.each(HUMAN_ONLY_CASES)('when the debtor writes %s: %j, then the rules see it', (intent, text) => {
    expect(detectLegalIntents([text]).intents).toContain(intent);
  });

  it.each(HUMAN_ONLY_LOOK_ALIKES)('when the debtor writes a look-alike of %s: %j, then the rules do not see it', (intent, text) => {
    expect(detectLegalIntents([text]).intents).not.toContain(intent);
  });
});

// ---------------------------------------------------------------------------------------------------
// SMS segments (GSM 03.38)

const SEGMENT_CASES: ReadonlyArray<readonly [string, string, SmsEncoding, number, number]> = [
  ['empty', '', 'gsm7', 0, 1],
  ['160 plain', 'a'.repeat(160), 'gsm7', 160, 1],
  ['161 plain', 'a'.repeat(161), 'gsm7', 161, 2],
  ['306 plain', 'a'.repeat(306), 'gsm7', 306, 2],
  ['307 plain', 'a'.repeat(307), 'gsm7', 307, 3],
  ['80 euro signs (extension, two septets each)', '€'.repeat(80), 'gsm7', 160, 1],
  ['81 euro signs', '€'.repeat(81), 'gsm7', 162, 2],
  ['escape pair not split at a part boundary', `${'a'.repeat(152)}€${'a'.repeat(10)}`, 'gsm7', 164, 2],
  ['é ñ ü à ¿ ¡ are GSM-7 basic', '¿Qué año? ¡Pingüino! à'.padEnd(160, 'x'), 'gsm7', 160, 1],
  ['one á makes it UCS-2', `á${'a'.repeat(69)}`, 'ucs2', 70, 1],
  ['71 UCS-2 units', `ó${'a'.repeat(70)}`, 'ucs2', 71, 2],
  ['134 UCS-2 units', `ú${'a'.repeat(133)}`, 'ucs2', 134, 2],
  ['135 UCS-2 units', `í${'a'.repeat(134)}`, 'ucs2', 135, 3],
  ['an emoji counts two units', '🙂'.repeat(35), 'ucs2', 70, 1],
  ['a surrogate pair is not split', `${'a'.repeat(66)}🙂${'a'.repeat(5)}`, 'ucs2', 73, 2],
  ['a curly apostrophe is not GSM-7', 'don’t', 'ucs2', 5, 1],
  ['backtick is not GSM-7', '`', 'ucs2', 1, 1],
  ['[ ] { } ~ ^ \\ | count double', '[]{}~^\\|', 'gsm7', 16, 1],
];

describe('SMS segments', () => {
  it.each(SEGMENT_CASES)('when the text is %s, then encoding, units and segments are as the carrier bills them', (_label, text, encoding, units, segments) => {
    expect(smsSegments(text)).toEqual({ encoding, units, segments });
  });
});

// ---------------------------------------------------------------------------------------------------
// Content: banned phrases, fees, amounts

const EN = complianceFooter('en');
const ES = complianceFooter('es');

type ContentCase = readonly [label: string, text: string, language: 'en' | 'es', options: { ledgerCents?: number; allowedCents?: number[]; allowFees?: boolean }, expected: ViolationCode[]];

const CONTENT_CASES: readonly ContentCase[] = [
  ['a threat of arrest', `You could be arrested. ${EN}`, 'en', {}, ['banned_phrase']],
  ['a threat of garnishment', `We will garnish your wages. ${EN}`, 'en', {}, ['banned_phrase']],
  ['a threat to sue', `We will sue you. ${EN}`, 'en', {}, ['banned_phrase']],
  ['a Spanish threat of jail', `Podría ir a la cárcel. ${ES}`, 'es', {}, ['banned_phrase']],
  ['a Spanish threat of a lawsuit', `Lo vamos a demandar. ${ES}`, 'es', {}, ['banned_phrase']],
  ['a late fee', `A late fee of $25 applies. ${EN}`, 'en', {}, ['fee_language']],
  ['a processing charge', `There is a processing charge. ${EN}`, 'en', {}, ['fee_language']],
  ['a surcharge', `A surcharge will be added. ${EN}`, 'en', {}, ['fee_language']],
  ['a Spanish "cargo por"', `Hay un cargo por pago tardío. ${ES}`, 'es', {}, ['fee_language']],
  ['a Spanish "recargo"', `Se aplicará un recargo. ${ES}`, 'es', {}, ['fee_language']],
  ['"a cargo de" (in charge of) is not a fee', `Un agente estará a cargo de su cuenta. ${ES}`, 'es', {}, []],
  ['a fee where the deployment allows fees', `A late fee applies. ${EN}`, 'en', { allowFees: true }, []],
  ['the ledger balance', `Your balance is $1,234.56. ${EN}`, 'en', { ledgerCents: 123_456 }, []],
  ['another balance', `Your balance is $1,500.00. ${EN}`, 'en', { ledgerCents: 123_456 }, ['amount_mismatch']],
  ['a rounded balance', `Your balance is $1,234. ${EN}`, 'en', { ledgerCents: 123_456 }, ['amount_mismatch']],
  ['a balance in words of dollars', `Su saldo es de 1234.56 dólares. ${ES}`, 'es', { ledgerCents: 123_456 }, []],
  ['a wrong balance in dollars', `Su saldo es de 99 dólares. ${ES}`, 'es', { ledgerCents: 123_456 }, ['amount_mismatch']],
  ['plan amounts the caller allows', `4 weekly payments of $200.00, last $150.00. Total $750.00. ${EN}`, 'en', { ledgerCents: 75_000, allowedCents: [20_000, 15_000, 75_000] }, []],
  ['a plan amount the caller did not allow', `4 weekly payments of $250.00. ${EN}`, 'en', { ledgerCents: 75_000, allowedCents: [20_000, 15_000] }, ['amount_mismatch']],
  ['no amount at all', `Thanks for your reply. ${EN}`, 'en', { ledgerCents: 123_456 }, []],
  ['an amount with no ledger given', `Your balance is $9.99. ${EN}`, 'en', {}, []],
];

describe('content rules', () => {
  it.each(CONTENT_CASES)('when the text has %s, then the violations are as listed', (_label, text, language, options, expected) => {
    const policy = { ...DEFAULT_COMPLIANCE, allowFees: options.allowFees ?? false };
    const violations = checkOutgoingText(text, { language, policy, ledgerCents: options.ledgerCents, allowedCents: options.allowedCents });
    expect(violations.map((violation) => violation.code)).toEqual(expected);
    // An amount mismatch names no value: amounts are the debtor's data.
    for (const violation of violations.filter((v) => v.code === 'amount_mismatch')) expect(violation.detail).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------
// Disclosure

const DISCLOSURE_CASES: ReadonlyArray<readonly [string, string, ViolationCode[]]> = [
  ['the closing naming the agency', `Thanks. ${complianceFooter('en', { agencyName: 'Acme Recovery' })}`, []],
  ['the generic closing when an agency is configured', `Thanks. ${EN}`, ['missing_agency']],
  ['the agency in another case', `Thanks. ACME RECOVERY is a debt collector. Reply STOP to opt out.`, []],
  ['the full notice on a first text', `Hi. ${complianceFooter('en', { agencyName: 'Acme Recovery', firstText: true })}`, []],
];

describe('disclosure', () => {
  it.each(DISCLOSURE_CASES)('when the text carries %s, then the violations are as listed', (_label, text, expected) => {
    const policy = { ...DEFAULT_COMPLIANCE, agencyName: 'Acme Recovery' };
    expect(checkOutgoingText(text, { language: 'en', policy }).map((violation) => violation.code)).toEqual(expected);
  });

  it('when a first text has only the short closing, then missing_notice, in both languages', () => {
    expect(checkOutgoingText(`Hi. ${EN}`, { language: 'en', firstText: true }).map((v) => v.code)).toEqual(['missing_notice']);
    expect(checkOutgoingText(`Hola. ${ES}`, { language: 'es', firstText: true }).map((v) => v.code)).toEqual(['missing_notice']);
    expect(checkOutgoingText(`Hola. ${complianceFooter('es', { firstText: true })}`, { language: 'es', firstText: true })).toEqual([]);
  });

  it('when the agency name itself contains a banned or fee word, then it is not read as content', () => {
    const policy = { ...DEFAULT_COMPLIANCE, agencyName: 'Sue Fee Collections' };
    expect(checkOutgoingText(`Thanks. ${complianceFooter('en', { agencyName: 'Sue Fee Collections' })}`, { language: 'en', policy })).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Table size, then fuzz

const TABLE_ROWS =
  OPT_OUTS.length +
  OPT_OUT_LOOK_ALIKES.length +
  HUMAN_ONLY_CASES.length +
  HUMAN_ONLY_LOOK_ALIKES.length +
  SEGMENT_CASES.length +
  CONTENT_CASES.length +
  DISCLOSURE_CASES.length;

it('when the table is counted, then it has at least 120 rows', () => {
  expect(TABLE_ROWS).toBeGreaterThanOrEqual(120);
});

/** Any string: every code point, lone surrogates and NUL included. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc
    .array(fc.oneof(fc.constantFrom('\0', '\uD800', '\uDFFF', '\u200B', 'STOP', 'stop', ' ', '¿', 'á', '\n', "'"), fc.string({ unit: 'binary', maxLength: 5 })), { maxLength: 40 })
    .map((parts) => parts.join('')),
);

const FUZZ_RUNS = 2_000;

describe('fuzz', () => {
  it('when the opt-out detector and the normaliser get any string, then they never throw and answer a boolean', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(typeof isOptOutRequest(text)).toBe('boolean');
        expect(typeof foldText(text)).toBe('string');
        expect(typeof bareWords(text)).toBe('string');
        expect(Array.isArray(detectLegalIntents([text]).intents)).toBe(true);
        expect(smsSegments(text).segments).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('when any agency name up to 40 characters closes a text in either language, first or later, then the closing names it, says debt collector, offers the opt-out and passes the check', () => {
    const agency = fc
      .oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: MAX_AGENCY_NAME_LENGTH }), fc.string({ unit: 'binary', minLength: 1, maxLength: MAX_AGENCY_NAME_LENGTH }))
      .filter((name) => {
        const normalised = normaliseAgencyName(name);
        return normalised !== null && normalised.length <= MAX_AGENCY_NAME_LENGTH;
      });
    fc.assert(
      fc.property(agency, fc.constantFrom('en' as const, 'es' as const), fc.boolean(), (name, language, firstText) => {
        const closing = buildDisclosure(language, { agencyName: name, firstText });
        expect(closing).toContain(normaliseAgencyName(name)!);
        expect(closing).toContain(language === 'en' ? 'is a debt collector' : 'es un cobrador de deudas');
        expect(closing).toContain(language === 'en' ? 'Reply STOP to opt out.' : 'Responda STOP para cancelar.');
        const policy = { ...DEFAULT_COMPLIANCE, agencyName: name };
        expect(checkOutgoingText(closing, { language, policy, firstText })).toEqual([]);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

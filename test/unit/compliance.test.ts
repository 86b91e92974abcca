import { describe, expect, it } from '@jest/globals';
import { DEFAULT_COMPLIANCE, checkOutgoingText, complianceFooter, type CompliancePolicy } from '../../src/policies/compliance.js';

const codes = (text: string, language: 'en' | 'es' = 'en', policy?: CompliancePolicy) =>
  checkOutgoingText(text, { language, policy }).map((violation) => violation.code);

describe('compliance policy', () => {
  it('when the text carries the footer and a polite body, then there is no violation', () => {
    expect(codes(`Thanks for your reply. ${complianceFooter('en')}`)).toEqual([]);
    expect(codes(`Gracias por su respuesta. ${complianceFooter('es')}`, 'es')).toEqual([]);
  });

  it('when the text is empty or blank, then it is only "empty"', () => {
    expect(codes('')).toEqual(['empty']);
    expect(codes('   \n ')).toEqual(['empty']);
  });

  it('when the text takes more SMS segments than the budget, then it is too_long with segments and encoding in the detail', () => {
    const text = `${'a'.repeat(120)} ${complianceFooter('en')}`;
    // 169 GSM-7 characters: two segments, within the default of four, over a budget of one.
    expect(checkOutgoingText(text, { language: 'en', policy: DEFAULT_COMPLIANCE })).toEqual([]);
    expect(checkOutgoingText(text, { language: 'en', policy: { ...DEFAULT_COMPLIANCE, maxSegments: 1 } })).toEqual([
      { code: 'too_long', detail: '2 gsm7 segments > 1' },
    ]);
  });

  it('when a deployment also sets maxLength, then it still applies in characters', () => {
    const text = `${'a'.repeat(120)} ${complianceFooter('en')}`;
    expect(checkOutgoingText(text, { language: 'en', policy: { ...DEFAULT_COMPLIANCE, maxLength: 160 } })).toEqual([
      { code: 'too_long', detail: `${[...text].length} > 160` },
    ]);
    expect(codes(`Hi. ${complianceFooter('en')}`, 'en', { ...DEFAULT_COMPLIANCE, maxLength: 40 })).toEqual(['too_long']);
  });

  it('when the text is exactly maxLength, then it is allowed (accents count once)', () => {
    const footer = complianceFooter('es');
    const body = 'á'.repeat(160 - footer.length - 1);
    expect(codes(`${body} ${footer}`, 'es', { ...DEFAULT_COMPLIANCE, maxLength: 160 })).toEqual([]);
  });

  it('when the footers are the shortest wording, then they fit with room for a body', () => {
    expect(complianceFooter('en')).toBe('This is a debt collector. Reply STOP to opt out.');
    expect(complianceFooter('es')).toBe('Este es un cobrador de deudas. Responda STOP para cancelar.');
    expect(complianceFooter('en').length).toBeLessThanOrEqual(60);
    expect(complianceFooter('es').length).toBeLessThanOrEqual(60);
  });

  it('when the disclosure is missing, then missing_disclosure', () => {
    expect(codes('Please pay today. Reply STOP to opt out.')).toEqual(['missing_disclosure']);
    expect(codes('Por favor pague hoy. Responda STOP para no recibir más mensajes.', 'es')).toEqual(['missing_disclosure']);
  });

  it('when the opt-out sentence is missing, then missing_opt_out', () => {
    expect(codes('This is a debt collector. Please pay today.')).toEqual(['missing_opt_out']);
    expect(codes('Este es un cobrador de deudas. Pague hoy.', 'es')).toEqual(['missing_opt_out']);
    // "STOP" alone is not the instruction.
    expect(codes('This is a debt collector. STOP.')).toEqual(['missing_opt_out']);
  });

  it('when the wording is a reasonable variant, then it is accepted, whatever the case and accents', () => {
    const en = [
      'We are a debt collector. Text STOP to unsubscribe.',
      'Message from a debt collector. reply stop to opt-out',
      'THIS IS A DEBT COLLECTOR. REPLY STOP TO OPT OUT.',
      'This is an attempt to collect a debt. Reply "STOP" to opt out.',
      'This message is from a debt collector. Reply STOP to stop messages.',
    ];
    for (const text of en) expect([text, codes(text)]).toEqual([text, []]);
    const es = [
      'Este es un cobrador de deudas. Responda STOP para no recibir más mensajes.',
      'Este es un cobrador de deudas. Responda STOP para no recibir mas mensajes.',
      'Somos una agencia de cobranza. Responda STOP para darse de baja.',
      'Mensaje de un cobrador de deudas. Envíe STOP para cancelar.',
      'ESTE ES UN COBRADOR DE DEUDAS. RESPONDA STOP PARA CANCELAR.',
    ];
    for (const text of es) expect([text, codes(text, 'es')]).toEqual([text, []]);
  });

  it('when the footer is in the other language, then the debtor language rule is not satisfied', () => {
    expect(codes(`Hola. ${complianceFooter('en')}`, 'es')).toEqual(['missing_disclosure', 'missing_opt_out']);
  });

  it('when an English threat appears, then banned_phrase', () => {
    const threats = [
      'You could be arrested',
      'you may go to jail',
      'prison time',
      'we will garnish your wages',
      'wage garnishment starts Monday',
      'we will file a lawsuit',
      'we will sue you',
      'we will take legal action',
      'see you in court',
      'this is a criminal matter',
      'we will call the police',
      'a warrant will be issued',
    ];
    for (const threat of threats) {
      const found = codes(`${threat}. ${complianceFooter('en')}`);
      expect([threat, found.length > 0 && found.every((code) => code === 'banned_phrase')]).toEqual([threat, true]);
    }
  });

  it('when a Spanish threat appears, with or without accents, then banned_phrase', () => {
    const threats = [
      'podría ir a la cárcel',
      'podria ir a la carcel',
      'lo van a arrestar',
      'orden de arresto',
      'prisión',
      'embargo de su salario',
      'vamos a embargar su sueldo',
      'lo vamos a demandar',
      'tomaremos acciones legales',
      'lo veremos en la corte',
      'es un delito',
      'llamaremos a la policía',
    ];
    for (const threat of threats) {
      const found = codes(`${threat}. ${complianceFooter('es')}`, 'es');
      expect([threat, found.length > 0 && found.every((code) => code === 'banned_phrase')]).toEqual([threat, true]);
    }
  });

  it('when words merely contain a banned stem, then nothing is flagged', () => {
    expect(codes(`Thanks for the courtesy and the issue report; we pursue a fair plan. ${complianceFooter('en')}`)).toEqual([]);
    expect(codes(`Gracias, su sueldo no es asunto nuestro. ${complianceFooter('es')}`, 'es')).toEqual([]);
  });

  it('when a deployment configures its own phrases, then they apply and the detail names the pattern', () => {
    const policy: CompliancePolicy = { maxLength: 160, bannedPhrases: [/\bcredit score\b/gi] };
    const text = `Your credit score matters. ${complianceFooter('en')}`;
    // Twice, to show a /g pattern does not carry state between calls.
    expect(checkOutgoingText(text, { language: 'en', policy })).toEqual([{ code: 'banned_phrase', detail: '\\bcredit score\\b' }]);
    expect(checkOutgoingText(text, { language: 'en', policy })).toEqual([{ code: 'banned_phrase', detail: '\\bcredit score\\b' }]);
  });

  it('when several rules fail, then every violation is reported', () => {
    expect(codes(`We will sue you ${'x'.repeat(700)}`)).toEqual(['too_long', 'missing_disclosure', 'missing_opt_out', 'banned_phrase']);
  });
});

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { withinMaxAge } from '../../src/http/auth.js';
import { derivedConversationId } from '../../src/http/conversation-identity.js';
import { normalisePhone } from '../../src/text/phone.js';
import { findUnsafeCharacter, normaliseSmsText } from '../../src/text/text.js';

describe('text at the edge', () => {
  it('when a string holds NUL, a lone surrogate, a C0 or C1 control or DEL, then it is found with its kind and code point', () => {
    expect(findUnsafeCharacter('a\u0000b')).toEqual({ kind: 'nul', index: 1, codePoint: 'U+0000' });
    expect(findUnsafeCharacter('smile \ud83d')).toMatchObject({ kind: 'lone_surrogate', codePoint: 'U+D83D' });
    expect(findUnsafeCharacter('\udc00 after')).toMatchObject({ kind: 'lone_surrogate', index: 0 });
    expect(findUnsafeCharacter('bell\u0007')).toMatchObject({ kind: 'control', codePoint: 'U+0007' });
    expect(findUnsafeCharacter('next line\u0085')).toMatchObject({ kind: 'control', codePoint: 'U+0085' });
    expect(findUnsafeCharacter('del\u007f')).toMatchObject({ kind: 'control' });
  });

  it('when a string is ordinary text with tabs, newlines, accents and whole emoji, then nothing is found', () => {
    expect(findUnsafeCharacter('Hola,\tpuedo pagar $50\r\n😀 ñ € 中文')).toBeNull();
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (value) => findUnsafeCharacter(value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '')) === null));
  });

  it('when an SMS body holds GSM characters read as controls, then they are read back (NUL is @, 0x02 is $), and the rest becomes U+FFFD', () => {
    expect(normaliseSmsText('mail me at ana\u0000example.com')).toBe('mail me at ana@example.com');
    expect(normaliseSmsText('I can pay \u000250 a week')).toBe('I can pay $50 a week');
    expect(normaliseSmsText('line\r\nnext\tcol')).toBe('line\r\nnext\tcol');
    expect(normaliseSmsText('cut emoji \ud83d')).toBe('cut emoji \ufffd');
    expect(normaliseSmsText('c1 \u0085 del \u007f esc \u001b')).toBe('c1 \ufffd del \ufffd esc \ufffd');
  });

  it('when any string is normalised as an SMS body, then the result is valid text of the same length', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const normalised = normaliseSmsText(value);
        return findUnsafeCharacter(normalised) === null && normalised.length === value.length;
      }),
      { numRuns: 200 },
    );
  });
});

describe('phone numbers', () => {
  it('when one number is typed in several ways, then each is the same E.164 number', () => {
    for (const typed of ['+1 (555) 123-4567', '15551234567', '+15551234567', '555.123.4567', ' +1 555 123 4567 ']) {
      expect(normalisePhone(typed)).toBe('+15551234567');
    }
    expect(normalisePhone('+44 20 7946 0958')).toBe('+442079460958');
  });

  it('when the fictional 555-01xx numbers of the quick start and the tests are given, then they are accepted', () => {
    for (const typed of ['+15550100002', '+15550199001', '+15550400006', '+15550177123']) expect(normalisePhone(typed)).toBe(typed);
  });

  it('when the text is not a phone number, then it is refused', () => {
    for (const typed of ['(((((', '-. .-', '', '+', '12345', '+1555123456789', '1-800-FLOWERS', '+1 555 123 4567 ext 5', '+10001234567', '+999123456', '+15551234567\u0000', 'not a phone', '+4300.00).', '+980)00 0']) {
      expect(normalisePhone(typed)).toBeNull();
    }
  });

  it('when a NANP number comes in E.164 (answered without libphonenumber), then the answer is the one libphonenumber gives the same number typed with spaces', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{10}$/), (national) => {
        const typed = `+1${national}`;
        // With a space the shortcut does not apply: libphonenumber reads it.
        const parsed = normalisePhone(`+1 ${national.slice(0, 3)} ${national.slice(3)}`);
        return normalisePhone(typed) === parsed && (parsed === null || parsed === typed);
      }),
      { numRuns: 2_000 },
    );
  });

  it('when any string is normalised, then the answer is null or an E.164 number that normalises to itself', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^\+?[0-9 ().-]{5,20}$/)), (typed) => {
        const e164 = normalisePhone(typed);
        return e164 === null || (/^\+[1-9][0-9]{6,14}$/.test(e164) && normalisePhone(e164) === e164);
      }),
      { numRuns: 500 },
    );
  });
});

describe('conversation ids', () => {
  const secret = 'a-test-secret-for-conversation-ids-0123456789';

  it('when an id is derived, then it holds no digits of the phone number and changes with the secret', () => {
    const id = derivedConversationId(secret, 'tenant-1042', '+15551234567');
    expect(id).toMatch(/^conv-[0-9a-f]{24}$/);
    expect(id).not.toContain('5551234567');
    expect(id).not.toContain('1234567');
    expect(derivedConversationId(secret, 'tenant-1042', '+15551234567')).toBe(id);
    expect(derivedConversationId('another-secret-for-conversation-ids-987654321', 'tenant-1042', '+15551234567')).not.toBe(id);
    expect(derivedConversationId(secret, 'tenant-1043', '+15551234567')).not.toBe(id);
    // The earlier, unkeyed derivation (the README's old example id, sha256 of tenant-1042|+15551234567) is no longer what new conversations get.
    expect(id).not.toBe('conv-159f76a858066c3b1b39146a');
  });
});

describe('token lifetime', () => {
  const now = 1_800_000_000_000;
  const day = 86_400_000;
  it('when a token has no exp, or lives longer than the maximum, then it is refused', () => {
    expect(withinMaxAge({}, day, now)).toBe(false);
    expect(withinMaxAge({ iat: now / 1000 }, day, now)).toBe(false);
    expect(withinMaxAge({ exp: (now + 2 * day) / 1000 }, day, now)).toBe(false);
    expect(withinMaxAge({ iat: (now - 1000) / 1000, exp: (now - 1000 + day + 1000) / 1000 }, day, now)).toBe(false);
    // An iat in the future does not make a long-lived token short.
    expect(withinMaxAge({ iat: (now + 10 * day) / 1000, exp: (now + 10.5 * day) / 1000 }, day, now)).toBe(false);
  });

  it('when a token lives up to the maximum, then it is accepted', () => {
    expect(withinMaxAge({ iat: now / 1000, exp: (now + day) / 1000 }, day, now)).toBe(true);
    expect(withinMaxAge({ exp: (now + 12 * 3_600_000) / 1000 }, day, now)).toBe(true);
  });
});

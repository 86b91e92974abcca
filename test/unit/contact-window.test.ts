import { describe, expect, it } from '@jest/globals';
import { detectContactPreference } from '../../src/policies/contact-preferences.js';
import { candidateZones, decideSendTime, describeInstant, nextOpening, DEFAULT_CONTACT_WINDOW } from '../../src/policies/contact-window.js';

const CHICAGO = ['America/Chicago'];
const at = (iso: string) => new Date(iso);
const MINUTE = 60_000;

describe('calling hours (08:00–21:00 in the debtor zone)', () => {
  it.each([
    ['2026-11-25T13:59:00Z', false], // 07:59 CST
    ['2026-11-25T14:00:00Z', true], // 08:00 CST
    ['2026-11-26T02:59:00Z', true], // 20:59 CST
    ['2026-11-26T03:00:00Z', false], // 21:00 CST
  ])('when it is %s in Chicago, then sending is allowed: %s', (now, allowed) => {
    expect(decideSendTime(at(now), CHICAGO, null).allowed).toBe(allowed);
  });

  it('when a text falls at 21:30, then it waits for 08:00 the next morning in that zone', () => {
    const decision = decideSendTime(at('2026-11-26T03:30:00Z'), CHICAGO, null);
    expect(decision).toEqual({ allowed: false, notBefore: at('2026-11-26T14:00:00Z'), rule: 'outside_window' });
    expect(describeInstant(decision.notBefore!, CHICAGO)).toBe('2026-11-26 08:00 America/Chicago');
  });

  it('when the debtor wrote within the reply window, then one reply may go out at night; after the window it waits', () => {
    const now = at('2026-11-26T04:00:00Z'); // 22:00 CST
    expect(decideSendTime(now, CHICAGO, new Date(now.getTime() - 10 * MINUTE)).rule).toBe('reply_exception');
    expect(decideSendTime(now, CHICAGO, new Date(now.getTime() - 31 * MINUTE)).allowed).toBe(false);
    // A reply "to" a message from the future (clock skew) is no exception.
    expect(decideSendTime(now, CHICAGO, new Date(now.getTime() + MINUTE)).allowed).toBe(false);
  });

  it('when daylight saving starts or ends, then 08:00 is local wall-clock time on that day', () => {
    // 2026-03-08: clocks go forward in Chicago (CST → CDT); 2026-11-01: back (CDT → CST).
    expect(nextOpening(at('2026-03-08T05:00:00Z'), CHICAGO)).toEqual(at('2026-03-08T13:00:00Z'));
    expect(nextOpening(at('2026-11-01T05:00:00Z'), CHICAGO)).toEqual(at('2026-11-01T14:00:00Z'));
  });

  it('when several zones are candidates, then only hours allowed in every one of them count', () => {
    const zones = ['America/New_York', 'America/Los_Angeles'];
    // 08:30 New York is 05:30 Los Angeles: not yet; the window opens at 08:00 Los Angeles = 11:00 New York.
    expect(decideSendTime(at('2026-11-25T13:30:00Z'), zones, null).notBefore).toEqual(at('2026-11-25T16:00:00Z'));
    // 20:30 Los Angeles is 23:30 New York: closed; next is 08:00 Los Angeles the next day.
    expect(decideSendTime(at('2026-11-26T04:30:00Z'), zones, null).notBefore).toEqual(at('2026-11-26T16:00:00Z'));
  });
});

describe('which zones count', () => {
  it('when the monitor gives a zone that the area code agrees with, then only that zone counts', () => {
    expect(candidateZones('America/Chicago', ['America/Chicago'])).toEqual(['America/Chicago']);
  });

  it('when the monitor and the area code disagree, then both count', () => {
    expect(candidateZones('America/Chicago', ['America/New_York'])).toEqual(['America/Chicago', 'America/New_York']);
  });

  it('when the monitor says nothing, then the area code zones count; a non-geographic number falls back to the service zones', () => {
    expect(candidateZones(null, ['America/Boise', 'America/Los_Angeles'])).toEqual(['America/Boise', 'America/Los_Angeles']);
    const everywhere = Array.from({ length: 40 }, (_, i) => `Zone/${i}`);
    expect(candidateZones(null, everywhere)).toEqual(DEFAULT_CONTACT_WINDOW.fallbackZones);
    expect(candidateZones(null, [])).toEqual(DEFAULT_CONTACT_WINDOW.fallbackZones);
  });
});

describe('contact preferences the debtor states', () => {
  it.each([
    ["Please don't text me at work", { earliestHour: null, latestHour: null, notAtWork: true }],
    ['only text me after 6pm', { earliestHour: 18, latestHour: null, notAtWork: false }],
    ['you can message me after 6', { earliestHour: 18, latestHour: null, notAtWork: false }],
    ['do not text me after 8 pm', { earliestHour: null, latestHour: 20, notAtWork: false }],
    ['no me escriban en el trabajo', { earliestHour: null, latestHour: null, notAtWork: true }],
    ['escríbanme solo después de las 7', { earliestHour: 19, latestHour: null, notAtWork: false }],
  ] as const)('when the debtor writes %j, then the preference is %j', (text, expected) => {
    expect(detectContactPreference(text)).toEqual(expected);
  });

  it.each(['I can pay after the 15th', 'I get paid after 5 on Friday', 'hello'])('when %j says nothing about contact, then no preference is read', (text) => {
    expect(detectContactPreference(text)).toBeNull();
  });

  it('when the debtor asked for texts only after 6pm, then a 10:00 text waits for 18:00 their time', () => {
    const preference = { earliestHour: 18, latestHour: null, notAtWork: false };
    const decision = decideSendTime(at('2026-12-02T16:00:00Z'), CHICAGO, null, DEFAULT_CONTACT_WINDOW, preference);
    expect(decision.notBefore).toEqual(at('2026-12-03T00:00:00Z')); // 18:00 CST
  });

  it('when the debtor is not to be texted at work, then a weekday noon text waits for 17:00; a Saturday noon one goes', () => {
    const preference = { earliestHour: null, latestHour: null, notAtWork: true };
    // 2026-12-02 is a Wednesday; 2026-12-05 a Saturday.
    expect(decideSendTime(at('2026-12-02T18:00:00Z'), CHICAGO, null, DEFAULT_CONTACT_WINDOW, preference).notBefore).toEqual(at('2026-12-02T23:00:00Z'));
    expect(decideSendTime(at('2026-12-05T18:00:00Z'), CHICAGO, null, DEFAULT_CONTACT_WINDOW, preference).allowed).toBe(true);
  });
});

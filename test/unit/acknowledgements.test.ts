import { describe, expect, it } from '@jest/globals';
import type { AcknowledgementKind } from '../../machines/conversation/conversation.machine.js';
import { acknowledgementText, REVEALS_ACCOUNT } from '../../src/policies/acknowledgements.js';
import { checkOutgoingText, DEFAULT_COMPLIANCE } from '../../src/policies/compliance.js';

const KINDS: AcknowledgementKind[] = ['dispute', 'plan_review', 'settled', 'identity_claimed', 'identity_rejected'];

describe('acknowledgements: the texts code sends where there was silence', () => {
  it.each(KINDS.flatMap((kind) => (['en', 'es'] as const).flatMap((language) => [true, false].map((firstText) => [kind, language, firstText] as const))))(
    'when the %s text is written in %s (first text: %s), then it passes every check (segments, closing, notice, banned words), with no amount',
    (kind, language, firstText) => {
      const text = acknowledgementText(kind, language, DEFAULT_COMPLIANCE, { firstText });
      expect(checkOutgoingText(text, { language, policy: DEFAULT_COMPLIANCE, firstText, ledgerCents: 0 })).toEqual([]);
      // No amount: checked with a ledger of zero, any figure would be a mismatch; and none is there at all.
      expect(text).not.toMatch(/\d/);
    },
  );

  it('when the texts that may go to any number are written, then they name no account, balance or payment (the closing every text carries aside)', () => {
    // Which kinds are withheld from a number not on record is tested on the effect (worker-tasks.test.ts).
    for (const kind of KINDS.filter((kind) => !REVEALS_ACCOUNT.has(kind))) {
      expect(acknowledgementText(kind, 'en', DEFAULT_COMPLIANCE, { firstText: false })).not.toMatch(/\b(account|balance|owed?|pay|payment)\b/i);
    }
  });

  it('when a dispute is acknowledged, then the text says collection is paused and asks for nothing', () => {
    const text = acknowledgementText('dispute', 'en', DEFAULT_COMPLIANCE, { firstText: false });
    expect(text).toMatch(/paused collection/);
    expect(text).not.toMatch(/\b(pay|payment|balance|owe)\b/i);
  });
});

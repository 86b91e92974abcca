import { sql } from 'kysely';
import type { ContactPreference } from '../policies/contact-preferences.js';
import { tenantOfConversation } from './conversations.repository.js';
import type { DbOrTrx } from './database.js';

/**
 * Debtors' statements about inconvenient times, per tenant and number (the tenant of the conversation they
 * were made in: docs/compliance.md, "Whose opt-out"): a later statement adds to what earlier ones state.
 */

export async function recordContactPreference(db: DbOrTrx, phone: string, conversationId: string, preference: ContactPreference) {
  await db
    .insertInto('contact_preferences')
    .values({
      tenant_id: tenantOfConversation(conversationId),
      phone,
      conversation_id: conversationId,
      earliest_hour: preference.earliestHour,
      latest_hour: preference.latestHour,
      not_at_work: preference.notAtWork,
    })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'phone']).doUpdateSet({
        conversation_id: conversationId,
        earliest_hour: sql`coalesce(excluded.earliest_hour, contact_preferences.earliest_hour)`,
        latest_hour: sql`coalesce(excluded.latest_hour, contact_preferences.latest_hour)`,
        not_at_work: sql`excluded.not_at_work or contact_preferences.not_at_work`,
        updated_at: sql`now()`,
      }),
    )
    .execute();
}

export async function findContactPreference(db: DbOrTrx, tenantId: string, phone: string): Promise<ContactPreference | null> {
  const row = await db.selectFrom('contact_preferences').selectAll().where('tenant_id', '=', tenantId).where('phone', '=', phone).executeTakeFirst();
  return row ? { earliestHour: row.earliest_hour, latestHour: row.latest_hour, notAtWork: row.not_at_work } : null;
}

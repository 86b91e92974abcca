import { sql, type Kysely } from 'kysely';

/**
 * A claim given back: the send-time gate reads its facts and claims the text's key in one statement
 * (src/adapters/send-gate.ts), before it has decided. A text the gate then holds back (quiet hours, a cap)
 * never left, so its row says `held`: counted by no cap, never reconciled, claimed again by the next attempt.
 * The service's role may not delete `outbound_messages` rows (docs/audit.md), hence a status. Frozen in time.
 *
 * `not valid`: every stored row passed the narrower check it replaces, so there is nothing to verify, and a
 * migration that runs when the service starts does not read the whole table under an exclusive lock to say so.
 * New and updated rows are checked as before.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table outbound_messages drop constraint outbound_messages_status_check,
    add constraint outbound_messages_status_check check (status in ('sending', 'accepted', 'held')) not valid`.execute(db);
}

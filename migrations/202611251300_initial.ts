import { sql, type Kysely } from 'kysely';

/** Frozen in time: never edit a migration that has shipped; add a new one. */

const TABLES = [
  'conversations',
  'inbox',
  'transitions',
  'messages',
  'drafts',
  'approval_decisions',
  'outbound_messages',
  'escalations',
  'opt_outs',
  'effect_log',
];

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('conversations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('snapshot', 'jsonb', (c) => c.notNull())
    // Tokens of the invokes and timers that are live in the current visit of their state.
    .addColumn('live_effects', 'jsonb', (c) => c.notNull().defaultTo(sql`'{"invokes":{},"timers":{}}'::jsonb`))
    .addColumn('machine_version', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    // Head of this conversation's audit hash chain (last transitions.seq and its hash).
    .addColumn('audit_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('audit_hash', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('conversations_state_idx').on('conversations').columns(['state', 'updated_at']).execute();

  await db.schema
    .createTable('inbox')
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text')
    .addColumn('result', 'jsonb')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('inbox_pk', ['conversation_id', 'idempotency_key'])
    .execute();

  await db.schema
    .createTable('transitions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('from_state', 'text')
    .addColumn('to_state', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('prev_hash', 'text')
    .addColumn('hash', 'text', (c) => c.notNull())
    .addUniqueConstraint('transitions_conversation_seq_uq', ['conversation_id', 'seq'])
    .execute();
  await sql`
    create function refuse_audit_change() returns trigger language plpgsql as $$
    begin
      raise exception '% is append-only (% refused)', tg_table_name, tg_op using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`create trigger transitions_append_only before update or delete on transitions
    for each row execute function refuse_audit_change()`.execute(db);
  await sql`create trigger transitions_no_truncate before truncate on transitions
    for each statement execute function refuse_audit_change()`.execute(db);

  await db.schema
    .createTable('messages')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction in ('inbound', 'outbound')`))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('messages_conversation_idx').on('messages').columns(['conversation_id', 'id']).execute();

  await db.schema
    .createTable('drafts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('drafter', 'text', (c) => c.notNull())
    .addColumn('model', 'text')
    .addColumn('prompt_version', 'text')
    .addColumn('confidence', 'double precision', (c) => c.notNull())
    .addColumn('intents', 'jsonb', (c) => c.notNull())
    .addColumn('plan', 'jsonb')
    .addColumn('reasons', 'jsonb')
    .addColumn('raw_text', 'text')
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('review_reason', 'text')
    .addColumn('usage', 'jsonb')
    .addColumn('latency_ms', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The approval queue: a draft that needs a manager carries a review status.
    .addColumn('review_status', 'text')
    .addColumn('reviewer', 'text')
    .addColumn('final_text', 'text')
    .addColumn('decision_reason', 'text')
    .addColumn('queued_at', 'timestamptz')
    .addColumn('decided_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('drafts_queue_idx').on('drafts').columns(['review_status', 'queued_at']).execute();
  await db.schema.createIndex('drafts_conversation_idx').on('drafts').columns(['conversation_id', 'created_at']).execute();

  // Append-only record of every decision on an approval-queue item, by a manager or by the system.
  await db.schema
    .createTable('approval_decisions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('approval_id', 'text', (c) => c.notNull())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('reviewer', 'text')
    .addColumn('original_text', 'text', (c) => c.notNull())
    .addColumn('final_text', 'text')
    .addColumn('reason', 'text')
    .addColumn('queued_at', 'timestamptz')
    .addColumn('decided_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('approval_decisions_approval_idx').on('approval_decisions').columns(['approval_id']).execute();
  await sql`create trigger approval_decisions_append_only before update or delete on approval_decisions
    for each row execute function refuse_audit_change()`.execute(db);

  await db.schema
    .createTable('outbound_messages')
    .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('sending', 'accepted')`))
    .addColumn('sms_agent_id', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('first_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('outbound_conversation_idx').on('outbound_messages').columns(['conversation_id']).execute();

  await db.schema
    .createTable('escalations')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('opened_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('closed_at', 'timestamptz')
    .addColumn('resolution', 'text')
    .execute();
  await sql`create index escalations_open_idx on escalations (conversation_id) where closed_at is null`.execute(db);

  // A number that opted out is out for every conversation and tenant, until it opts in again.
  await db.schema
    .createTable('opt_outs')
    .addColumn('phone', 'text', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('opted_out_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('effect_log')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('result', 'jsonb')
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Supabase exposes the public schema through its REST API as anon/authenticated: with RLS on and
  // no policy, those roles read nothing. The service connects as the owner, which RLS does not bind.
  // kysely's own bookkeeping tables live in public too.
  for (const table of [...TABLES, 'kysely_migration', 'kysely_migration_lock']) {
    await sql`alter table ${sql.table(table)} enable row level security`.execute(db);
  }
}

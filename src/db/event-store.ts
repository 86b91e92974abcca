import { sql, type Selectable } from 'kysely';
import { preparedName, type DbOrTrx, type Trx } from './database.js';
import { insertDraftsSql, type DraftRecord } from './drafts.repository.js';
import { holdNumberThenOptedOutSql, optOutKey } from './opt-outs.repository.js';
import type { ConversationsTable, LiveTokens, TransitionsTable } from './schema.js';

/**
 * The conversations' event store: every statement the runtime's write path makes (docs/architecture.md §2).
 * An event is read in one statement (the conversation and the key's earlier answer: readConversations) and
 * written in one statement (writeEvents), each together with whatever other events are read or written at
 * that moment.
 */

export type ConversationRow = Selectable<ConversationsTable>;

/** What the inbox holds for an idempotency key: the event it was used for and the answer given. */
export interface EarlierAnswer {
  eventType: string;
  /** Null only for a claim an older release left open in a transaction (it answers when that commits). */
  result: object | null;
}

/** Which conversation an event is for: by id, or the tenant's default conversation of a number (whatever its id). */
export type ConversationKey = { id: string; defaultOf?: { tenantId: string; phone: string } };

/** One read: which conversation (by id, or a tenant's default of a number) and the event's idempotency key. */
export interface ConversationRead {
  key: ConversationKey;
  idempotencyKey: string;
}

/** What a read found: the row (undefined when there is none) and the key's earlier answer on it. */
export interface ConversationFound {
  row: ConversationRow | undefined;
  earlier: EarlierAnswer | undefined;
}

/**
 * Conversations and their keys' earlier answers, any number in one statement (the group read batches the
 * reads of events arriving together, as the group commit batches their writes). A default conversation is
 * found by (tenant, number), or else by `key.id` (a conversation that already has the id a new one would get),
 * and the key looked up under the id found (`key.id` when none is). With `lock` (inside a transaction, one
 * read) the row is locked FOR UPDATE; the answer is then read from before the wait, and the write's own
 * condition catches a key taken meanwhile. Each row and answer is looked up by its key (a lateral lookup per
 * read), whatever the planner thinks of the tables' sizes.
 */
export async function readConversations(db: DbOrTrx, reads: readonly ConversationRead[], lock: boolean): Promise<ConversationFound[]> {
  const keys = reads.map((read, n) => ({
    n,
    id: read.key.id,
    tenant_id: read.key.defaultOf?.tenantId ?? null,
    phone: read.key.defaultOf?.phone ?? null,
    key: read.idempotencyKey,
  }));
  // The default first; else a row that already has the id a new one would get (another tenant's or number's is
  // refused by the caller, rather than inserted into again and again, or answered from its inbox).
  // No `limit` of the batch's size here, unlike writeEvents: the laterals look each row up by its key whatever
  // the batch's size, and a size parameter made every plan for its value look cheaper than the generic one, so a
  // prepared read was planned again on every run (~1 ms per event alone in bench:scale).
  const { rows } = await sql<ConversationRow & { n: number; earlier_event_type: string | null; earlier_result: object | null }>`${preparedName(lock ? 'read_conversations_locked' : 'read_conversations')}
    select k.n, c.*, i.event_type as earlier_event_type, i.result as earlier_result
      from json_to_recordset(${JSON.stringify(keys)}::json) as k(n int, id text, tenant_id text, phone text, key text)
      left join lateral (
        select * from conversations
         where (tenant_id = k.tenant_id and default_for_phone = k.phone) or id = k.id
         order by default_for_phone is not distinct from k.phone and tenant_id = k.tenant_id desc
         limit 1 ${lock ? sql`for update` : sql``}
      ) as c on true
      left join lateral (
        select event_type, result from inbox where conversation_id = coalesce(c.id, k.id) and idempotency_key = k.key
      ) as i on true`.execute(db);
  const found: ConversationFound[] = new Array(reads.length);
  for (const { n, earlier_event_type: eventType, earlier_result: result, ...row } of rows) {
    found[n] = {
      row: row.id === null ? undefined : (row as ConversationRow),
      earlier: eventType === null ? undefined : { eventType, result },
    };
  }
  return found;
}

/** The answer the inbox holds for a key (undefined when the key was not used). */
export async function readAnswer(db: DbOrTrx, conversationId: string, idempotencyKey: string): Promise<object | undefined> {
  const row = await db.selectFrom('inbox').select('result').where('conversation_id', '=', conversationId).where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
  return row?.result ?? undefined;
}

/** The live tokens of a conversation, read now (never from memory), or undefined when it does not exist. */
export async function readLiveTokens(db: DbOrTrx, conversationId: string): Promise<LiveTokens | undefined> {
  // Prepared, like the fence's read below: the worker asks it before each invoke job it takes.
  const { rows } = await sql<{ live_effects: LiveTokens }>`${preparedName('live_tokens')}
    select live_effects from conversations where id = ${conversationId}`.execute(db);
  return rows[0]?.live_effects;
}

/** A hash-chained audit row as written (src/runtime/audit-chain.ts): the table's row, its time as ISO text, always a summary. */
export type TransitionWrite = Omit<Selectable<TransitionsTable>, 'id' | 'at' | 'event_summary'> & { at: string; event_summary: Record<string, unknown> };

/** A graphile-worker job as `add_jobs` takes it (src/runtime/job-queue.ts builds them). */
export interface JobWrite {
  identifier: string;
  payload: unknown;
  delay_ms: number;
  max_attempts: number;
  job_key: string | null;
  priority: number;
}

/**
 * Everything one event writes. `change` says what happens to the conversation's row:
 * - `insert`: a new conversation (refused, and nothing written, if its id or its default (tenant, number) exists);
 * - `update`: the row moves from `expectedVersion`;
 * - `none`: the row stays; the event is recorded against `expectedVersion`.
 * Nothing is written unless the row is still at `expectedVersion` (insert: did not exist) and the key was not
 * used on it meanwhile; a row another transaction holds locked is skipped, not waited for (see writeEvents).
 */
export interface EventWrite {
  conversationId: string;
  change: 'insert' | 'update' | 'none';
  expectedVersion: number | null;
  /** The row as written (insert, update); JSON columns as JSON text. */
  row: {
    tenant_id: string;
    phone: string;
    default_for_phone: string | null;
    state: string;
    snapshot: string;
    live_effects: string;
    machine_version: string;
    version: number;
    audit_seq: number;
    audit_hash: string | null;
  } | null;
  inbox: { idempotencyKey: string; eventType: string; outcome: string; result: object };
  /** The debtor's words, kept in `messages`, for an inbound SMS. */
  inbound: string | null;
  transitions: readonly TransitionWrite[];
  jobs: readonly JobWrite[];
  removedJobKeys: readonly string[];
  /** Drafts the event refers to (a drafting result's), written only with it. */
  drafts: readonly DraftRecord[];
}

export interface WriteResult {
  written: boolean;
  /** Not written because another transaction holds the row (a hand-off in progress, a locking writer). */
  busy: boolean;
}

/** Our functions' schema (migration 202612049001_api_roles): `add_jobs` without its NOTIFY lives there. */
const ADD_JOBS_QUIETLY = sql.id('orchestrator', 'add_jobs_quietly');

/**
 * Writes a batch of events, each on another conversation, in one statement: group commit. Each event's
 * writes depend only on its own condition, so one event that lost a race writes nothing and the others go
 * through. Rows are locked in id order and a row some other transaction holds is skipped (`busy`), so a batch
 * never waits behind a hand-off that holds its conversation, and two batches never deadlock.
 *
 * A key taken by a transaction still open when this one checked (a retry racing its original on another
 * path) makes the inbox insert fail as a whole statement: isKeyTaken() says so, and nothing was written.
 */
export async function writeEvents(db: DbOrTrx, writes: readonly EventWrite[]): Promise<WriteResult[]> {
  const events = writes.map((write) => ({
    id: write.conversationId,
    change: write.change,
    expected_version: write.expectedVersion,
    ...(write.row ?? {}),
    key: write.inbox.idempotencyKey,
    event_type: write.inbox.eventType,
    outcome: write.inbox.outcome,
    result: write.inbox.result,
    inbound: write.inbound,
  }));
  const transitions = writes.flatMap((write) => write.transitions);
  const jobs = writes.flatMap((write) => write.jobs.map((job) => ({ conversation_id: write.conversationId, ...job })));
  const removed = writes.flatMap((write) => write.removedJobKeys.map((key) => ({ conversation_id: write.conversationId, key })));
  const drafts = writes.flatMap((write) => write.drafts);
  // One text for any batch (the events are JSON arrays), so it is prepared once per connection where it may be.
  // The planner takes any json_to_recordset for 100 rows, and for a batch that size reading a table of a few
  // thousand conversations or inbox rows whole looks cheaper than looking each row up; a batch is mostly one
  // event. `limit` (the batch's length, which changes nothing) tells it the size: exactly when the statement is
  // planned for its values, a tenth of 100 in a generic plan (the writer's sessions allow only lookups anyway:
  // WRITER_SESSIONS in database.ts).
  const { rows } = await sql<{ written: string[]; busy: string[] }>`${preparedName('write_events')}
    with ev as (
      select * from json_to_recordset(${eventsJson(events)}::json) as e(
        id text, change text, expected_version int, tenant_id text, phone text, default_for_phone text, state text,
        snapshot jsonb, live_effects jsonb, machine_version text, version int, audit_seq int, audit_hash text,
        key text, event_type text, outcome text, result jsonb, inbound text)
       limit ${events.length}
    ), locked as (
      select c.id from conversations c where c.id in (select id from ev where change <> 'insert')
       order by c.id for update skip locked
    ), fresh as (
      select ev.* from ev join conversations c on c.id = ev.id and c.version = ev.expected_version
       where ev.change <> 'insert' and c.id in (select id from locked)
         and not exists (select 1 from inbox i where i.conversation_id = ev.id and i.idempotency_key = ev.key)
    ), updated as (
      update conversations c set state = f.state, snapshot = f.snapshot, live_effects = f.live_effects, machine_version = f.machine_version,
             version = f.version, audit_seq = f.audit_seq, audit_hash = f.audit_hash, updated_at = now()
        from fresh f
       where f.change = 'update' and c.id = f.id and c.version = f.expected_version
      returning c.id
    ), inserted as (
      insert into conversations (id, tenant_id, phone, default_for_phone, state, snapshot, live_effects, machine_version, version, audit_seq, audit_hash)
      select id, tenant_id, phone, default_for_phone, state, snapshot, live_effects, machine_version, version, audit_seq, audit_hash
        from ev where change = 'insert'
      on conflict do nothing
      returning id
    ), written as (
      select id from updated union all select id from inserted union all select id from fresh where change = 'none'
    ), claimed as (
      insert into inbox (conversation_id, idempotency_key, event_type, outcome, result)
      select ev.id, ev.key, ev.event_type, ev.outcome, ev.result from ev where ev.id in (select id from written)
    ), inbound as (
      insert into messages (conversation_id, direction, body, event_id)
      select ev.id, 'inbound', ev.inbound, ev.key from ev where ev.inbound is not null and ev.id in (select id from written)
    ), drafted as (
      ${insertDraftsSql(drafts, sql`(select id from written)`)}
    ), audit as (
      insert into transitions (conversation_id, seq, from_state, to_state, event_type, event_id, actor, at, prev_hash, hash, event_summary, words_digest)
      select t.* from json_to_recordset(${JSON.stringify(transitions)}::json) as t(
        conversation_id text, seq int, from_state text, to_state text, event_type text, event_id text, actor text, at timestamptz,
        prev_hash text, hash text, event_summary jsonb, words_digest text)
       where t.conversation_id in (select id from written)
    ), jobs as (
      select ${ADD_JOBS_QUIETLY}(array(
        select row(j.identifier, j.payload, null, now() + j.delay_ms * interval '1 millisecond', j.max_attempts, j.job_key, j.priority, null)::graphile_worker.job_spec
          from json_to_recordset(${JSON.stringify(jobs)}::json)
            as j(conversation_id text, identifier text, payload json, delay_ms bigint, max_attempts int, job_key text, priority int)
         where j.conversation_id in (select id from written))) as job
       where ${jobs.length > 0} and exists (select 1 from written)
    ), removed as (
      select graphile_worker.remove_job(r.key) as job
        from json_to_recordset(${JSON.stringify(removed)}::json) as r(conversation_id text, key text)
       where r.conversation_id in (select id from written)
    )
    -- jobs and removed are plain SELECTs: PostgreSQL runs only what the statement reads.
    select array(select id from written) as written,
           array(select id from ev where change <> 'insert' and id not in (select id from locked)) as busy,
           (select count(*) from jobs)::int as jobs_added, (select count(*) from removed)::int as jobs_removed`.execute(db);
  const { written, busy } = rows[0]!;
  const writtenIds = new Set(written);
  const busyIds = new Set(busy);
  return writes.map((write) => ({ written: writtenIds.has(write.conversationId), busy: busyIds.has(write.conversationId) }));
}

/** The events as one JSON array; each snapshot and live set is already JSON text, spliced in rather than parsed and written again. */
function eventsJson(events: ReadonlyArray<Record<string, unknown>>): string {
  return `[${events
    .map(({ snapshot, live_effects, ...rest }) => {
      const head = JSON.stringify(rest);
      if (snapshot === undefined) return head;
      return `${head.slice(0, -1)},"snapshot":${snapshot as string},"live_effects":${live_effects as string}}`;
    })
    .join(',')}]`;
}

/** SQLSTATE unique_violation on the inbox's key: the event's key was taken by a transaction that committed after this one looked. */
export function isKeyTaken(error: unknown): boolean {
  const { code, constraint } = error as { code?: string; constraint?: string };
  return code === '23505' && constraint === 'inbox_pk';
}

/** What the hand-off fence holds besides the conversation's row. */
export interface FenceHolds {
  /**
   * The send's number: held against a new opt-out of it, then checked for one in the conversation's tenant
   * (holdNumberThenOptedOutSql), in the statement that locks the row.
   */
  optOutOf?: string;
}

/** What the fence's statement found besides the live tokens. */
export interface FenceHeld {
  /** An opt-out holds `holds.optOutOf` for the conversation's tenant (false when no number was held). */
  optedOut: boolean;
}

/** One hand-off the fence holds: its conversation's row, and what else (FenceHolds). */
export interface FenceRequest {
  conversationId: string;
  holds: FenceHolds;
}

/** What the fence found for one hand-off: the conversation's live tokens (none: no such row), and what it held. */
export interface FenceFound {
  live: LiveTokens | undefined;
  held: FenceHeld;
}

/**
 * The hand-off fence's statement, for the hand-offs of one transaction (src/runtime/group-fence.ts): their
 * conversations' rows FOR SHARE, then each send's number held and checked for an opt-out. One hand-off takes
 * the statement of its own below. Several take every row first, in the order of their ids, and only then any
 * number: each number's check reads the held rows' aggregate, so none can run before the last row is locked.
 * Taken row by row, a batch with two tenants' conversations of one number could hold that number while it
 * waits for the second row, which a STOP holds while it waits for the number (docs/architecture.md §4).
 */
export async function lockForHandOffs(trx: Trx, requests: readonly FenceRequest[]): Promise<FenceFound[]> {
  if (requests.length === 1) return [await lockLiveTokens(trx, requests[0]!.conversationId, requests[0]!.holds)];
  const ids = requests.map((request) => request.conversationId);
  const phones = requests.map((request) => (request.holds.optOutOf === undefined ? null : optOutKey(request.holds.optOutOf)));
  const { rows } = await sql<{ live: LiveTokens | null; opted_out: boolean }>`${preparedName('live_tokens_shared_batch')}
    with held as (
      select coalesce(jsonb_object_agg(c.id, jsonb_build_object('live', c.live_effects, 'tenant', c.tenant_id)), '{}') as rows
        from (select id, live_effects, tenant_id from conversations where id = any(${ids}::text[]) order by id for share) as c
    )
    select held.rows -> r.id -> 'live' as live,
           case when r.phone is null or (held.rows -> r.id) is null then false
                else ${holdNumberThenOptedOutSql(sql<string>`held.rows -> r.id ->> 'tenant'`, sql<string>`r.phone`)} end as opted_out
      from held, unnest(${ids}::text[], ${phones}::text[]) with ordinality as r(id, phone, ord)
     order by r.ord`.execute(trx);
  return rows.map((row) => ({ live: row.live ?? undefined, held: { optedOut: row.opted_out } }));
}

/**
 * The row FOR SHARE and its live tokens, then the number's lock and the opt-out check in the same statement:
 * the row is locked in the subquery, so the number is taken only once the row is held. That is the order in
 * which a STOP applied under the row's lock takes them (the row, then the number as it records the opt-out),
 * so the two never deadlock. No row, no number lock: nothing will be sent.
 */
async function lockLiveTokens(trx: Trx, conversationId: string, holds: FenceHolds): Promise<{ live: LiveTokens | undefined; held: FenceHeld }> {
  const number = holds.optOutOf;
  const { rows } = await sql<{ live_effects: LiveTokens; opted_out?: boolean }>`${preparedName(number === undefined ? 'live_tokens_shared' : 'live_tokens_shared_opt_out_checked')}
    select c.live_effects${number === undefined ? sql`` : sql`, ${holdNumberThenOptedOutSql(sql`c.tenant_id`, number)} as opted_out`}
      from (select live_effects, tenant_id from conversations where id = ${conversationId} for share) as c`.execute(trx);
  return { live: rows[0]?.live_effects, held: { optedOut: rows[0]?.opted_out ?? false } };
}

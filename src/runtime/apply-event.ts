import { sql, type RawBuilder } from 'kysely';
import { LRUCache } from 'lru-cache';
import { getInitialMicrosteps, getMicrosteps, type AnyEventObject } from 'xstate';
import type { ActionParams, ConversationMachine, NamedAction } from '../../machines/conversation/conversation.machine.js';
import type { ConversationContext, ConversationInput } from '../../machines/conversation/conversation.types.js';
import type { Db, DbOrTrx, Trx } from '../db/database.js';
import type { LiveEffects } from '../db/schema.js';
import { AppError, conflict, notFound } from '../errors.js';
import { normalisePhone } from '../text/phone.js';
import { digestWords, eventSummary, eventWords, transitionHash, type ChainedRow } from './audit-chain.js';
import { jobsWritten, timerJobKey, writeJobs, type JobSpec } from './job-queue.js';
import {
  activeInvokeIds,
  allowedEvents,
  fromStored,
  machineVersion,
  stateName,
  toStored,
  type ConversationSnapshot,
} from './machine-snapshot.js';

/**
 * The one write path of the product (docs/architecture.md §2). Every event, from any replica, is one transaction:
 * inbox dedupe → lock the conversation → XState's pure transition → snapshot + audit rows + durable
 * work → commit. Nothing outside the database happens here; workers run the work after commit.
 */

export interface EventEnvelope {
  conversationId: string;
  event: AnyEventObject;
  /** Same key, same answer: a retried request changes nothing. */
  idempotencyKey: string;
  /** Who caused it, for the audit trail: `service:<sub>`, `manager:<sub>`, `timer`, `worker`. */
  actor: string;
  /** When present, the event may create the conversation. */
  create?: ConversationInput;
  /**
   * With `create`: the event is for the tenant's default conversation of the number (the SMS Agent named
   * none). That conversation is found by (tenant, number), whatever its id; `conversationId` is only the id
   * a new one gets. So ids derived under another secret, or an older scheme, keep their threads.
   */
  defaultConversation?: boolean;
  /** Results of jobs carry the token of the scheduling that made them; only the live one applies. */
  origin?: { kind: 'invoke' | 'timer'; id: string; token: string };
  /** An event the machine does not take: refuse it (409, nothing written) or record it and move on. */
  ifNotAccepted: 'reject' | 'record';
}

export type Outcome = 'applied' | 'recorded' | 'stale';

export interface ApplyResult {
  conversationId: string;
  state: string;
  version: number;
  outcome: Outcome;
  transitions: number;
  duplicate: boolean;
}

export interface ActionContext {
  conversationId: string;
  version: number;
  /** `${conversationId}:${version}:${n}`: unique per action, stable across retries of its job. */
  key: string;
}

/** A named machine action that is a write to our own tables: it runs inside the event's transaction. */
export type Projection<P> = (trx: Trx, params: P, context: ActionContext) => Promise<void>;

/** Marks a named action that is a side effect outside the database: it is queued as an `effect` job. */
export const EFFECT = 'effect' as const;

/**
 * Where each named action of the machine goes, exhaustively: a missing or misspelled action fails the
 * type check (src/runtime/projections.ts holds the table).
 */
export type ActionRouting = { readonly [K in NamedAction]: Projection<ActionParams[K]> | typeof EFFECT };

export interface Runtime {
  apply(envelope: EventEnvelope): Promise<ApplyResult>;
  /** Is this invoke or timer still the live one of its conversation (read without a lock: a hint for workers)? */
  isLive(conversationId: string, origin: NonNullable<EventEnvelope['origin']>): Promise<boolean>;
  /**
   * Runs `work` in a transaction that holds the conversation's row (FOR SHARE) while this invoke or timer is
   * the live one: an event that would move the conversation (a STOP) waits until `work` is done, so it cannot
   * commit, and be acknowledged, in the middle. `work` is not run when the origin is no longer live.
   */
  whileLive<T>(conversationId: string, origin: NonNullable<EventEnvelope['origin']>, work: (trx: Trx) => Promise<T>): Promise<{ live: true; value: T } | { live: false }>;
  /** Does this process remember writing the conversation (then it exists)? A hint that saves readers a lookup. */
  remembers(conversationId: string): boolean;
  readonly machine: ConversationMachine;
}

export interface CommittedTransition {
  conversationId: string;
  from: string | null;
  to: string;
  event: AnyEventObject;
  /** The context before the event (null for the first step): what observers measure against, read from memory. */
  contextBefore: ConversationContext | null;
}

export function createRuntime(deps: {
  db: Db;
  machine: ConversationMachine;
  actions: ActionRouting;
  /** Called after commit, for observers (inspector, metrics). Never for rolled-back work. */
  onCommitted?: (transitions: CommittedTransition[]) => void;
  /**
   * How many conversations to remember as this process last wrote them (0: none). A remembered one skips the
   * optimistic path's read: the write checks the version anyway, so a stale copy (another process moved the
   * conversation) costs one statement that writes nothing, then the read. Worth it where this process writes
   * most of its conversations' events (API and worker together); see docs/architecture.md §2.
   */
  rememberConversations?: number;
  /** Called after commit with the number of jobs due now that an event wrote (job-queue.ts jobAnnouncer tells the workers). */
  onJobsWritten?: (due: number) => void;
}): Runtime {
  const { db, machine, actions } = deps;
  const version = machineVersion(machine);
  const recent = (deps.rememberConversations ?? 0) > 0 ? new RecentConversations(deps.rememberConversations!) : null;

  async function apply(envelope: EventEnvelope): Promise<ApplyResult> {
    try {
      return await applyOnce(envelope);
    } catch (error) {
      // Whatever failed, the next event reads the conversation rather than trust what this process remembers.
      recent?.forget(envelope.conversationId);
      throw error;
    }
  }

  async function applyOnce(envelope: EventEnvelope): Promise<ApplyResult> {
    for (let attempt = 0; attempt < OPTIMISTIC_TRIES; attempt += 1) {
      const committed: CommittedTransition[] = [];
      // Only the first try trusts memory: after a conflict, read what is there.
      const remembered = attempt === 0 ? rememberedFor(envelope) : undefined;
      const result = await applyOptimistically(envelope, committed, remembered);
      if (result === 'in_transaction') break;
      if (result === 'conflict') {
        recent?.forget(envelope.conversationId);
        continue;
      }
      if (committed.length > 0 && !result.duplicate) deps.onCommitted?.(committed);
      return result;
    }
    recent?.forget(envelope.conversationId);
    try {
      return await applyInTransaction(envelope);
    } catch (error) {
      // Another process created the default conversation under another id after this one looked: now it is found.
      if (error === DEFAULT_TAKEN) return applyInTransaction(envelope);
      throw error;
    }
  }

  /** What this process remembers of the envelope's conversation; for a default one, only while it is the default. */
  function rememberedFor(envelope: EventEnvelope): ConversationRow | undefined {
    const row = recent?.get(envelope.conversationId);
    return row && (!envelope.defaultConversation || row.default_for_phone === envelope.create?.phone) ? row : undefined;
  }

  /**
   * The common case in two statements and no transaction block: read the conversation (and the key's earlier
   * answer), step the machine, then write everything in one statement that claims the key and applies only
   * if the conversation is still at the version read (writeEvent's `claim`). A loser writes nothing and
   * reads again: another writer moved the version (the claim or the update finds it moved), or took the key
   * (the read finds its answer). With `remembered` (this process wrote the conversation last, as far as it
   * knows) the read is skipped. A new conversation is created the same way (createOptimistically). Anything
   * else (a projection, an event not taken, a stale result, a claim still in an open transaction) goes
   * through the locking transaction; those are rare.
   */
  async function applyOptimistically(
    envelope: EventEnvelope,
    committed: CommittedTransition[],
    remembered: ConversationRow | undefined,
  ): Promise<ApplyResult | 'conflict' | 'in_transaction'> {
    let row = remembered;
    if (!row) {
      const { conversationId: given, idempotencyKey: key } = envelope;
      // A default conversation is found by tenant and number (the same read), and the key's answer under its id
      // (computed once, so the inbox is read by its whole primary key).
      const byDefault = defaultOf(envelope);
      const { rows } = await sql<ConversationRow & { earlier_event_type: string | null; earlier_result: Omit<ApplyResult, 'duplicate'> | null }>`
        with c as (select * from conversations
                    where ${byDefault ? sql`tenant_id = ${byDefault.tenantId} and default_for_phone = ${byDefault.phone}` : sql`id = ${given}`})
        select c.*, i.event_type as earlier_event_type, i.result as earlier_result
          from (select 1) as one
          left join c on true
          left join inbox i on i.conversation_id = ${byDefault ? sql`coalesce((select id from c), ${given})` : given} and i.idempotency_key = ${key}`.execute(db);
      const { earlier_event_type: earlierType, earlier_result: earlierResult, ...found } = rows[0]!;
      if (found.id !== null && found.id !== given) envelope = atConversation(envelope, found.id);
      // Before any answer, even a duplicate's: another tenant's key on this id must not read this one's answer.
      if (found.id !== null) assertSameDebtor(envelope, found as ConversationRow);
      if (earlierType !== null) {
        // A claim of a transaction still open has no answer yet: that path waits for it.
        if (earlierResult === null) return 'in_transaction';
        return answerOfEarlier(envelope, earlierType, earlierResult);
      }
      if (found.id === null) return envelope.create ? createOptimistically(envelope, committed) : 'in_transaction';
      row = found as ConversationRow;
    } else {
      assertSameDebtor(envelope, row);
    }
    const { conversationId: id, idempotencyKey: key } = envelope;
    // Memory may be behind another process: what it refuses, the stored row decides (read, then try again).
    const refused = remembered ? 'conflict' : 'in_transaction';
    if (envelope.origin && !isLive(row.live_effects, envelope.origin)) return refused;
    const live: LiveEffects = structuredClone(row.live_effects);
    if (envelope.origin?.kind === 'timer') delete live.timers[envelope.origin.id];
    const { snapshot, accepted } = restore(row, envelope.event);
    if (!accepted) return refused;

    const stepped = await stepWithoutTransaction(envelope, row, snapshot, live, committed);
    if (stepped === 'in_transaction') return stepped;
    const answer = inboxAnswer(stepped.applied);
    const target = saveConversation(stepped, sql`version = ${row.version} and exists (select 1 from claimed)`);
    return writeOptimistically(envelope, stepped, stepped.audit.rows, {
      // Claimed only while the conversation is at the version stepped from: a stale copy writes nothing.
      claim: sql`insert into inbox (conversation_id, idempotency_key, event_type, outcome, result)
                   select ${id}, ${key}, ${envelope.event.type}, ${answer.outcome}, ${answer.result}::jsonb
                   where exists (select 1 from conversations where id = ${id} and version = ${row.version})
                   on conflict do nothing returning idempotency_key`,
      target,
    });
  }

  /**
   * A new conversation in one statement: the initial state's steps and the event's, stepped in memory, then
   * the key claimed and the row inserted already at version 1 with both steps' audit rows and work. If
   * another event created it first, the insert does nothing and the statement undoes itself (claim_check):
   * the next try finds the row.
   */
  async function createOptimistically(envelope: EventEnvelope, committed: CommittedTransition[]): Promise<ApplyResult | 'conflict' | 'in_transaction'> {
    const { conversationId: id, idempotencyKey: key } = envelope;
    const input = envelope.create!;
    const live: LiveEffects = { invokes: {}, timers: {} };
    const writer = new WorkWriter(null, id, 0, live, actions);
    const initAudit = new AuditWriter({ ...envelope, event: { type: 'xstate.init' } }, 0, null);
    const initialSteps: CommittedTransition[] = [];
    let initial: ConversationSnapshot;
    try {
      initial = await recordSteps(getInitialMicrosteps(machine, input), null, initAudit, writer, (from, to) =>
        initialSteps.push({ conversationId: id, from, to, event: { type: 'xstate.init' }, contextBefore: null }),
      );
    } catch (error) {
      if (error === NEEDS_TRANSACTION) return 'in_transaction';
      throw error;
    }
    const defaultForPhone = envelope.defaultConversation ? input.phone : null;
    const row = {
      id,
      tenant_id: input.tenantId,
      phone: input.phone,
      default_for_phone: defaultForPhone,
      state: stateName(initial),
      snapshot: toStored(initial),
      live_effects: live,
      version: 0,
      audit_seq: initAudit.seq,
      audit_hash: initAudit.hash,
    } as ConversationRow;
    const { snapshot, accepted } = restore(row, envelope.event);
    if (!accepted) return 'in_transaction';
    const eventSteps: CommittedTransition[] = [];
    // The event's work continues the initial state's writer: a timer the event cancels is never queued.
    const stepped = await stepWithoutTransaction(envelope, row, snapshot, live, eventSteps, writer.atVersion(1));
    if (stepped === 'in_transaction') return stepped;
    const answer = inboxAnswer(stepped.applied);
    const { applied, stored } = stepped;
    const result = await writeOptimistically(envelope, stepped, [...initAudit.rows, ...stepped.audit.rows], {
      claim: sql`insert into inbox (conversation_id, idempotency_key, event_type, outcome, result)
                   values (${id}, ${key}, ${envelope.event.type}, ${answer.outcome}, ${answer.result}::jsonb)
                   on conflict do nothing returning idempotency_key`,
      // Either unique key taken (the id, or the tenant's default conversation of the number): another event won.
      target: sql`insert into conversations (id, tenant_id, phone, default_for_phone, state, snapshot, live_effects, machine_version, version, audit_seq, audit_hash)
                  select ${id}, ${input.tenantId}, ${input.phone}, ${defaultForPhone}, ${applied.state}, ${stored.snapshot}::jsonb,
                         ${stored.live}::jsonb, ${version}, ${applied.version}, ${stepped.audit.seq}, ${stepped.audit.hash}
                   where exists (select 1 from claimed)
                  on conflict do nothing
                  returning id`,
    });
    if (typeof result === 'object') committed.push(...initialSteps, ...eventSteps);
    return result;
  }

  /** step() with no transaction at hand: a projection sends the event to the locking path instead. */
  async function stepWithoutTransaction(
    envelope: EventEnvelope,
    row: ConversationRow,
    snapshot: ConversationSnapshot,
    live: LiveEffects,
    committed: CommittedTransition[],
    writer?: WorkWriter,
  ): Promise<Stepped | 'in_transaction'> {
    try {
      return await step(envelope, row, snapshot, live, null, committed, writer);
    } catch (error) {
      if (error === NEEDS_TRANSACTION) return 'in_transaction';
      throw error;
    }
  }

  /** The optimistic write (writeEvent with a claim); remembers the conversation as written, or says it lost. */
  async function writeOptimistically(
    envelope: EventEnvelope,
    stepped: Stepped,
    auditRows: AuditWriter['rows'],
    statement: { claim: RawBuilder<unknown>; target: RawBuilder<unknown> },
  ): Promise<ApplyResult | 'conflict'> {
    const inboundText = inboundTextOf(envelope.event);
    try {
      const written = await writeEvent(db, auditRows, stepped.writer, {
        ...statement,
        inbound:
          inboundText === null
            ? undefined
            : sql`insert into messages (conversation_id, direction, body, event_id)
                    select ${envelope.conversationId}, 'inbound', ${inboundText}::text, ${envelope.idempotencyKey} where exists (select 1 from target)`,
      });
      // The key was taken, or the conversation moved on (nothing written): the read that follows says which.
      if (written.id === null) return 'conflict';
    } catch (error) {
      // The conversation moved on between the claim and the write (see claim_check): read again.
      if ((error as { code?: string }).code === DIVISION_BY_ZERO) return 'conflict';
      throw error;
    }
    deps.onJobsWritten?.(stepped.writer.dueCount());
    const { row, applied, audit, stored } = stepped;
    recent?.remember({ ...row, state: applied.state, version: applied.version, audit_seq: audit.seq, audit_hash: audit.hash, machine_version: version }, stored);
    return applied;
  }

  /** The stored snapshot, restored, and whether the machine takes the event in it. */
  function restore(row: ConversationRow, event: AnyEventObject) {
    const snapshot = fromStored(machine, row.snapshot);
    // getMicrosteps returns a step even when nothing is enabled; `can` tells whether the machine takes it.
    return { snapshot, accepted: row.snapshot.status !== 'done' && snapshot.can(event as never) };
  }

  /**
   * XState's pure step of an accepted event, recorded: an audit row per microstep, its actions as work (jobs
   * gathered; projections run on `trx`, or throw NEEDS_TRANSACTION without one), invokes left behind dropped.
   */
  async function step(
    envelope: EventEnvelope,
    row: ConversationRow,
    snapshot: ConversationSnapshot,
    live: LiveEffects,
    trx: Trx | null,
    committed: CommittedTransition[],
    writer = new WorkWriter(trx, envelope.conversationId, row.version + 1, live, actions),
  ) {
    const steps = getMicrosteps(machine, snapshot, envelope.event as never);
    const nextVersion = row.version + 1;
    const audit = new AuditWriter(envelope, row.audit_seq, row.audit_hash, row.snapshot.context);
    const final = await recordSteps(steps, row.state, audit, writer, (from, to) =>
      committed.push({ conversationId: row.id, from, to, event: envelope.event, contextBefore: row.snapshot.context }),
    );
    writer.dropStoppedInvokes(final);
    // As written: the conversation's update and this process's memory of it use the same text.
    const stored = { snapshot: JSON.stringify(toStored(final)), live: JSON.stringify(live) };
    const applied: ApplyResult = {
      conversationId: row.id,
      state: stateName(final),
      version: nextVersion,
      outcome: 'applied',
      transitions: steps.length,
      duplicate: false,
    };
    return { row, final, stored, audit, writer, applied };
  }
  type Stepped = Awaited<ReturnType<typeof step>>;

  /** The conversation's new state, version, live effects and chain head (`and` narrows it: the optimistic check). */
  function saveConversation({ row, stored, audit, applied }: Stepped, and: RawBuilder<unknown> = sql`true`) {
    return sql`update conversations set state = ${applied.state}, snapshot = ${stored.snapshot}::jsonb,
                 live_effects = ${stored.live}::jsonb, machine_version = ${version}, version = ${applied.version},
                 audit_seq = ${audit.seq}, audit_hash = ${audit.hash}, updated_at = now()
               where id = ${row.id} and ${and} returning id`;
  }

  async function applyInTransaction(envelope: EventEnvelope): Promise<ApplyResult> {
    const committed: CommittedTransition[] = [];
    const writers: WorkWriter[] = [];
    const byDefault = defaultOf(envelope);
    if (byDefault) {
      // Rare here (the optimistic path found it in its read): the default conversation's id, before its key is claimed.
      const found = await db.selectFrom('conversations').select('id').where('tenant_id', '=', byDefault.tenantId).where('default_for_phone', '=', byDefault.phone).executeTakeFirst();
      if (found) envelope = atConversation(envelope, found.id);
    }
    const result = await db.transaction().execute(async (trx) => {
      const opened = await claimAndLock(trx, envelope);
      if (!opened.claimed) return earlierAnswer(trx, envelope);

      let row = opened.row;
      if (row) assertSameDebtor(envelope, row);
      else {
        if (!envelope.create) throw notFound(`conversation ${envelope.conversationId}`);
        // The insert holds the new row's lock until commit; when another event created it first, wait for its lock.
        row = await createConversation(trx, envelope, committed, writers);
        if (!row) {
          // Created first by another event: under this id, or as the default conversation under another id.
          row = await lockConversation(trx, envelope.conversationId);
          if (!row) throw DEFAULT_TAKEN;
          assertSameDebtor(envelope, row);
        }
      }

      const live: LiveEffects = structuredClone(row.live_effects);
      // Every write to the row raises its version, even one that moves no state: other processes' memory of
      // the conversation is checked by version alone (RecentConversations).
      const done = (outcome: Outcome, version = row.version) =>
        finish(trx, envelope, { conversationId: row.id, state: row.state, version, outcome, transitions: 0, duplicate: false });

      if (envelope.origin && !isLive(live, envelope.origin)) {
        // A text that left before the conversation moved on (a STOP that committed after the hand-off) did go
        // out: it is recorded in the audit trail, with the digest of its words, though the state does not move.
        if (isSentText(envelope.event)) {
          const audit = new AuditWriter(envelope, row.audit_seq, row.audit_hash, row.snapshot.context);
          audit.append(row.state, row.state);
          await writeEvent(trx, audit.rows, null, {
            target: sql`update conversations set audit_seq = ${audit.seq}, audit_hash = ${audit.hash}, version = version + 1 where id = ${row.id} returning id`,
          });
          return done('stale', row.version + 1);
        }
        return done('stale');
      }
      if (envelope.origin?.kind === 'timer') delete live.timers[envelope.origin.id];

      const { snapshot, accepted } = restore(row, envelope.event);
      if (!accepted) {
        if (envelope.ifNotAccepted === 'record') {
          if (envelope.origin?.kind === 'timer') {
            await saveLiveEffects(trx, row.id, live);
            return done('recorded', row.version + 1);
          }
          return done('recorded');
        }
        throw conflict('event_not_allowed', `${envelope.event.type} is not allowed in state ${row.state}`, {
          state: row.state,
          allowed_events: allowedEvents(snapshot),
        });
      }

      const stepped = await step(envelope, row, snapshot, live, trx, committed);
      const { audit, writer, applied } = stepped;
      writers.push(writer);
      const answer = inboxAnswer(applied);
      await writeEvent(trx, audit.rows, writer, {
        target: saveConversation(stepped),
        also: sql`update inbox set outcome = ${answer.outcome}, result = ${answer.result}::jsonb
                    where conversation_id = ${envelope.conversationId} and idempotency_key = ${envelope.idempotencyKey}`,
      });
      return applied;
    });
    deps.onJobsWritten?.(writers.reduce((due, writer) => due + writer.dueCount(), 0));
    if (committed.length > 0 && !result.duplicate) deps.onCommitted?.(committed);
    return result;
  }

  /**
   * Inserts the conversation already in its initial state, with the initial steps' audit rows and work, in
   * one statement. Returns the new row, or undefined when another event created it first (its rows won;
   * ours are not written: every part of the statement is conditional on the insert).
   */
  async function createConversation(trx: Trx, envelope: EventEnvelope, committed: CommittedTransition[], writers: WorkWriter[]): Promise<ConversationRow | undefined> {
    const input = envelope.create!;
    const steps = getInitialMicrosteps(machine, input);
    const live: LiveEffects = { invokes: {}, timers: {} };
    const writer = new WorkWriter(trx, envelope.conversationId, 0, live, actions);
    const audit = new AuditWriter({ ...envelope, event: { type: 'xstate.init' } }, 0, null);
    const initialSteps: CommittedTransition[] = [];
    const initial = await recordSteps(steps, null, audit, writer, (from, to) =>
      initialSteps.push({ conversationId: envelope.conversationId, from, to, event: { type: 'xstate.init' }, contextBefore: null }),
    );
    writer.assertNoProjections('the initial state');
    const written = await writeEvent(trx, audit.rows, writer, {
      target: sql`insert into conversations (id, tenant_id, phone, default_for_phone, state, snapshot, live_effects, machine_version, version, audit_seq, audit_hash)
                  values (${envelope.conversationId}, ${input.tenantId}, ${input.phone}, ${envelope.defaultConversation ? input.phone : null},
                          ${stateName(initial)}, ${JSON.stringify(toStored(initial))}::jsonb,
                          ${JSON.stringify(live)}::jsonb, ${version}, 0, ${audit.seq}, ${audit.hash})
                  on conflict do nothing
                  returning *`,
    });
    if (written.id === null) return undefined;
    writers.push(writer);
    committed.push(...initialSteps);
    const { jobs_added: _added, jobs_removed: _removed, ...created } = written;
    return created as unknown as ConversationRow;
  }

  async function isLiveNow(conversationId: string, origin: NonNullable<EventEnvelope['origin']>) {
    // Always read, never memory: another process may have closed the conversation since (a send must not go out then).
    const row = await db.selectFrom('conversations').select('live_effects').where('id', '=', conversationId).executeTakeFirst();
    return row !== undefined && isLive(row.live_effects as unknown as LiveEffects, origin);
  }

  const whileLive: Runtime['whileLive'] = (conversationId, origin, work) =>
    db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('conversations').select('live_effects').where('id', '=', conversationId).forShare().executeTakeFirst();
      if (!row || !isLive(row.live_effects as unknown as LiveEffects, origin)) return { live: false as const };
      return { live: true as const, value: await work(trx) };
    });

  return { apply, isLive: isLiveNow, whileLive, remembers: (id) => recent?.has(id) ?? false, machine };
}

/** Each microstep is one transition: an audit row, then its actions as work. Returns the last snapshot. */
async function recordSteps(
  steps: ReturnType<typeof getMicrosteps<ConversationMachine>>,
  from: string | null,
  audit: AuditWriter,
  writer: WorkWriter,
  onStep: (from: string | null, to: string) => void,
): Promise<ConversationSnapshot> {
  for (const [next, stepActions] of steps) {
    const to = stateName(next);
    audit.append(from, to);
    await writer.run(stepActions);
    onStep(from, to);
    from = to;
  }
  return steps.at(-1)![0];
}

/** A sender's result that says the SMS Agent accepted a text. */
function isSentText(event: AnyEventObject): boolean {
  const output = (event as { output?: unknown }).output;
  return event.type === 'xstate.done.actor.sender' && typeof output === 'object' && output !== null && 'smsId' in output;
}

function isLive(live: LiveEffects, origin: NonNullable<EventEnvelope['origin']>) {
  const tokens = origin.kind === 'invoke' ? live.invokes : live.timers;
  return tokens[origin.id] === origin.token;
}

async function lockConversation(trx: Trx, id: string) {
  return trx.selectFrom('conversations').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

type ConversationRow = NonNullable<Awaited<ReturnType<typeof lockConversation>>>;

/**
 * One round trip for what used to be three: claim the idempotency key in the inbox (on conflict do
 * nothing), record an inbound SMS, and lock the conversation FOR UPDATE, in that order and only when the
 * key was claimed (a duplicate locks nothing and writes nothing, as before). The lock's condition reads
 * `claimed`, so the claim is done before any row is locked: two requests with the same key still queue on
 * the key first, never one on the key and the other on the row. `row` is undefined when the conversation
 * does not exist (yet).
 */
async function claimAndLock(trx: Trx, envelope: EventEnvelope): Promise<{ claimed: boolean; row: ConversationRow | undefined }> {
  const { conversationId: id, idempotencyKey: key } = envelope;
  const inboundText = inboundTextOf(envelope.event);
  const { rows } = await sql<{ claimed: boolean } & (ConversationRow | { [K in keyof ConversationRow]: null })>`
    with claimed as (
      insert into inbox (conversation_id, idempotency_key, event_type) values (${id}, ${key}, ${envelope.event.type})
      on conflict do nothing
      returning idempotency_key
    ), inbound as (
      insert into messages (conversation_id, direction, body, event_id)
      select ${id}, 'inbound', ${inboundText}::text, ${key} from claimed where ${inboundText}::text is not null
    ), locked as (
      select * from conversations where id = ${id} and exists (select 1 from claimed) for update
    )
    select exists (select 1 from claimed) as claimed, locked.* from (select 1) as one left join locked on true`.execute(trx);
  const { claimed, ...row } = rows[0]!;
  return { claimed, row: row.id === null ? undefined : (row as ConversationRow) };
}

async function saveLiveEffects(trx: Trx, id: string, live: LiveEffects) {
  await trx
    .updateTable('conversations')
    .set((eb) => ({ live_effects: JSON.stringify(live), version: eb('version', '+', 1) }))
    .where('id', '=', id)
    .execute();
}

async function finish(trx: Trx, envelope: EventEnvelope, result: ApplyResult): Promise<ApplyResult> {
  await trx
    .updateTable('inbox')
    .set(inboxAnswer(result))
    .where('conversation_id', '=', envelope.conversationId)
    .where('idempotency_key', '=', envelope.idempotencyKey)
    .execute();
  return result;
}

/** The inbox's answer to the event: what a retry with the same key gets back. */
function inboxAnswer(result: ApplyResult) {
  const { duplicate: _duplicate, ...stored } = result;
  return { outcome: result.outcome, result: JSON.stringify(stored) };
}

async function earlierAnswer(trx: Trx, envelope: EventEnvelope): Promise<ApplyResult> {
  const earlier = await trx
    .selectFrom('inbox')
    .leftJoin('conversations', 'conversations.id', 'inbox.conversation_id')
    .select(['inbox.result', 'inbox.event_type', 'conversations.tenant_id', 'conversations.phone'])
    .where('inbox.conversation_id', '=', envelope.conversationId)
    .where('inbox.idempotency_key', '=', envelope.idempotencyKey)
    .executeTakeFirstOrThrow();
  if (earlier.tenant_id !== null && earlier.phone !== null) assertSameDebtor(envelope, { tenant_id: earlier.tenant_id, phone: earlier.phone });
  return answerOfEarlier(envelope, earlier.event_type, earlier.result as Omit<ApplyResult, 'duplicate'>);
}

/**
 * A conversation belongs to one tenant and number. An event that may create one names them (`create`): an
 * existing conversation takes it only if they are its own, else 409 `conversation_mismatch` and nothing is
 * written. Checked on the row the write depends on (the version the optimistic write is conditioned on, or
 * the row locked), so no race between a check and the write can cross it: a conversation's tenant and number
 * never change (a trigger refuses it). Rows stored before numbers were normalised hold the number as typed.
 */
function assertSameDebtor(envelope: EventEnvelope, row: Pick<ConversationRow, 'tenant_id' | 'phone'>) {
  const input = envelope.create;
  if (!input || (row.tenant_id === input.tenantId && (normalisePhone(row.phone) ?? row.phone) === input.phone)) return;
  // Neither the other tenant nor the other number is named: the caller may not know them.
  throw conflict('conversation_mismatch', `conversation ${envelope.conversationId} belongs to another tenant or phone number`);
}

/** Same key, same answer; the same key for another kind of event is refused. */
function answerOfEarlier(envelope: EventEnvelope, earlierType: string, earlier: Omit<ApplyResult, 'duplicate'>): ApplyResult {
  if (earlierType !== envelope.event.type) {
    throw conflict('idempotency_key_reused', 'this idempotency key was used for another event', { earlier_event_type: earlierType });
  }
  return { ...earlier, duplicate: true };
}

/** The text an inbound SMS event carries (kept in `messages`), or null for any other event. */
function inboundTextOf(event: AnyEventObject): string | null {
  return event.type === 'sms.received' ? String((event as { text?: unknown }).text ?? '') : null;
}

/**
 * Conversations as this process last wrote them, at most `max`, least recently used dropped first. Kept as
 * the JSON that was written, so no caller's object can change what the next event starts from.
 */
class RecentConversations {
  private readonly rows: LRUCache<string, { row: Omit<ConversationRow, 'snapshot' | 'live_effects'>; snapshot: string; live: string }>;

  constructor(max: number) {
    this.rows = new LRUCache({ max });
  }

  get(id: string): ConversationRow | undefined {
    const entry = this.rows.get(id);
    if (!entry) return undefined;
    return { ...entry.row, snapshot: JSON.parse(entry.snapshot), live_effects: JSON.parse(entry.live) } as ConversationRow;
  }

  remember(row: ConversationRow, stored: { snapshot: string; live: string }) {
    const { snapshot: _snapshot, live_effects: _live, ...rest } = row;
    this.rows.set(row.id, { row: rest, ...stored });
  }

  has(id: string) {
    return this.rows.has(id);
  }

  forget(id: string) {
    this.rows.delete(id);
  }
}

/** The tenant and number whose default conversation the event is for, or null when it names its conversation. */
function defaultOf(envelope: EventEnvelope): ConversationInput | null {
  return envelope.defaultConversation && envelope.create ? envelope.create : null;
}

/** The envelope, for the default conversation found under `conversationId`: that id wherever the id is used. */
function atConversation(envelope: EventEnvelope, conversationId: string): EventEnvelope {
  return { ...envelope, conversationId, create: envelope.create && { ...envelope.create, conversationId } };
}

/** Tries of the optimistic path before an event takes the locking transaction (which always goes through). */
const OPTIMISTIC_TRIES = 3;
/** Thrown (and the transaction rolled back) when the default conversation was created under another id meanwhile. */
const DEFAULT_TAKEN = Symbol('the default conversation was created under another id');
/** Thrown by a WorkWriter without a transaction when the event writes a projection. */
const NEEDS_TRANSACTION = Symbol('needs a transaction');
/** SQLSTATE of `claim_check` (writeEvent): the conversation moved on after the key was claimed; nothing was written. */
const DIVISION_BY_ZERO = '22012';

/**
 * Appends audit rows, each chained to the previous one of its conversation by a sha-256 hash that also
 * covers a redacted summary of the event and the digest of its words (src/runtime/audit-chain.ts).
 * `before` is the context the event met (a manager's approval sends the draft's text).
 */
class AuditWriter {
  private readonly summary: Record<string, unknown>;
  private readonly wordsDigest: string | null;
  /** Rows appended and not yet written (writeEvent writes them all in one statement). */
  readonly rows: Array<TransitionRow & { hash: string }> = [];

  constructor(
    private readonly envelope: Pick<EventEnvelope, 'conversationId' | 'event' | 'idempotencyKey' | 'actor'>,
    public seq: number,
    public hash: string | null,
    before: ConversationContext | null = null,
  ) {
    this.summary = eventSummary(envelope.event);
    this.wordsDigest = digestWords(eventWords(envelope.event, before));
  }

  append(from: string | null, to: string) {
    const row: TransitionRow = {
      conversation_id: this.envelope.conversationId,
      seq: this.seq + 1,
      from_state: from,
      to_state: to,
      event_type: this.envelope.event.type,
      event_id: this.envelope.idempotencyKey,
      actor: this.envelope.actor,
      at: new Date().toISOString(),
      prev_hash: this.hash,
      event_summary: this.summary,
      words_digest: this.wordsDigest,
    };
    const hash = transitionHash(row);
    this.rows.push({ ...row, hash });
    this.seq = row.seq;
    this.hash = hash;
  }
}

/** A transition row as the chain hashes it; this writer always has a summary. */
type TransitionRow = ChainedRow & { event_summary: Record<string, unknown> };

/**
 * Writes what an event produced in one statement: `target` (the conversation's insert or update, `returning
 * id`), then, only if it wrote a row, the audit rows, the jobs and `inbound` (the debtor's message); `also`
 * (the inbox's answer) in any case. Each data-modifying CTE runs once, to completion, on one snapshot; one
 * round trip instead of one per row (docs/benchmarks.md: socket writes are the largest cost per event here).
 *
 * With `claim` (the optimistic path), the key is claimed first (`target` reads it, so the claim runs, and
 * takes the key's lock, before the conversation's row lock: the order of the locking transaction, so the
 * two never deadlock). A claim whose target then wrote nothing (another writer moved the version) undoes
 * the statement as a whole: `claim_check` divides by zero, computed from the rows (a constant would be
 * folded, and raised, when the statement is planned).
 */
async function writeEvent(
  db: DbOrTrx,
  auditRows: AuditWriter['rows'],
  writer: WorkWriter | null,
  statement: { target: RawBuilder<unknown>; claim?: RawBuilder<unknown>; inbound?: RawBuilder<unknown>; also?: RawBuilder<unknown> },
) {
  const written = sql`exists (select 1 from target)`;
  const parts: RawBuilder<unknown>[] = [];
  if (statement.claim) parts.push(sql`claimed as (${statement.claim})`);
  parts.push(sql`target as (${statement.target})`);
  if (auditRows.length > 0) {
    const values = auditRows.map(
      (row) => sql`(${row.conversation_id}, ${row.seq}::int, ${row.from_state}::text, ${row.to_state}, ${row.event_type}, ${row.event_id}, ${row.actor},
        ${row.at}::timestamptz, ${row.prev_hash}::text, ${row.hash}, ${JSON.stringify(row.event_summary)}::jsonb, ${row.words_digest}::text)`,
    );
    parts.push(sql`audit as (
      insert into transitions (conversation_id, seq, from_state, to_state, event_type, event_id, actor, at, prev_hash, hash, event_summary, words_digest)
      select v.* from (values ${sql.join(values)}) as v where ${written})`);
  }
  parts.push(...writeJobs(writer?.jobs() ?? [], writer?.removedJobKeys() ?? [], written));
  if (statement.inbound) parts.push(sql`inbound as (${statement.inbound})`);
  if (statement.also) parts.push(sql`also as (${statement.also})`);
  const claimCheck = statement.claim
    ? sql`, case when exists (select 1 from claimed) then 1 / (select count(*)::int from target) end as claim_check`
    : sql``;
  // `one left join`: a row even when the target wrote none (a lost race), with its columns null.
  const { rows } = await sql<Record<string, unknown>>`with ${sql.join(parts)} select ${jobsWritten}${claimCheck}, target.* from (select 1) as one left join target on true`.execute(db);
  return rows[0]!;
}

/** The chain's hash function lives in audit-chain.ts; re-exported for callers that imported it from here. */
export { auditHash } from './audit-chain.js';

type ExecutableAction = { type: string; params?: unknown };

/**
 * Turns the actions XState returned into durable work: projections (writes to our tables) run in the
 * transaction as they come; jobs are gathered and written with the event (writeEvent). A timer cancelled
 * and scheduled again in one event is one job (the new one replaces the queued one by key); one scheduled
 * and cancelled in the same event is none.
 */
class WorkWriter {
  private n = 0;
  private readonly spawned = new Set<string>();
  private readonly unkeyed: JobSpec[] = [];
  private readonly keyed = new Map<string, JobSpec | 'removed'>();
  private projections = 0;

  constructor(
    /** Null on the optimistic path: a projection then throws NEEDS_TRANSACTION. */
    private readonly trx: Trx | null,
    private readonly conversationId: string,
    private version: number,
    private readonly live: LiveEffects,
    private readonly actions: ActionRouting,
  ) {}

  /** The same work, continued by the next version's step (a new conversation's event after its initial state). */
  atVersion(version: number): WorkWriter {
    this.version = version;
    this.n = 0;
    return this;
  }

  private nextKey() {
    this.n += 1;
    return `${this.conversationId}:${this.version}:${this.n}`;
  }

  jobs(): JobSpec[] {
    return [...this.unkeyed, ...[...this.keyed.values()].filter((job): job is JobSpec => job !== 'removed')];
  }

  /** Jobs to run now (timers wait for their time; the poll finds them). */
  dueCount(): number {
    return this.jobs().filter((job) => !job.delayMs).length;
  }

  removedJobKeys(): string[] {
    return [...this.keyed].filter(([, job]) => job === 'removed').map(([key]) => key);
  }

  /** The initial state's work is written only if the conversation's insert wins: a projection would run before that is known. */
  assertNoProjections(where: string) {
    if (this.projections > 0) throw new AppError('unsupported_machine', `${where} writes to projections; the runtime cannot create such a conversation`);
  }

  async run(stepActions: readonly ExecutableAction[]) {
    for (const action of stepActions) await this.one(action);
  }

  private async one(action: ExecutableAction) {
    const params = (action.params ?? {}) as Record<string, any>;
    switch (action.type) {
      case 'xstate.spawnChild': {
        const token = this.nextKey();
        this.live.invokes[params.id] = token;
        this.spawned.add(params.id);
        this.unkeyed.push({ task: 'invoke', payload: { conversationId: this.conversationId, invokeId: params.id, src: params.src, input: params.input, token } });
        return;
      }
      case 'xstate.raise': {
        if (params.delay === undefined) return; // an immediate raise was already processed by XState
        const token = this.nextKey();
        this.live.timers[params.id] = token;
        const jobKey = timerJobKey(this.conversationId, params.id);
        this.keyed.set(jobKey, { task: 'timer', payload: { conversationId: this.conversationId, timerId: params.id, token, event: params.event }, delayMs: params.delay, jobKey });
        return;
      }
      case 'xstate.cancel': {
        delete this.live.timers[params.sendId];
        this.keyed.set(timerJobKey(this.conversationId, params.sendId), 'removed');
        return;
      }
      case 'xstate.stopChild':
        return; // a stopped invoke is dropped from the live set below; its late result is ignored
      default: {
        const key = this.nextKey();
        const route = Object.hasOwn(this.actions, action.type) ? this.actions[action.type as NamedAction] : undefined;
        if (route === EFFECT) {
          this.unkeyed.push({ task: 'effect', payload: { conversationId: this.conversationId, type: action.type, params, key } });
          return;
        }
        if (route) {
          if (!this.trx) throw NEEDS_TRANSACTION;
          this.projections += 1;
          return (route as Projection<unknown>)(this.trx, params, { conversationId: this.conversationId, version: this.version, key });
        }
        throw new AppError('unknown_action', `the machine named an action with no executor: ${action.type}`);
      }
    }
  }

  /** Invokes whose state was left in this event are no longer live (unless just spawned again). */
  dropStoppedInvokes(final: ConversationSnapshot) {
    const active = activeInvokeIds(final);
    for (const id of Object.keys(this.live.invokes)) {
      if (!active.has(id)) delete this.live.invokes[id];
    }
  }
}

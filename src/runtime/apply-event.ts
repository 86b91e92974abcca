import { LRUCache } from 'lru-cache';
import type { AnyEventObject } from 'xstate';
import type { ConversationMachine } from '../../machines/conversation/conversation.machine.js';
import type { ConversationInput } from '../../machines/conversation/conversation.types.js';
import type { Db, Trx } from '../db/database.js';
import type { DraftRecord } from '../db/drafts.repository.js';
import {
  isKeyTaken,
  readAnswer,
  readConversations,
  type ConversationFound,
  type ConversationRead,
  readLiveTokens,
  writeEvents,
  type ConversationRow,
  type EarlierAnswer,
  type EventWrite,
  type FenceHeld,
} from '../db/event-store.js';
import type { LiveTokens } from '../db/schema.js';
import { AppError, conflict, notFound } from '../errors.js';
import { normalisePhone } from '../text/phone.js';
import { AuditWriter, restore, stepEvent, stepInitial, storedJson, WorkWriter, type ActionRouting, type CommittedTransition } from './event-step.js';
import { createGroupCommit, type GroupCommitOptions } from './group-commit.js';
import { createGroupRead } from './group-read.js';
import { createGroupFence, HAND_OFFS_IN_FLIGHT, type FenceOptions } from './group-fence.js';
import { jobRows, type InvokePayload } from './job-queue.js';
import { allowedEvents, machineVersion } from './machine-snapshot.js';
import { OneAtATime } from './one-at-a-time.js';

export { EFFECT, staffNotice, type ActionContext, type ActionRouting, type CommittedTransition, type Projection, type StaffNotice } from './event-step.js';

/**
 * The one write path of the product (docs/architecture.md §2). Applying an event is one algorithm:
 *
 *   load the conversation (from this process's memory, or one read) → decide (pure: XState's step, or the
 *   earlier answer, or a refusal) → write everything the event produced in one statement, on the condition
 *   that the conversation is still at the version loaded and the key unused.
 *
 * A write that loses that condition writes nothing and the algorithm runs again from a read. Its one fallback:
 * when the event runs projections (writes to our other tables), when another transaction holds the row, or
 * after a third lost race, the same three steps run inside a transaction that loaded the row FOR UPDATE, so
 * they cannot lose. Writes of concurrent events share statements (group commit, src/runtime/group-commit.ts).
 * Nothing outside the database happens here; workers run the jobs after commit.
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
  /**
   * The caller (a worker, in the job that produced this event) runs the invokes the event starts itself, at
   * once, instead of queueing a job for each: they come back in `started`, and are kept in the inbox's answer,
   * so that a retry of the caller's job finds them (Runtime.startedBy). A turn's draft and send are then one job.
   */
  runsStartedInvokes?: boolean;
  /** Drafts this event refers to (a drafting result's): written in the event's statement, so both commit or neither. */
  drafts?: readonly DraftRecord[];
}

export type Outcome = 'applied' | 'recorded' | 'stale';

export interface ApplyResult {
  conversationId: string;
  state: string;
  version: number;
  outcome: Outcome;
  transitions: number;
  duplicate: boolean;
  /** With `runsStartedInvokes`: the invokes the event started, for the caller to run (absent when none). */
  started?: InvokePayload[];
}

export interface Runtime {
  apply(envelope: EventEnvelope): Promise<ApplyResult>;
  /**
   * Is this invoke or timer still the live one of its conversation (read without a lock: a hint for workers)?
   * With `memoryWillDo`, a conversation this process remembers writing, with the origin live in it, is taken as
   * live without a read: right unless another process has written it since. Only for work that costs nothing
   * but time when it turns out stopped (its result is refused when applied).
   */
  isLive(conversationId: string, origin: NonNullable<EventEnvelope['origin']>, options?: { memoryWillDo?: boolean }): Promise<boolean>;
  /**
   * Runs `work` while a transaction holds the conversation's row (FOR SHARE) and this invoke or timer is the
   * live one: an event that would move the conversation (a STOP) waits until `work` is done, so it cannot
   * commit, and be acknowledged, in the middle. `work` is not run when the origin is no longer live.
   * `options.optOutOf`: the send's number is held too, and checked for an opt-out once held, in the statement
   * that holds the row; `work` gets the answer. `options.accepted`: the text `work` handed off, recorded as
   * accepted in that transaction once `work` is done, and committed with it. Hand-offs asked for at the same
   * moment share the transaction (group-fence.ts; docs/architecture.md §4).
   */
  whileLive<T>(
    conversationId: string,
    origin: NonNullable<EventEnvelope['origin']>,
    work: (held: FenceHeld) => Promise<T>,
    options?: FenceOptions<T>,
  ): Promise<{ live: true; value: T } | { live: false }>;
  /** The invokes an event applied with `runsStartedInvokes` started (read from the inbox's answer; none when not applied). */
  startedBy(conversationId: string, idempotencyKey: string): Promise<InvokePayload[]>;
  /** Does this process remember writing the conversation (then it exists)? A hint that saves readers a lookup. */
  remembers(conversationId: string): boolean;
  readonly machine: ConversationMachine;
}

/** Where an attempt loads the conversation from. */
type Source = 'memory' | 'read' | 'lock';

/** What one attempt came to: an answer, or why the next attempt must load again (and from where). */
type Attempt = { kind: 'done'; result: ApplyResult } | { kind: 'again'; because: 'memory_behind' | 'lost_race' | 'row_busy' | 'needs_lock' };

/** The decision on a loaded conversation: an answer without writing, or a write. */
type Decision = { kind: 'answer'; result: ApplyResult } | { kind: 'memory_behind' } | { kind: 'write'; write: PlannedWrite };

/** An event's write, and what follows its commit. */
interface PlannedWrite {
  store: EventWrite;
  result: ApplyResult;
  projections: ReadonlyArray<(trx: Trx) => Promise<void>>;
  committed: CommittedTransition[];
  /** The row as written, for this process's memory (null when the row did not change). */
  remember: { row: ConversationRow; snapshot: string; live: string } | null;
}

/** What a decision writes: the row after the event (null: unchanged), the answer, the audit rows and the work. */
interface WriteShape {
  change: EventWrite['change'];
  after: { state: string; version: number; snapshot: string; live: LiveTokens } | null;
  outcome: Outcome;
  transitions: number;
  audit: AuditWriter;
  /** The audit rows, when they are more than `audit`'s (a new conversation's initial steps first). */
  auditRows?: AuditWriter['rows'];
  work?: WorkWriter;
  committed: CommittedTransition[];
}

interface Loaded {
  envelope: EventEnvelope;
  row: ConversationRow | undefined;
  earlier: EarlierAnswer | undefined;
  fromMemory: boolean;
}

/** Attempts that load without a lock before the locking one (which cannot lose to another writer). */
const OPTIMISTIC_TRIES = 3;
/** Attempts in all: the locking one can lose only to a conversation created or a key claimed meanwhile. */
const MAX_TRIES = 8;

export function createRuntime(deps: {
  db: Db;
  machine: ConversationMachine;
  actions: ActionRouting;
  /** Called after commit, for observers (inspector, metrics). Never for rolled-back work. */
  onCommitted?: (transitions: CommittedTransition[]) => void;
  /**
   * How many conversations to remember as this process last wrote them (0: none). A remembered one skips the
   * read: the write checks the version anyway, so a stale copy (another process moved the conversation)
   * costs one statement that writes nothing, then the read. Worth it where this process writes most of its
   * conversations' events (API and worker together); see docs/architecture.md §2.
   */
  rememberConversations?: number;
  /** Called after commit with the number of jobs due now that an event wrote (job-queue.ts jobAnnouncer tells the workers). */
  onJobsWritten?: (due: number) => void;
  groupCommit?: GroupCommitOptions;
  /**
   * Fence transactions at once (each holds a pooled connection while its hand-offs wait for the SMS Agent);
   * default HAND_OFFS_IN_FLIGHT. The service's composition gives a quarter of the pool.
   */
  handOffsInFlight?: number;
}): Runtime {
  const { db, machine, actions } = deps;
  const version = machineVersion(machine);
  const recent = (deps.rememberConversations ?? 0) > 0 ? new RecentConversations(deps.rememberConversations!) : null;
  const group = createGroupCommit(db, deps.groupCommit);
  const groupRead = createGroupRead(db);
  const fence = createGroupFence(db, { maxInFlight: deps.handOffsInFlight ?? HAND_OFFS_IN_FLIGHT });
  const inArrivalOrder = new OneAtATime();

  /**
   * One conversation's events apply one at a time in this process, in the order they came; the others wait in
   * memory. The conversation's row orders them anyway, but an event that waits for it on the locking path holds
   * a pooled connection, for as long as a hand-off holds the row (the SMS Agent's answer): a debtor's texts and
   * an agent's retries during a slow send would otherwise each hold one, and the pool would run dry for everyone.
   */
  function apply(envelope: EventEnvelope): Promise<ApplyResult> {
    return inArrivalOrder.run(envelope.conversationId, () => applyNow(envelope));
  }

  async function applyNow(envelope: EventEnvelope): Promise<ApplyResult> {
    let source: Source = recent ? 'memory' : 'read';
    for (let tries = 1; ; tries += 1) {
      let attempt: Attempt;
      try {
        attempt = source === 'lock' ? await attemptLocked(envelope) : await attemptUnlocked(envelope, source);
      } catch (error) {
        // Whatever failed, the next event reads the conversation rather than trust what this process remembers.
        recent?.forget(envelope.conversationId);
        throw error;
      }
      if (attempt.kind === 'done') return attempt.result;
      recent?.forget(envelope.conversationId);
      if (tries === MAX_TRIES) throw new AppError('write_contention', `conversation ${envelope.conversationId} kept moving; try again`, 503, true);
      // The fallback: projections, a row another transaction holds, or a third lost race take the row's lock first.
      const lockNext: boolean = attempt.because === 'needs_lock' || attempt.because === 'row_busy' || tries >= OPTIMISTIC_TRIES;
      source = lockNext ? 'lock' : 'read';
    }
  }

  /** Load (memory or a read), decide, and write with whatever else is being written now. */
  async function attemptUnlocked(envelope: EventEnvelope, source: 'memory' | 'read'): Promise<Attempt> {
    const loaded = (source === 'memory' ? remembered(envelope) : undefined) ?? (await load(groupRead.read, envelope));
    const decision = decide(loaded);
    if (decision.kind === 'answer') return { kind: 'done', result: decision.result };
    if (decision.kind === 'memory_behind') return { kind: 'again', because: 'memory_behind' };
    const { write } = decision;
    if (write.projections.length > 0) return { kind: 'again', because: 'needs_lock' };
    const { written, busy } = await group.write(write.store);
    if (!written) return { kind: 'again', because: busy ? 'row_busy' : loaded.fromMemory ? 'memory_behind' : 'lost_race' };
    return committed(write);
  }

  /** The same, in a transaction that loads the row FOR UPDATE: projections run in it, after the event's write. */
  async function attemptLocked(envelope: EventEnvelope): Promise<Attempt> {
    const trx = await db.startTransaction().execute();
    let write: PlannedWrite;
    try {
      const decision = decide(await load(async (read) => (await readConversations(trx, [read], true))[0]!, envelope));
      if (decision.kind !== 'write') {
        await trx.commit().execute();
        // A read never says memory is behind; the type does not know that.
        return decision.kind === 'answer' ? { kind: 'done', result: decision.result } : { kind: 'again', because: 'memory_behind' };
      }
      const [stored] = await writeEvents(trx, [decision.write.store]);
      if (!stored!.written) {
        // Lost only to a conversation created, or a key claimed, after this transaction looked.
        await trx.rollback().execute();
        return { kind: 'again', because: 'lost_race' };
      }
      for (const projection of decision.write.projections) await projection(trx);
      await trx.commit().execute();
      write = decision.write;
    } catch (error) {
      await trx.rollback().execute().catch(() => {});
      if (isKeyTaken(error)) return { kind: 'again', because: 'lost_race' };
      throw error;
    }
    return committed(write);
  }

  /** After commit: observers, the workers, this process's memory. */
  function committed(write: PlannedWrite): Attempt {
    deps.onJobsWritten?.(write.store.jobs.filter((job) => job.delay_ms === 0).length);
    if (write.remember) recent?.remember(write.remember);
    if (write.committed.length > 0) deps.onCommitted?.(write.committed);
    return { kind: 'done', result: write.result };
  }

  /** What this process remembers of the envelope's conversation; for a default one, only while it is the default. */
  function remembered(envelope: EventEnvelope): Loaded | undefined {
    const row = recent?.get(envelope.conversationId);
    if (!row || (envelope.defaultConversation && row.default_for_phone !== envelope.create?.phone)) return undefined;
    return { envelope, row, earlier: undefined, fromMemory: true };
  }

  /**
   * What the event meets, and what to do about it. Refusals the caller must hear (404, 409) are thrown; what
   * memory refuses, the stored row decides (it may be behind another process's writes).
   */
  function decide({ envelope, row, earlier, fromMemory }: Loaded): Decision {
    // Before any answer, even a duplicate's: another tenant's key on this id must not read this one's answer.
    if (row) assertSameDebtor(envelope, row);
    if (earlier) return { kind: 'answer', result: answerOfEarlier(envelope, earlier) };
    if (!row) {
      if (!envelope.create) throw notFound(`conversation ${envelope.conversationId}`);
      return planNew(envelope, envelope.create);
    }
    if (envelope.origin && !isLive(row.live_effects, envelope.origin)) return fromMemory ? { kind: 'memory_behind' } : planStale(envelope, row);
    const live: LiveTokens = structuredClone(row.live_effects);
    // A timer that fires is no longer pending, whatever the machine makes of its event.
    if (envelope.origin?.kind === 'timer') delete live.timers[envelope.origin.id];
    const { snapshot, accepted } = restore(machine, row.snapshot, envelope.event);
    if (!accepted) {
      if (fromMemory) return { kind: 'memory_behind' };
      if (envelope.ifNotAccepted === 'reject') {
        throw conflict('event_not_allowed', `${envelope.event.type} is not allowed in state ${row.state}`, { state: row.state, allowed_events: allowedEvents(snapshot) });
      }
      return planKept(envelope, row, live, 'recorded');
    }
    const audit = new AuditWriter(envelope, row.audit_seq, row.audit_hash, row.snapshot.context);
    const work = new WorkWriter(row.id, row.version + 1, live, actions, envelope.runsStartedInvokes);
    const stepped = stepEvent(machine, snapshot, envelope, row.state, audit, work);
    return planWrite(envelope, row, {
      change: 'update',
      after: { state: stepped.state, version: row.version + 1, snapshot: storedJson(stepped.final), live },
      outcome: 'applied',
      transitions: stepped.transitions,
      audit,
      work,
      committed: stepped.committed,
    });
  }

  /**
   * A new conversation: its initial state's steps and the event's, stepped in memory, written as one insert
   * already at version 1 (0 when the event is only recorded). If another event created it first, the insert
   * writes nothing, and the next attempt finds the row.
   */
  function planNew(envelope: EventEnvelope, input: ConversationInput): Decision {
    const work = new WorkWriter(envelope.conversationId, 0, { invokes: {}, timers: {} }, actions, envelope.runsStartedInvokes);
    const initAudit = new AuditWriter({ ...envelope, event: { type: 'xstate.init' } }, 0, null);
    const initial = stepInitial(machine, input, initAudit, work);
    const initialJson = storedJson(initial.final);
    const row: ConversationRow = {
      id: envelope.conversationId,
      tenant_id: input.tenantId,
      phone: input.phone,
      default_for_phone: envelope.defaultConversation ? input.phone : null,
      state: initial.state,
      snapshot: JSON.parse(initialJson),
      live_effects: work.live,
      machine_version: version,
      version: 0,
      audit_seq: initAudit.seq,
      audit_hash: initAudit.hash,
      created_at: new Date(),
      updated_at: new Date(),
    };
    const { snapshot, accepted } = restore(machine, row.snapshot, envelope.event);
    if (!accepted) {
      if (envelope.ifNotAccepted === 'reject') {
        throw conflict('event_not_allowed', `${envelope.event.type} is not allowed in state ${row.state}`, { state: row.state, allowed_events: allowedEvents(snapshot) });
      }
      const after = { state: initial.state, version: 0, snapshot: initialJson, live: work.live };
      return planWrite(envelope, row, { change: 'insert', after, outcome: 'recorded', transitions: 0, audit: initAudit, work, committed: initial.committed });
    }
    // The event's work continues the initial state's writer: a timer the event cancels is never queued.
    const audit = new AuditWriter(envelope, initAudit.seq, initAudit.hash, row.snapshot.context);
    const stepped = stepEvent(machine, snapshot, envelope, row.state, audit, work.atVersion(1));
    return planWrite(envelope, row, {
      change: 'insert',
      after: { state: stepped.state, version: 1, snapshot: storedJson(stepped.final), live: work.live },
      outcome: 'applied',
      transitions: stepped.transitions,
      audit,
      auditRows: [...initAudit.rows, ...audit.rows],
      work,
      committed: [...initial.committed, ...stepped.committed],
    });
  }

  /**
   * A result that is no longer live (its invoke was stopped, its timer replaced): recorded, nothing moves. A
   * text that left before the conversation moved on (a STOP that committed after the hand-off) did go out: it
   * is written in the audit trail, with the digest of its words, as a step from the state to itself.
   */
  function planStale(envelope: EventEnvelope, row: ConversationRow): Decision {
    if (!isSentText(envelope.event)) return planKept(envelope, row, row.live_effects, 'stale');
    const audit = new AuditWriter(envelope, row.audit_seq, row.audit_hash, row.snapshot.context);
    audit.append(row.state, row.state);
    return planWrite(envelope, row, { change: 'update', after: unmoved(row, row.live_effects), outcome: 'stale', transitions: 0, audit, committed: [] });
  }

  /** An event recorded without moving: the row is written only when its live tokens change (a timer that fired). */
  function planKept(envelope: EventEnvelope, row: ConversationRow, live: LiveTokens, outcome: Outcome): Decision {
    const audit = new AuditWriter(envelope, row.audit_seq, row.audit_hash);
    const tokensChanged = JSON.stringify(live) !== JSON.stringify(row.live_effects);
    return planWrite(envelope, row, { change: tokensChanged ? 'update' : 'none', after: tokensChanged ? unmoved(row, live) : null, outcome, transitions: 0, audit, committed: [] });
  }

  /** The write of a decision: what the store gets, the answer, and what follows the commit. */
  function planWrite(envelope: EventEnvelope, row: ConversationRow, shape: WriteShape): Decision {
    const { after, audit, work } = shape;
    const result: ApplyResult = {
      conversationId: row.id,
      state: after?.state ?? row.state,
      version: after?.version ?? row.version,
      outcome: shape.outcome,
      transitions: shape.transitions,
      duplicate: false,
      ...(work && work.started.length > 0 ? { started: work.started } : {}),
    };
    const { duplicate: _duplicate, ...answer } = result;
    let fields: EventWrite['row'] = null;
    let remember: PlannedWrite['remember'] = null;
    if (after) {
      const live = JSON.stringify(after.live);
      const head = { state: after.state, version: after.version, machine_version: version, audit_seq: audit.seq, audit_hash: audit.hash };
      fields = { tenant_id: row.tenant_id, phone: row.phone, default_for_phone: row.default_for_phone, snapshot: after.snapshot, live_effects: live, ...head };
      // As written: the row and this process's memory of it hold the same text.
      remember = { row: { ...row, ...head }, snapshot: after.snapshot, live };
    }
    const store: EventWrite = {
      conversationId: row.id,
      change: shape.change,
      expectedVersion: shape.change === 'insert' ? null : row.version,
      row: fields,
      inbox: { idempotencyKey: envelope.idempotencyKey, eventType: envelope.event.type, outcome: result.outcome, result: answer },
      inbound: inboundTextOf(envelope.event),
      transitions: shape.auditRows ?? audit.rows,
      jobs: work ? jobRows(work.jobs()) : [],
      removedJobKeys: work?.removedJobKeys() ?? [],
      drafts: envelope.drafts ?? [],
    };
    return { kind: 'write', write: { store, result, projections: work?.projections ?? [], committed: shape.committed, remember } };
  }

  async function isLiveNow(conversationId: string, origin: NonNullable<EventEnvelope['origin']>, options: { memoryWillDo?: boolean } = {}) {
    // Memory says "live" only as this process last wrote the row; what it says "stopped" may be as old, so that is read.
    const remembered = options.memoryWillDo ? recent?.liveTokens(conversationId) : undefined;
    if (remembered && isLive(remembered, origin)) return true;
    // Otherwise read: another process may have closed the conversation since (a send must not go out then).
    const live = await readLiveTokens(db, conversationId);
    return live !== undefined && isLive(live, origin);
  }

  const whileLive: Runtime['whileLive'] = (conversationId, origin, work, options = {}) => {
    const { accepted, ...holds } = options;
    return fence.run({ conversationId, holds, live: (live) => live !== undefined && isLive(live, origin), work, accepted });
  };

  async function startedBy(conversationId: string, idempotencyKey: string) {
    const answer = (await readAnswer(db, conversationId, idempotencyKey)) as Partial<ApplyResult> | undefined;
    return answer?.started ?? [];
  }

  return { apply, isLive: isLiveNow, whileLive, startedBy, remembers: (id) => recent?.has(id) ?? false, machine };
}

/**
 * The conversation an envelope is for (by id, or its tenant's default conversation of the number) and the key's
 * earlier answer, read by `read`: with other events' reads (the group read), or alone under the row's lock.
 */
async function load(read: (read: ConversationRead) => Promise<ConversationFound>, envelope: EventEnvelope): Promise<Loaded> {
  const byDefault = envelope.defaultConversation && envelope.create ? envelope.create : null;
  const { row, earlier } = await read({
    key: { id: envelope.conversationId, ...(byDefault ? { defaultOf: { tenantId: byDefault.tenantId, phone: byDefault.phone } } : {}) },
    idempotencyKey: envelope.idempotencyKey,
  });
  // The default conversation found under another id: that id wherever the id is used.
  const at = row && row.id !== envelope.conversationId ? atConversation(envelope, row.id) : envelope;
  return { envelope: at, row, earlier, fromMemory: false };
}

/** The row written again at the next version with its state unchanged: every write of the row raises its version. */
function unmoved(row: ConversationRow, live: LiveTokens) {
  return { state: row.state, version: row.version + 1, snapshot: JSON.stringify(row.snapshot), live };
}

/**
 * A conversation belongs to one tenant and number. An event that may create one names them (`create`): an
 * existing conversation takes it only if they are its own, else 409 `conversation_mismatch` and nothing is
 * written. Checked on the row the write depends on (the version the write is conditioned on), so no race
 * between a check and the write can cross it: a conversation's tenant and number never change (a trigger
 * refuses it). Rows stored before numbers were normalised hold the number as typed.
 */
function assertSameDebtor(envelope: EventEnvelope, row: Pick<ConversationRow, 'tenant_id' | 'phone'>) {
  const input = envelope.create;
  if (!input || (row.tenant_id === input.tenantId && (normalisePhone(row.phone) ?? row.phone) === input.phone)) return;
  // Neither the other tenant nor the other number is named: the caller may not know them.
  throw conflict('conversation_mismatch', `conversation ${envelope.conversationId} belongs to another tenant or phone number`);
}

/** Same key, same answer; the same key for another kind of event is refused. */
function answerOfEarlier(envelope: EventEnvelope, earlier: EarlierAnswer): ApplyResult {
  if (earlier.eventType !== envelope.event.type) {
    throw conflict('idempotency_key_reused', 'this idempotency key was used for another event', { earlier_event_type: earlier.eventType });
  }
  return { ...(earlier.result as Omit<ApplyResult, 'duplicate'>), duplicate: true };
}

/** The text an inbound SMS event carries (kept in `messages`), or null for any other event. */
function inboundTextOf(event: AnyEventObject): string | null {
  return event.type === 'sms.received' ? String((event as { text?: unknown }).text ?? '') : null;
}

/** A sender's result that says the SMS Agent accepted a text. */
function isSentText(event: AnyEventObject): boolean {
  const output = (event as { output?: unknown }).output;
  return event.type === 'xstate.done.actor.sender' && typeof output === 'object' && output !== null && 'smsId' in output;
}

function isLive(live: LiveTokens, origin: NonNullable<EventEnvelope['origin']>) {
  const tokens = origin.kind === 'invoke' ? live.invokes : live.timers;
  return tokens[origin.id] === origin.token;
}

/** The envelope, for the default conversation found under `conversationId`: that id wherever the id is used. */
function atConversation(envelope: EventEnvelope, conversationId: string): EventEnvelope {
  return { ...envelope, conversationId, create: envelope.create && { ...envelope.create, conversationId } };
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

  remember({ row, snapshot, live }: { row: ConversationRow; snapshot: string; live: string }) {
    const { snapshot: _snapshot, live_effects: _live, ...rest } = row;
    this.rows.set(row.id, { row: rest, snapshot, live });
  }

  /** The live tokens as last written (parsed from the kept JSON), or undefined when not remembered. */
  liveTokens(id: string): LiveTokens | undefined {
    const entry = this.rows.get(id);
    return entry && (JSON.parse(entry.live) as LiveTokens);
  }

  has(id: string) {
    return this.rows.has(id);
  }

  forget(id: string) {
    this.rows.delete(id);
  }
}

/** The chain's hash function lives in audit-chain.ts; re-exported for callers that imported it from here. */
export { auditHash } from './audit-chain.js';

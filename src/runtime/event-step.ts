import { getInitialMicrosteps, getMicrosteps, type AnyEventObject } from 'xstate';
import type { ActionParams, ConversationMachine, NamedAction } from '../../machines/conversation/conversation.machine.js';
import type { ConversationContext, ConversationInput } from '../../machines/conversation/conversation.types.js';
import type { Trx } from '../db/database.js';
import type { TransitionWrite } from '../db/event-store.js';
import type { LiveTokens } from '../db/schema.js';
import { AppError } from '../errors.js';
import { digestWords, eventSummary, eventWords, transitionHash } from './audit-chain.js';
import { staffNoticeJobKey, timerJobKey, type InvokePayload, type JobSpec } from './job-queue.js';
import type { StoredSnapshot } from '../db/schema.js';
import { activeInvokeIds, fromStored, stateName, toStored, type ConversationSnapshot } from './machine-snapshot.js';

/**
 * The pure part of applying an event: XState's step, recorded as what it writes (audit rows, jobs, the
 * projections to run), without touching the database. src/runtime/apply-event.ts decides when it runs and
 * writes the result.
 */

export interface ActionContext {
  conversationId: string;
  version: number;
  /** `${conversationId}:${version}:${n}`: unique per action, stable across retries of its job. */
  key: string;
}

/** A named machine action that is a write to our own tables: it runs inside the event's transaction. */
export type Projection<P> = (trx: Trx, params: P, context: ActionContext) => Promise<void>;

/**
 * Marks a named action that is a side effect outside the database: it is queued as an `effect` job that
 * finishes a turn (a text to the debtor, a manager asked to approve a reply), ahead of drafts.
 */
export const EFFECT = 'effect' as const;

/**
 * A side effect that tells staff something no debtor's turn waits on: an `effect` job that runs after the
 * drafts (JOB_PRIORITY.informStaff), so a flood of notices cannot keep debtors unanswered. When `coalesceAs`
 * names the notice, it replaces the conversation's queued notice of that name instead of adding one: a
 * notice that says only what the one still waiting says ("the debtor wrote") is sent once.
 */
export interface StaffNotice<P> {
  readonly kind: 'staffNotice';
  readonly coalesceAs?: (params: P) => string | null;
}
export const staffNotice = <P>(coalesceAs?: (params: P) => string | null): StaffNotice<P> => ({ kind: 'staffNotice', coalesceAs });

/**
 * Where each named action of the machine goes, exhaustively: a missing or misspelled action fails the
 * type check (src/runtime/projections.ts holds the table).
 */
export type ActionRouting = { readonly [K in NamedAction]: Projection<ActionParams[K]> | typeof EFFECT | StaffNotice<ActionParams[K]> };

/** One microstep, as observers see it after commit. */
export interface CommittedTransition {
  conversationId: string;
  from: string | null;
  to: string;
  event: AnyEventObject;
  /** The context before the event (null for the first step): what observers measure against, read from memory. */
  contextBefore: ConversationContext | null;
}

/** Who sent an event, for the audit trail. */
export interface AuditedEvent {
  conversationId: string;
  event: AnyEventObject;
  idempotencyKey: string;
  actor: string;
}

/** The stored snapshot, restored, and whether the machine takes the event in it. */
export function restore(machine: ConversationMachine, stored: StoredSnapshot, event: AnyEventObject) {
  const snapshot = fromStored(machine, stored);
  // getMicrosteps returns a step even when nothing is enabled; `can` tells whether the machine takes it.
  return { snapshot, accepted: stored.status !== 'done' && snapshot.can(event as never) };
}

/** What stepping produced: the snapshot reached, its rows and work, for one write. */
export interface Stepped {
  final: ConversationSnapshot;
  state: string;
  transitions: number;
  committed: CommittedTransition[];
}

/** The initial state's steps for a new conversation (version 0). */
export function stepInitial(machine: ConversationMachine, input: ConversationInput, audit: AuditWriter, work: WorkWriter): Stepped {
  const committed: CommittedTransition[] = [];
  const steps = getInitialMicrosteps(machine, input);
  const final = recordSteps(steps, null, audit, work, (from, to) =>
    committed.push({ conversationId: input.conversationId, from, to, event: { type: 'xstate.init' }, contextBefore: null }),
  );
  return { final, state: stateName(final), transitions: steps.length, committed };
}

/** An accepted event's steps from `snapshot` (in state `from`, with `before` as its context). */
export function stepEvent(
  machine: ConversationMachine,
  snapshot: ConversationSnapshot,
  envelope: AuditedEvent,
  from: string,
  audit: AuditWriter,
  work: WorkWriter,
): Stepped {
  const committed: CommittedTransition[] = [];
  const before = snapshot.context;
  const steps = getMicrosteps(machine, snapshot, envelope.event as never);
  const final = recordSteps(steps, from, audit, work, (stepFrom, to) =>
    committed.push({ conversationId: envelope.conversationId, from: stepFrom, to, event: envelope.event, contextBefore: before }),
  );
  work.dropStoppedInvokes(final);
  return { final, state: stateName(final), transitions: steps.length, committed };
}

/** Each microstep is one transition: an audit row, then its actions as work. Returns the last snapshot. */
function recordSteps(
  steps: ReturnType<typeof getMicrosteps<ConversationMachine>>,
  from: string | null,
  audit: AuditWriter,
  work: WorkWriter,
  onStep: (from: string | null, to: string) => void,
): ConversationSnapshot {
  for (const [next, stepActions] of steps) {
    const to = stateName(next);
    audit.append(from, to);
    work.take(stepActions);
    onStep(from, to);
    from = to;
  }
  return steps.at(-1)![0];
}

/** The stored form of a snapshot, as JSON text: what the row gets and what a process remembers. */
export function storedJson(snapshot: ConversationSnapshot): string {
  return JSON.stringify(toStored(snapshot));
}

/**
 * Appends audit rows, each chained to the previous one of its conversation by a sha-256 hash that also
 * covers a redacted summary of the event and the digest of its words (src/runtime/audit-chain.ts).
 * `before` is the context the event met (a manager's approval sends the draft's text).
 */
export class AuditWriter {
  private readonly summary: Record<string, unknown>;
  private readonly wordsDigest: string | null;
  readonly rows: TransitionWrite[] = [];

  constructor(
    private readonly envelope: AuditedEvent,
    public seq: number,
    public hash: string | null,
    before: ConversationContext | null = null,
  ) {
    this.summary = eventSummary(envelope.event);
    this.wordsDigest = digestWords(eventWords(envelope.event, before));
  }

  append(from: string | null, to: string) {
    const row = {
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

type ExecutableAction = { type: string; params?: unknown };

/**
 * Turns the actions XState returned into durable work: jobs (invokes, timers, effects) and projections
 * (writes to our tables, run with the event's write). A timer cancelled and scheduled again in one event is
 * one job (the new one replaces the queued one by key); one scheduled and cancelled in the same event is none.
 * A coalesced staff notice is keyed the same way, so it also replaces the one still queued from earlier events.
 */
export class WorkWriter {
  private n = 0;
  private readonly unkeyed: JobSpec[] = [];
  private readonly keyed = new Map<string, JobSpec | 'removed'>();
  /** Projections, in the order the machine named them; each runs in the transaction that writes the event. */
  readonly projections: Array<(trx: Trx) => Promise<void>> = [];
  /** Invokes started for the caller to run itself (`startsInline`), not queued. */
  readonly started: InvokePayload[] = [];

  constructor(
    private readonly conversationId: string,
    private version: number,
    /** The conversation's live tokens, changed in place as invokes and timers start and stop. */
    readonly live: LiveTokens,
    private readonly actions: ActionRouting,
    /** The caller runs the invokes this event starts (EventEnvelope.runsStartedInvokes). */
    private readonly startsInline = false,
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

  removedJobKeys(): string[] {
    return [...this.keyed].filter(([, job]) => job === 'removed').map(([key]) => key);
  }

  take(stepActions: readonly ExecutableAction[]) {
    for (const action of stepActions) this.one(action);
  }

  private one(action: ExecutableAction) {
    const params = (action.params ?? {}) as Record<string, any>;
    switch (action.type) {
      case 'xstate.spawnChild': {
        const token = this.nextKey();
        this.live.invokes[params.id] = token;
        const payload = { conversationId: this.conversationId, invokeId: params.id, src: params.src, input: params.input, token };
        if (this.startsInline) this.started.push(payload);
        else this.unkeyed.push({ task: 'invoke', payload });
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
        if (!route) throw new AppError('unknown_action', `the machine named an action with no executor: ${action.type}`);
        if (route === EFFECT || typeof route === 'object') {
          this.effect(action.type, params, key, route);
          return;
        }
        const context = { conversationId: this.conversationId, version: this.version, key };
        this.projections.push((trx) => (route as Projection<unknown>)(trx, params, context));
      }
    }
  }

  /** An effect job; a staff notice ranks after the drafts, and one with a name replaces its queued namesake. */
  private effect(type: string, params: Record<string, any>, key: string, route: typeof EFFECT | StaffNotice<never>) {
    const payload = { conversationId: this.conversationId, type, params, key };
    if (route === EFFECT) {
      this.unkeyed.push({ task: 'effect', payload });
      return;
    }
    const name = route.coalesceAs?.(params as never);
    if (!name) {
      this.unkeyed.push({ task: 'effect', payload, rank: 'informStaff' });
      return;
    }
    const jobKey = staffNoticeJobKey(this.conversationId, name);
    this.keyed.set(jobKey, { task: 'effect', payload, rank: 'informStaff', jobKey });
  }

  /** Invokes whose state was left in this event are no longer live (unless just spawned again). */
  dropStoppedInvokes(final: ConversationSnapshot) {
    const active = activeInvokeIds(final);
    for (const id of Object.keys(this.live.invokes)) {
      if (!active.has(id)) delete this.live.invokes[id];
    }
    // One started and stopped within the event (an eventless transition left its state) is not the caller's to run.
    this.started.splice(0, this.started.length, ...this.started.filter((payload) => this.live.invokes[payload.invokeId] === payload.token));
  }
}

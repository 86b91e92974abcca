import { createHash } from 'node:crypto';
import { __unsafe_getAllOwnEventDescriptors, type SnapshotFrom, type StateValue } from 'xstate';
import type { ConversationMachine } from '../../machines/conversation/conversation.machine.js';
import type { ConversationContext } from '../../machines/conversation/conversation.types.js';
import type { StoredSnapshot } from '../db/schema.js';

/**
 * The one adapter between XState snapshots and what we store. The machine is a statechart: a state may be
 * compound (`negotiating.awaitingConfirmation`) or parallel. We store XState's own state value (a string
 * or a nested object) with the context, and name states by their full path everywhere else.
 */

export type ConversationSnapshot = SnapshotFrom<ConversationMachine>;

export function toStored(snapshot: ConversationSnapshot): StoredSnapshot {
  return {
    value: snapshot.value,
    status: snapshot.status === 'done' ? 'done' : 'active',
    context: snapshot.context,
  };
}

/**
 * Fields added to the context since conversations were first stored, with the value they have in a
 * conversation that never used them. Loading fills them in, so a snapshot stored by an earlier version of
 * the machine moves on under this one (test/integration/stored-snapshots.test.ts).
 */
const CONTEXT_ADDED_SINCE_FIRST_RELEASE: Partial<ConversationContext> = {
  offeredPlan: null,
  plan: null,
  identityVerified: false,
  closure: null,
  paidSinceOffer: 0,
  disputed: false,
  identityHeld: 0,
  identityClaimed: false,
};

export function fromStored(machine: ConversationMachine, stored: StoredSnapshot): ConversationSnapshot {
  return machine.resolveState({ value: stored.value, context: upgradeContext(stored.context) });
}

/**
 * A stored context in today's shape, whatever release wrote it. Readers of a stored row (the API's views)
 * use it too, so no one else needs to know the older shapes.
 */
export function upgradeContext(stored: ConversationContext): ConversationContext {
  const context = { ...CONTEXT_ADDED_SINCE_FIRST_RELEASE, ...stored } as ConversationContext;
  if (context.draft && !('negotiation' in context.draft)) context.draft = { ...upgradeDraft(context.draft) };
  if (context.outgoing && !('offer' in context.outgoing)) context.outgoing = { ...(context.outgoing as object), offer: null } as ConversationContext['outgoing'];
  if (Array.isArray(context.unanswered)) context.unanswered = upgradeUnanswered(context.unanswered);
  return context;
}

/**
 * Earlier releases kept the unanswered texts themselves (400 of them made a 790 kB snapshot). Their texts
 * are in the messages table too, so a count and the newest one's time are all the context needs.
 */
function upgradeUnanswered(texts: ReadonlyArray<{ at: string }>): ConversationContext['unanswered'] {
  return { count: texts.length, latestAt: texts.at(-1)?.at ?? null };
}

/** A first-release draft carried `plan` (weekly amount and weeks, never agreed); it now says what it does about a plan. */
function upgradeDraft(draft: ConversationContext['draft'] & object) {
  const { plan: _plan, ...rest } = draft as typeof draft & { plan?: unknown };
  return { ...rest, negotiation: null };
}

/**
 * The full path of the state a snapshot is in: `awaitingReply`, `negotiating.awaitingConfirmation`; the
 * regions of a parallel state in braces, `a.{b.c,d}`. Audit rows and the API carry this.
 */
export function statePath(value: StateValue): string {
  if (typeof value === 'string') return value;
  const parts = Object.entries(value).map(([key, child]) =>
    child === undefined || (typeof child === 'object' && Object.keys(child).length === 0) ? key : `${key}.${statePath(child)}`,
  );
  return parts.length === 1 ? parts[0] : `{${parts.join(',')}}`;
}

export function stateName(snapshot: ConversationSnapshot): string {
  return statePath(snapshot.value);
}

/** The top-level state of a path: the name the contract (metrics, dashboards) is written in. */
export function topLevelState(path: string): string {
  return path.split('.')[0];
}

/** Ids of the invokes of the states the snapshot is in (the ones whose results may still apply). */
export function activeInvokeIds(snapshot: ConversationSnapshot): Set<string> {
  return new Set(snapshot._nodes.flatMap((node) => node.invoke.map((invoke) => invoke.id)));
}

const INTERNAL_EVENT = /^(xstate\.|timer\.)/;

/**
 * Events a caller may send now (guards not evaluated): the "next allowed events" of the API. XState lists
 * the events of every active state node, so a compound state's own and its ancestors' all count.
 */
export function allowedEvents(snapshot: ConversationSnapshot): string[] {
  if (snapshot.status === 'done') return [];
  return [...new Set(__unsafe_getAllOwnEventDescriptors(snapshot))].filter((type) => !INTERNAL_EVENT.test(type)).sort();
}

const versions = new WeakMap<object, string>();

/** A short digest of the machine definition, stored with every snapshot. */
export function machineVersion(machine: ConversationMachine): string {
  let version = versions.get(machine);
  if (!version) {
    version = createHash('sha256').update(JSON.stringify(machine.definition)).digest('hex').slice(0, 12);
    versions.set(machine, version);
  }
  return version;
}

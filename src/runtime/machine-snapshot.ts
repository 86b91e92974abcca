import { createHash } from 'node:crypto';
import { __unsafe_getAllOwnEventDescriptors, type SnapshotFrom } from 'xstate';
import type { ConversationMachine } from '../../machines/conversation/conversation.machine.js';
import type { ConversationContext } from '../../machines/conversation/conversation.types.js';

export type ConversationSnapshot = SnapshotFrom<ConversationMachine>;

/** What we keep of a snapshot: invokes and timers live in the job queue, not in XState. */
export interface StoredSnapshot {
  value: string;
  status: 'active' | 'done';
  context: ConversationContext;
}

export function toStored(snapshot: ConversationSnapshot): StoredSnapshot {
  return {
    value: stateName(snapshot),
    status: snapshot.status === 'done' ? 'done' : 'active',
    context: snapshot.context,
  };
}

export function fromStored(machine: ConversationMachine, stored: StoredSnapshot): ConversationSnapshot {
  return machine.resolveState({ value: stored.value, context: stored.context });
}

export function stateName(snapshot: ConversationSnapshot): string {
  return typeof snapshot.value === 'string' ? snapshot.value : JSON.stringify(snapshot.value);
}

/** Ids of the invokes of the states the snapshot is in (the ones whose results may still apply). */
export function activeInvokeIds(snapshot: ConversationSnapshot): Set<string> {
  return new Set(snapshot._nodes.flatMap((node) => node.invoke.map((invoke) => invoke.id)));
}

const INTERNAL_EVENT = /^(xstate\.|timer\.)/;

/** Events a caller may send now (guards not evaluated): the "next allowed events" of the API. */
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

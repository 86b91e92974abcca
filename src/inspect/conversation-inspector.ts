import { createWebSocketInspector } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import type { AnyEventObject } from 'xstate';
import { studioDefinition } from '../../machines/conversation/conversation.definition.js';
import type { ConversationMachine } from '../../machines/conversation/conversation.machine.js';
import { findConversationSnapshot } from '../db/conversations.repository.js';
import type { Db } from '../db/database.js';
import { eventSummary } from '../runtime/audit-chain.js';
import type { CommittedTransition } from '../runtime/apply-event.js';

/**
 * Mirrors committed transitions to the Stately inspector (docs/audit.md §4). The runtime takes XState's
 * pure `transition()` path, so no actor exists to pass `inspect` to: this emits the inspector's three
 * records itself — `@xstate.actor` the first time a conversation is seen (with the machine's definition),
 * then for each transition `@xstate.event` and `@xstate.snapshot`. It is fed from the runtime's
 * `onCommitted` hook (after commit only), queues work and sends it later: the request never waits for it.
 *
 * By default nothing personal leaves: events are their audit summary (src/runtime/audit-chain.ts), and the
 * context's phone, texts, notes and failure messages are replaced by `[redacted]`. `includePii` lifts both.
 */

export interface ConversationInspector {
  /** For `onCommitted`: queues the transitions, returns at once. */
  mirror(transitions: CommittedTransition[]): void;
  /** Sends one transition as it is known from the audit trail (scripts/inspect.ts). */
  send(step: InspectedStep): void;
  /** Resolves when everything queued was handed to the websocket (or dropped). */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** The websocket the inspector sends to; a browser opens the `http://` form of a local server's. */
  readonly url: string;
}

export interface InspectedStep {
  conversationId: string;
  from: string | null;
  to: string;
  event: AnyEventObject;
  /** The context after the step, when known (the live path reads it just after commit). */
  context?: Record<string, unknown> | null;
  status?: 'active' | 'done';
}

export interface InspectorOptions {
  machine: ConversationMachine;
  /** Relay to send to; without it a local inspector server is started on `port`. */
  url?: string;
  port?: number;
  includePii?: boolean;
  /** The events given are already audit summaries (a replay from the trail): sent as they are. */
  summarizedEvents?: boolean;
  /** Reads a conversation's context after commit (the live path); without it, snapshots carry none. */
  db?: Db;
  onError?: (error: unknown) => void;
}

const REDACTED = '[redacted]';
/** Context keys that hold a number or somebody's words, at any depth. */
const PERSONAL_KEYS = new Set(['phone', 'text', 'note', 'message', 'body', 'rawText', 'finalText']);

export function sanitizeContext(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sanitizeContext);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [key, PERSONAL_KEYS.has(key) && child !== null && child !== undefined ? REDACTED : sanitizeContext(child)]),
    );
  }
  return value;
}

/** `negotiating.awaitingConfirmation` → `{ negotiating: 'awaitingConfirmation' }`, as XState writes a state value. */
export function stateValue(path: string): unknown {
  if (path.startsWith('{')) return path; // a parallel state's path: shown as it is
  const parts = path.split('.');
  return parts.slice(0, -1).reduceRight<unknown>((inner, key) => ({ [key]: inner }), parts.at(-1)!);
}

export function sessionId(conversationId: string) {
  return `conversation:${conversationId}`;
}

export function createConversationInspector(options: InspectorOptions): ConversationInspector {
  const server = options.url ? null : createInspectorServer({ port: options.port ?? 8080, autoOpen: false });
  const url = options.url ?? `ws://localhost:${options.port ?? 8080}`;
  const includePii = options.includePii ?? false;
  const inspector = createWebSocketInspector({
    url,
    sanitizeEvent: includePii || options.summarizedEvents ? undefined : (event) => eventSummary(event) as AnyEventObject,
    sanitizeContext: includePii ? undefined : (context) => sanitizeContext(context) as Record<string, unknown>,
  });
  const definition = { config: studioDefinition(options.machine) };
  const seen = new Set<string>();
  let queue: Promise<void> = Promise.resolve();
  const onError = options.onError ?? (() => {});

  function send(step: InspectedStep) {
    const id = sessionId(step.conversationId);
    const snapshot = { status: step.status ?? 'active', value: stateValue(step.to), context: step.context ?? {} };
    if (!seen.has(id)) {
      seen.add(id);
      // The inspector takes the definition from an actor ref's `logic.config`: hand it one that has only that.
      inspector.actor({ sessionId: id, id, logic: definition } as never, {
        status: 'active',
        value: step.from === null ? stateValue(step.to) : stateValue(step.from),
        context: step.context ?? {},
      });
    }
    inspector.event(id, step.event);
    inspector.snapshot(id, snapshot, { event: step.event });
  }

  function mirror(transitions: CommittedTransition[]) {
    queue = queue
      .then(async () => {
        const context = options.db ? await readContext(options.db, transitions[0].conversationId) : null;
        transitions.forEach((step, i) => send({ ...step, context: i === transitions.length - 1 ? context : null }));
      })
      .catch(onError);
  }

  return {
    url,
    mirror,
    send,
    flush: () => queue,
    async close() {
      await queue;
      inspector.stop();
      server?.stop();
    },
  };
}

async function readContext(db: Db, conversationId: string) {
  const snapshot = await findConversationSnapshot(db, conversationId);
  return (snapshot?.context as unknown as Record<string, unknown> | undefined) ?? null;
}

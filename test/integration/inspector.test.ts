import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { conversationMachine } from '../../machines/conversation/conversation.machine.js';
import { createConversationInspector, sanitizeContext, type ConversationInspector } from '../../src/inspect/conversation-inspector.js';
import { createRuntime, type Runtime } from '../../src/runtime/apply-event.js';
import { actionRouting } from '../../src/runtime/projections.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb.drop());

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Received {
  type: string;
  sessionId: string;
  event?: { type: string };
  snapshot?: { value?: unknown; context?: Record<string, unknown> };
  definition?: string;
}

/** A websocket client of the inspector server (as the browser bridge is): collects what it relays. */
async function listen(url: string, until: (received: Received[]) => boolean): Promise<{ received: Received[]; raw: string }> {
  const socket = new WebSocket(url);
  const received: Received[] = [];
  let raw = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`timed out with ${received.length} records: ${raw.slice(0, 500)}`));
    }, 10_000);
    socket.onmessage = (message) => {
      raw += String(message.data);
      received.push(JSON.parse(String(message.data)) as Received);
      if (until(received)) {
        clearTimeout(timer);
        socket.close();
        resolve({ received, raw });
      }
    };
    socket.onerror = () => reject(new Error('websocket failed'));
  });
}

async function conversation(runtime: Runtime, conversationId: string, text: string) {
  await runtime.apply({
    conversationId,
    event: { type: 'sms.received', text, messageId: `${conversationId}-1`, at: new Date().toISOString() },
    idempotencyKey: `${conversationId}-1`,
    actor: 'service:sms-agent',
    create: { conversationId, tenantId: 'tenant-1', phone: '+15557654321' },
    ifNotAccepted: 'record',
  });
  await runtime.apply({
    conversationId,
    event: { type: 'staff.escalate', by: 'm-1', reason: 'called from +15557654321', escalationType: 'manual' },
    idempotencyKey: `${conversationId}-2`,
    actor: 'manager:m-1',
    ifNotAccepted: 'reject',
  });
}

describe('Stately inspector', () => {
  let inspector: ConversationInspector;
  afterAll(() => inspector?.close());

  it('when INSPECT is on, then a websocket client of the inspector receives one conversation\'s actor, events and snapshots, without its number or words', async () => {
    inspector = createConversationInspector({ machine: conversationMachine, db: testDb.db, port: await freePort() });
    const runtime = createRuntime({ db: testDb.db, machine: conversationMachine, actions: actionRouting, onCommitted: (t) => inspector.mirror(t) });
    await conversation(runtime, 'c-inspect', 'my card ends 4242, please stop');
    await inspector.flush();

    const mine = (received: Received[]) => received.filter((r) => r.sessionId === 'conversation:c-inspect');
    const { received, raw } = await listen(inspector.url, (all) => mine(all).filter((r) => r.type === '@xstate.snapshot').at(-1)?.snapshot?.value === 'escalated');
    const records = mine(received);
    expect(records[0]).toMatchObject({ type: '@xstate.actor' });
    expect(JSON.parse(records[0].definition!)).toMatchObject({ id: conversationMachine.id, initial: 'idle' });
    expect(records.filter((r) => r.type === '@xstate.event').map((r) => r.event!.type)).toEqual(['xstate.init', 'sms.received', 'staff.escalate']);
    expect(records.filter((r) => r.type === '@xstate.snapshot').map((r) => r.snapshot!.value)).toEqual(['idle', 'drafting', 'escalated']);
    expect(records.at(-1)!.snapshot!.context).toMatchObject({ conversationId: 'c-inspect', phone: '[redacted]' });
    expect(raw).not.toContain('5557654321');
    expect(raw).not.toContain('4242');
  });

  it('when the context holds texts and numbers, then the sanitiser redacts them at any depth and keeps the rest', () => {
    expect(
      sanitizeContext({ phone: '+1555', unanswered: [{ text: 'hi', messageId: 'm1' }], draft: { text: 'x', confidence: 0.9 }, lastSent: null, sentCount: 2 }),
    ).toEqual({ phone: '[redacted]', unanswered: [{ text: '[redacted]', messageId: 'm1' }], draft: { text: '[redacted]', confidence: 0.9 }, lastSent: null, sentCount: 2 });
  });
});

import { describe, expect, it } from '@jest/globals';
import { createMachine, getInitialMicrosteps, getMicrosteps, type AnyEventObject, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { exportDefinition, PLACEHOLDER_INPUT } from '../../machines/conversation/conversation.definition.js';
import { conversationMachine } from '../../machines/conversation/conversation.machine.js';
import { makeDraft } from '../helpers/fixtures.js';

const input = { conversationId: 'c-1', tenantId: 't-1', phone: '+15550001111' };
const { definition, inline } = exportDefinition(conversationMachine, PLACEHOLDER_INPUT);

/** The exported JSON, read back as Stately Studio would, with the original's implementations. */
function roundTripped(): AnyStateMachine {
  const impl = (conversationMachine as unknown as { implementations: Record<string, Record<string, unknown>> }).implementations;
  return createMachine(JSON.parse(JSON.stringify(definition)), {
    actions: { ...impl.actions, ...inline.actions },
    guards: { ...impl.guards, ...inline.guards },
    actors: impl.actors,
    delays: impl.delays,
  } as never);
}

/** Drives a machine through events with XState's pure transition, as the runtime does; returns the state paths. */
function walk(machine: AnyStateMachine, events: AnyEventObject[]) {
  let snapshot = getInitialMicrosteps(machine, input).at(-1)![0] as AnyMachineSnapshot;
  const path = [JSON.stringify(snapshot.value)];
  const actions: string[] = [];
  for (const event of events) {
    const steps = getMicrosteps(machine, snapshot, event);
    snapshot = steps.at(-1)![0] as AnyMachineSnapshot;
    path.push(JSON.stringify(snapshot.value));
    // What the runtime turns into work: named actions, invokes, timers (inline assigns change the context, compared below).
    for (const [, stepActions] of steps) {
      for (const a of stepActions as Array<{ type: string; params?: any }>) {
        if (a.type.startsWith('xstate.assign')) continue;
        actions.push(a.type === 'xstate.raise' || a.type === 'xstate.cancel' || a.type === 'xstate.spawnChild' ? `${a.type}:${a.params?.id ?? a.params?.sendId}` : a.type);
      }
    }
  }
  return { path, snapshot, actions };
}

describe('the exported machine definition', () => {
  it('when read back with createMachine alone, then it has an initial state and takes the first step', () => {
    const machine = createMachine(JSON.parse(JSON.stringify(definition)));
    expect(machine.getInitialSnapshot(null as never).value).toBe('idle');
    expect(JSON.stringify(definition)).not.toContain('5550001111');
    expect(definition).toMatchObject({ id: 'conversation', initial: 'idle' });
    expect(definition.states!.negotiating).toMatchObject({ initial: 'awaitingConfirmation' });
  });

  it('when read back with the implementations, then it takes the machine\'s own paths: auto-send, review, quiet hours, escalation, failure, opt-out and payment', () => {
    const sms = (text: string) => ({ type: 'sms.received', text, messageId: text, at: '2026-11-25T12:00:00Z' });
    const scenarios: AnyEventObject[][] = [
      [sms('hi'), { type: 'xstate.done.actor.drafter', output: makeDraft({ confidence: 0.99 }) }, { type: 'xstate.done.actor.sender', output: { smsId: 's1' } }, { type: 'staff.close', by: 'm' }],
      [sms('hi'), { type: 'xstate.done.actor.drafter', output: makeDraft({ confidence: 0.7 }) }, { type: 'review.modified', approvalId: 'draft-1', managerId: 'm', text: 'Edited. Reply STOP to opt out.' }, { type: 'xstate.done.actor.sender', output: { deferredUntil: '2026-11-26T13:00:00Z', reason: 'quiet_hours' } }],
      [sms('lawyer'), { type: 'xstate.done.actor.drafter', output: makeDraft({ intents: ['attorney'], confidence: 0.95 }) }, { type: 'staff.resume', by: 'm' }],
      [sms('hi'), { type: 'xstate.error.actor.drafter', error: new Error('down') }],
      [sms('STOP'), { type: 'xstate.done.actor.drafter', output: makeDraft({ intents: ['opt_out'], confidence: 0.99 }) }],
      [sms('hi'), { type: 'payment.received', amountCents: 100, paidInFull: true }],
    ];
    const copy = roundTripped();
    for (const events of scenarios) {
      const original = walk(conversationMachine, events);
      const exported = walk(copy, events);
      expect(exported.path).toEqual(original.path);
      expect(original.actions.length).toBeGreaterThan(0);
      expect(exported.actions).toEqual(original.actions);
      // The JSON's context is a placeholder conversation's: everything but the input fields must match.
      const { conversationId: _a, tenantId: _b, phone: _c, ...rest } = original.snapshot.context;
      expect(exported.snapshot.context).toEqual({ ...rest, conversationId: 'conversation-id', tenantId: 'tenant-id', phone: '' });
      expect(exported.snapshot.status).toBe(original.snapshot.status);
    }
  });
});

describe('docs/machine.definition.json and docs/machine.mmd', () => {
  it('when the machine changes, then the exported files must be regenerated', async () => {
    const { readFileSync } = await import('node:fs');
    const { exportFiles } = await import('../../scripts/machine-export.js');
    for (const [file, text] of Object.entries(exportFiles())) {
      if (readFileSync(file, 'utf8') !== text) throw new Error(`${file} is out of date with the machine: run \`npm run machine:export\` and commit the result`);
    }
  });
});

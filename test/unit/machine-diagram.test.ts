import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { conversationMachine } from '../../machines/conversation/conversation.machine.js';
import { MACHINE_DOC, toMermaid } from '../../scripts/machine-diagram.js';

describe('docs/machine.md', () => {
  it('when the machine changes, then docs/machine.md must be regenerated', () => {
    const doc = readFileSync(MACHINE_DOC, 'utf8');
    const diagram = toMermaid(conversationMachine);
    // A plain boolean keeps the failure message short and tells what to do.
    const inSync = doc.includes(`\`\`\`mermaid\n${diagram}\`\`\``);
    if (!inSync) {
      throw new Error('docs/machine.md is out of date with the machine: run `npm run diagram` and commit the result');
    }
    expect(inSync).toBe(true);
  });

  it('when the diagram is generated, then it is deterministic and shows every state, the start and the final states', () => {
    const diagram = toMermaid(conversationMachine);
    expect(toMermaid(conversationMachine)).toBe(diagram);
    expect(diagram.startsWith('stateDiagram-v2\n')).toBe(true);
    for (const state of Object.keys(conversationMachine.root.states)) expect(diagram).toMatch(new RegExp(`^  (${state}|state ${state} \\{)$`, 'm'));
    // A child state is drawn inside its parent's box, under its own name, with the parent's start arrow.
    expect(diagram).toContain('  state negotiating {\n    state "awaitingConfirmation" as negotiating_awaitingConfirmation\n');
    expect(diagram).toContain('    [*] --> negotiating_awaitingConfirmation\n');
    expect(diagram).toContain('  sent --> negotiating_awaitingConfirmation : always [hasOfferedPlan]\n');
    expect(diagram).toContain('  planAgreed --> negotiating_missedPayment : timer.plan_deadline [else]\n');
    expect(diagram).toContain('  [*] --> idle\n');
    expect(diagram).toContain('  optedOut --> [*]\n');
    expect(diagram).toContain('  closed --> [*]\n');
    expect(diagram).toContain('  drafting --> failed : drafter error\n');
    expect(diagram).toContain('  sending_handingOff --> sent : sender done [else]\n');
    expect(diagram).toContain('  sending_handingOff --> sending_waitingForWindow : sender done [isDeferred]\n');
    expect(diagram).toContain('  sent --> awaitingReply : always [else]\n');
    // Targetless transitions (an SMS kept while sending, the first SLA lapse) are not edges.
    expect(diagram).not.toMatch(/sending --> sending|escalated --> escalated|pendingApproval --> pendingApproval/);
  });
});

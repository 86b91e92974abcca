import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { getMicrosteps, initialTransition, transition, type AnyEventObject, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from '@xstate/graph';
import { conversationSetup } from '../../machines/conversation/conversation.setup.js';
import {
  APPROVAL_SLA_TIMER,
  NO_REPLY_TIMER,
  conversationMachine,
  createRoutingGuards,
  type ConversationMachine,
} from '../../machines/conversation/conversation.machine.js';
import { HUMAN_ONLY_INTENTS, type Draft, type Intent } from '../../machines/conversation/conversation.types.js';
import { allowedEvents, statePath } from '../../src/runtime/machine-snapshot.js';
import { makeDraft, makePlan, makeScheduledPlan, offerOf } from '../helpers/fixtures.js';

/**
 * The machine alone: no database, no workers. XState's pure `transition` / `getMicrosteps` are exactly what
 * the runtime (src/runtime/apply-event.ts) calls, so what holds here holds for every stored conversation.
 */

type Snapshot = SnapshotFrom<ConversationMachine>;
type Action = { type: string; params?: any };

const INPUT = { conversationId: 'conv-1', tenantId: 'tenant-1', phone: '+15550001111' };
const AT = '2026-01-01T12:00:00.000Z';
const HOUR = 3_600_000;

const draft = makeDraft;

const sms = (text = 'hello', messageId = 'msg-1') => ({ type: 'sms.received', text, messageId, at: AT });
const drafted = (output: Draft) => ({ type: 'xstate.done.actor.drafter', output });
const draftFailed = () => ({ type: 'xstate.error.actor.drafter', error: { code: 'collections_monitor_unavailable', message: 'down' } });
const sent = (smsId = 'sms-1') => ({ type: 'xstate.done.actor.sender', output: { smsId } });
const sendFailed = () => ({ type: 'xstate.error.actor.sender', error: { code: 'sms_agent_unavailable', message: 'down' } });
const approved = (approvalId = 'draft-1') => ({ type: 'review.approved', approvalId, managerId: 'alice' });
const modified = (approvalId = 'draft-1') => ({ type: 'review.modified', approvalId, managerId: 'alice', text: 'edited' });
const reviewEscalated = (approvalId = 'draft-1') => ({ type: 'review.escalated', approvalId, managerId: 'alice' });

function start(machine: ConversationMachine = conversationMachine): Snapshot {
  return initialTransition(machine, INPUT)[0];
}

/** One event through XState's pure transition: the next snapshot and the actions it asks for (none run). */
function step(snapshot: Snapshot, event: AnyEventObject, machine: ConversationMachine = conversationMachine) {
  const [next, actions] = transition(machine, snapshot, event as never);
  return { snapshot: next, actions: actions as unknown as Action[] };
}

function run(events: AnyEventObject[], machine: ConversationMachine = conversationMachine, from: Snapshot = start(machine)): Snapshot {
  return events.reduce((snapshot, event) => step(snapshot, event, machine).snapshot, from);
}

const PLAN = makePlan();

const types = (actions: Action[]) => actions.map((action) => action.type);
const inPendingApproval = (machine?: ConversationMachine) => run([sms(), drafted(draft())], machine);
const inSending = () => run([sms(), drafted(draft({ confidence: 0.95 }))]);
const inAwaitingReply = () => run([sms(), drafted(draft({ confidence: 0.95 })), sent()]);

describe('conversation machine: reachability (xstate/graph)', () => {
  // One sample of every event the machine takes; one draft per route (they share an id, the approval id).
  const SAMPLE_EVENTS = [
    sms(),
    sms('STOP', 'msg-stop'),
    drafted(draft({ intents: ['opt_out'], confidence: 0.95 })),
    drafted(draft({ intents: ['dispute'], confidence: 0.9 })),
    drafted(draft({ confidence: 0.3 })),
    drafted(draft({ confidence: 0.95 })),
    drafted(draft({ confidence: 0.7 })),
    drafted(draft({ intents: ['payment_plan'], confidence: 0.9, negotiation: offerOf() })),
    drafted(draft({ intents: ['payment_plan'], confidence: 0.7, negotiation: offerOf(makePlan(), 'needs_approval') })),
    drafted(draft({ intents: ['plan_accepted'], confidence: 0.95, negotiation: { kind: 'agree', plan: makeScheduledPlan() } })),
    drafted(draft({ intents: ['payment_plan'], confidence: 0.7, negotiation: { kind: 'unrealistic', reasons: ['below_min_weekly'] } })),
    draftFailed(),
    approved(),
    modified(),
    reviewEscalated(),
    { type: 'review.rejected', approvalId: 'draft-1', managerId: 'alice' },
    sent(),
    { type: 'xstate.done.actor.sender', output: { deferredUntil: '2026-01-02T14:00:00.000Z', reason: 'outside_window' } },
    sendFailed(),
    { type: 'timer.send_window' },
    { type: 'timer.no_reply' },
    { type: 'timer.approval_sla' },
    { type: 'timer.plan_reminder' },
    { type: 'timer.plan_deadline' },
    { type: 'staff.escalate', by: 'alice', reason: 'called in' },
    { type: 'staff.resume', by: 'alice' },
    { type: 'staff.close', by: 'alice' },
    { type: 'payment.received', amountCents: 20_000, paidInFull: false },
    { type: 'payment.received', amountCents: 75_000, paidInFull: false },
    { type: 'payment.received', amountCents: 5_000, paidInFull: true },
    { type: 'retry', by: 'alice' },
    drafted(draft({ intents: ['other'], confidence: 0.9, identity: 'ask' })),
    drafted(draft({ intents: ['other'], confidence: 0.9, identity: 'claimed' })),
    { type: 'identity.verified', by: 'alice' },
    { type: 'identity.rejected', by: 'alice' },
    { type: 'debt.verified', by: 'alice' },
  ];

  const paths = getShortestPaths(conversationMachine, {
    input: INPUT,
    events: SAMPLE_EVENTS as never,
    // Context grows with every inbound SMS: keep only what changes the machine's options, so the graph is finite.
    serializeState: (snapshot) => {
      const { context } = snapshot as Snapshot;
      const plan = context.plan && [context.plan.status, context.plan.missed > 0, context.plan.schedule.map((i) => i.status).join()];
      const offers = [context.offeredPlan !== null, (context.outgoing?.offer ?? null) !== null];
      // The two flags guards read (isDisputed, awaitsIdentity); the other identity fields only feed the drafter.
      const checks = [context.disputed, context.identityClaimed];
      return JSON.stringify([snapshot.value, context.unanswered.count > 0, context.slaLapses, context.failure?.step ?? null, offers, plan, checks]);
    },
    // XState's pure transition still answers root-level events on a done snapshot; the runtime never asks it to.
    stopWhen: (snapshot) => snapshot.status === 'done',
  });

  /**
   * Every state node a path passes through (compound and transient ones included), and every transition
   * taken when each sample event is tried in each reachable state (the graph's edges, not only the paths').
   */
  let covered: { nodes: Set<string>; transitions: Set<string> } | undefined;
  function coverage() {
    if (covered) return covered;
    const nodes = new Set<string>();
    const transitions = new Set<string>();
    for (const path of paths) {
      let previous: Snapshot | undefined;
      for (const { event, state } of path.steps) {
        if (previous) {
          for (const [micro] of getMicrosteps(conversationMachine, previous, event as never)) {
            for (const node of micro._nodes) nodes.add(node.id);
          }
        }
        for (const node of (state as Snapshot)._nodes) nodes.add(node.id);
        previous = state as Snapshot;
      }
      const reached = path.state as Snapshot;
      if (reached.status === 'done') continue;
      for (const event of SAMPLE_EVENTS) {
        for (const t of conversationMachine.getTransitionData(reached, event as never) ?? []) {
          if (t.target) transitions.add(`${t.source.id} ${t.eventType} ${t.target.map((x) => x.id).join(',')}`);
        }
      }
    }
    covered = { nodes, transitions };
    return covered;
  }

  const allNodes = (node: typeof conversationMachine.root): string[] =>
    Object.values(node.states).flatMap((child) => [child.id, ...allNodes(child as typeof node)]);

  it('when every sample event is tried from the start, then every state node is reached, nested ones included', () => {
    const { nodes } = coverage();
    const all = allNodes(conversationMachine.root);
    expect(all.filter((id) => !nodes.has(id))).toEqual([]);
    expect(all).toEqual(expect.arrayContaining(['conversation.negotiating.awaitingConfirmation', 'conversation.negotiating.missedPayment', 'conversation.planAgreed']));
    // Reported, so a reader of the test output sees how much of the machine the paths exercise.
    console.info(`xstate/graph: ${paths.length} shortest paths reach ${nodes.size}/${all.length + 1} state nodes`);
  });

  it('when every sample event is tried from the start, then every transition that moves is taken at least once', () => {
    const { transitions } = coverage();
    const defined = [conversationMachine.root, ...allNodes(conversationMachine.root).map((id) => conversationMachine.getStateNodeById(id))]
      .flatMap((node) => [...node.transitions.values()].flat())
      .filter((t) => t.target)
      .map((t) => `${t.source.id} ${t.eventType} ${t.target!.map((x) => x.id).join(',')}`);
    const untaken = [...new Set(defined)].filter((key) => !transitions.has(key) && !key.startsWith('conversation '));
    expect(untaken).toEqual([]);
    console.info(`xstate/graph: ${transitions.size} distinct transitions taken of ${new Set(defined).size} defined (root-level ones are taken from the states below it)`);
  });

  it('when only the debtor, the drafter and the SMS Agent act, then the shortest way to awaitingReply is one auto-sent reply', () => {
    const [path, ...others] = getShortestPaths(conversationMachine, {
      input: INPUT,
      events: [sms(), drafted(draft({ confidence: 0.95 })), sent()] as never,
      serializeState: (snapshot) => JSON.stringify(snapshot.value),
      toState: (snapshot) => snapshot.value === 'awaitingReply',
    });
    expect(others).toEqual([]);
    expect(path.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'sms.received', 'xstate.done.actor.drafter', 'xstate.done.actor.sender']);
  });

  it('when staff escalate a new conversation and resume it, then it awaits a reply although nothing was sent', () => {
    // The shortest way to awaitingReply over all events: a consequence of the root-level staff.escalate.
    const toAwaiting = paths.find((path) => path.state.value === 'awaitingReply');
    expect(toAwaiting?.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'staff.escalate', 'staff.resume']);
  });

  it('when every reachable state is checked against the liveness rule, then none is a dead end', () => {
    const { checked, states, deadEnds } = checkLiveness(conversationMachine, paths);
    expect(deadEnds).toEqual([]);
    console.info(`liveness: ${states} reachable states on ${paths.length} shortest paths (${checked} path steps) checked, ${deadEnds.length} dead ends`);
  });

  it('when a transition leaves the debtor unanswered with no task and no timer, then the liveness check finds the dead end', () => {
    // A deliberately broken machine: staff.resume parks the conversation in a state that owes nobody anything.
    const config = conversationMachine.config as any;
    const broken = conversationSetup.createMachine({
      ...config,
      states: {
        ...config.states,
        parked: {},
        escalated: { ...config.states.escalated, on: { ...config.states.escalated.on, 'staff.resume': { target: 'parked' } } },
      },
    }) as unknown as ConversationMachine;
    const brokenPaths = getShortestPaths(broken, {
      input: INPUT,
      events: [sms(), drafted(draft({ intents: ['dispute'], confidence: 0.9 })), drafted(draft({ confidence: 0.3 })), { type: 'staff.resume', by: 'alice' }] as never,
      serializeState: (snapshot) => JSON.stringify([snapshot.value, (snapshot as Snapshot).context.unanswered.count > 0]),
    });
    const { deadEnds } = checkLiveness(broken, brokenPaths);
    expect(deadEnds.map((dead) => dead.state)).toContain('parked');
    expect(deadEnds.find((dead) => dead.state === 'parked')?.events).toEqual(['xstate.init', 'sms.received', 'xstate.done.actor.drafter', 'staff.resume']);
  });
});

/**
 * The liveness rule (docs/machine.md): in every reachable state, at least one holds. The debtor has had an
 * answer to their last message (nothing unanswered); a person has a task for it (an active state opened an
 * approval or an escalation, or notified staff of a failure); durable work will move it on (a delayed event
 * raised on entry, or an invoked job: the drafter, the sender). A final state is ended by a person, or by a
 * text of ours (the opt-out confirmation, the settlement, the wrong-number text). Read from the machine's
 * own state nodes and the actions of the transition that entered the state, so a new state or transition
 * is checked without naming it here.
 */
const TASK_ACTIONS = new Set(['openApproval', 'openEscalation', 'notifyStaff']);
const TEXT_ACTIONS = new Set(['acknowledge', 'sendOptOutConfirmation']);
const PERSON_EVENTS = new Set(['staff.close', 'identity.rejected']);
const actionType = (action: unknown) => (action as { type?: string }).type;

function livenessClause(snapshot: Snapshot, entering: Action[]): string | null {
  const nodes = snapshot._nodes;
  if (snapshot.status === 'done') {
    const entry = nodes.flatMap((node) => node.entry.map(actionType));
    return [...entering.map((a) => a.type), ...entry].some((type) => type && TEXT_ACTIONS.has(type)) ? 'ended with a text' : null;
  }
  if (snapshot.context.unanswered.count === 0) return 'answered';
  if (nodes.some((node) => node.entry.some((action) => TASK_ACTIONS.has(actionType(action) ?? '')))) return 'a person has a task';
  const timer = (action: unknown) => actionType(action) === 'xstate.raise' && (action as { delay?: unknown }).delay !== undefined;
  if (nodes.some((node) => node.invoke.length > 0 || node.entry.some(timer))) return 'durable work moves it on';
  return null;
}

/** Every state of every path (each path ends in a distinct reachable state, as the graph tells them apart). */
function checkLiveness(machine: ConversationMachine, graphPaths: ReturnType<typeof getShortestPaths>) {
  const deadEnds: Array<{ state: string; events: string[] }> = [];
  let checked = 0;
  for (const path of graphPaths) {
    let previous: Snapshot | undefined;
    for (const [index, { event, state }] of path.steps.entries()) {
      const snapshot = state as Snapshot;
      checked += 1;
      const final = snapshot.status === 'done';
      // Only a final state reads the transition that entered it (re-stepped here: paths keep snapshots, not actions).
      const entering = final && previous ? step(previous, event as AnyEventObject, machine).actions : [];
      const clause = final && PERSON_EVENTS.has(event.type) ? 'ended by a person' : livenessClause(snapshot, entering);
      if (clause === null && !deadEnds.some((dead) => dead.state === statePath(snapshot.value))) {
        deadEnds.push({ state: statePath(snapshot.value), events: path.steps.slice(0, index + 1).map((s) => s.event.type) });
      }
      previous = snapshot;
    }
  }
  return { checked, states: graphPaths.length, deadEnds };
}

describe('conversation machine: routing of a fresh draft', () => {
  const routeOf = (output: Draft, machine: ConversationMachine = conversationMachine) => {
    const snapshot = run([sms(), drafted(output)], machine);
    return { state: statePath(snapshot.value), escalation: snapshot.context.escalation };
  };

  it.each([0.99, 0.7, 0.1])('when the debtor opts out (confidence %s), then opt-out wins over confidence and every other intent', (confidence) => {
    expect(routeOf(draft({ intents: ['opt_out'], confidence })).state).toBe('optedOut');
    expect(routeOf(draft({ intents: ['payment_plan', 'dispute', 'opt_out'], confidence, reviewReason: 'compliance:too_long' })).state).toBe(
      'optedOut',
    );
  });

  const humanOnly: Intent[] = [
    'cease',
    'attorney',
    'bankruptcy',
    'dispute',
    'hostile',
    'threat_to_sue',
    'regulator_complaint',
    'supervisor_request',
    'harassment_claim',
  ];
  it('when the human-only intents are listed, then they are exactly the legal ones, the hostile and the request for a supervisor', () => {
    expect([...HUMAN_ONLY_INTENTS].sort()).toEqual([...humanOnly].sort());
  });

  it.each(humanOnly.flatMap((intent) => [0.99, 0.7, 0.1].map((confidence) => [intent, confidence] as const)))(
    'when the intent is %s (confidence %s), then the conversation is escalated with that reason',
    (intent, confidence) => {
      expect(routeOf(draft({ intents: ['question', intent], confidence }))).toEqual({ state: 'escalated', escalation: { reason: intent, note: null } });
    },
  );

  it.each([0.99, 0.7, 0])('when the draft carries a reviewReason (confidence %s), then it waits for a manager', (confidence) => {
    expect(routeOf(draft({ confidence, reviewReason: 'malformed_answer' })).state).toBe('pendingApproval');
  });

  it.each([
    [0.99, 'sending.handingOff'],
    [0.851, 'sending.handingOff'],
    [0.85, 'pendingApproval'],
    [0.7, 'pendingApproval'],
    [0.6, 'pendingApproval'],
    [0.5999, 'escalated'],
    [0, 'escalated'],
  ])('when the default thresholds apply and confidence is %s, then the draft goes to %s', (confidence, state) => {
    const route = routeOf(draft({ confidence }));
    expect(route.state).toBe(state);
    if (state === 'escalated') expect(route.escalation).toEqual({ reason: 'low_confidence', note: null });
  });

  it.each([
    [0.96, 'sending.handingOff'],
    [0.95, 'pendingApproval'],
    [0.3, 'pendingApproval'],
    [0.29, 'escalated'],
  ])('when the thresholds are configured to 0.95/0.30 and confidence is %s, then the draft goes to %s', (confidence, state) => {
    const machine = conversationMachine.provide({ guards: createRoutingGuards({ autoSendAbove: 0.95, reviewAtLeast: 0.3 }) }) as ConversationMachine;
    expect(routeOf(draft({ confidence }), machine).state).toBe(state);
  });

  it('when a draft is auto-sent, then the sender is invoked with its text and language and nothing is queued for approval', () => {
    const { snapshot, actions } = step(run([sms()]), drafted(draft({ confidence: 0.95, language: 'es', text: 'Hola' })));
    expect(snapshot.value).toEqual({ sending: 'handingOff' });
    expect(snapshot.context.outgoing).toEqual({ text: 'Hola', decidedBy: 'auto', approvalId: null, key: 'draft-1', offer: null, inReplyTo: AT });
    const spawn = actions.find((action) => action.type === 'xstate.spawnChild');
    expect(spawn?.params).toMatchObject({ id: 'sender', src: 'sendSms', input: { conversationId: 'conv-1', text: 'Hola', language: 'es' } });
    expect(types(actions)).not.toContain('openApproval');
  });

  it('when a draft needs approval, then an approval is opened under the draft id and managers are notified', () => {
    const { snapshot, actions } = step(run([sms()]), drafted(draft({ id: 'draft-9', confidence: 0.7 })));
    expect(snapshot.context.approvalId).toBe('draft-9');
    expect(actions.find((a) => a.type === 'openApproval')?.params).toMatchObject({ approvalId: 'draft-9' });
    expect(actions.find((a) => a.type === 'notifyManagers')?.params).toEqual({ approvalId: 'draft-9', confidence: 0.7, reminder: false });
  });
});

describe('conversation machine: manager review', () => {
  it('when a review names the current approval, then it is accepted; with a stale approval id, it is not', () => {
    const pending = inPendingApproval();
    for (const event of [approved(), modified(), reviewEscalated()]) expect(pending.can(event as never)).toBe(true);
    for (const event of [approved('draft-0'), modified('draft-0'), reviewEscalated('draft-0')]) expect(pending.can(event as never)).toBe(false);
  });

  it('when the debtor writes while a draft waits, then that draft is superseded and its approval id goes stale', () => {
    const pending = inPendingApproval();
    const { snapshot: redrafting, actions } = step(pending, sms('one more thing', 'msg-2'));
    expect(redrafting.value).toBe('drafting');
    expect(redrafting.context.unanswered).toEqual({ count: 2, latestAt: AT });
    expect(actions.find((a) => a.type === 'closeApproval')?.params).toMatchObject({ approvalId: 'draft-1', status: 'superseded' });
    const second = step(redrafting, drafted(draft({ id: 'draft-2' }))).snapshot;
    expect(second.value).toBe('pendingApproval');
    expect(second.can(approved('draft-1') as never)).toBe(false);
    expect(second.can(approved('draft-2') as never)).toBe(true);
  });

  it('when a manager approves or modifies, then the chosen text goes to the sender, decided by the manager', () => {
    const approvedStep = step(inPendingApproval(), approved());
    expect(approvedStep.snapshot.value).toEqual({ sending: 'handingOff' });
    expect(approvedStep.snapshot.context.outgoing).toEqual({ text: draft().text, decidedBy: 'manager', approvalId: 'draft-1', key: 'draft-1', offer: null, inReplyTo: AT });
    expect(approvedStep.actions.find((a) => a.type === 'closeApproval')?.params).toMatchObject({ status: 'approved', reviewer: 'alice' });

    const modifiedStep = step(inPendingApproval(), modified());
    expect(modifiedStep.snapshot.context.outgoing?.text).toBe('edited');
    expect(modifiedStep.actions.find((a) => a.type === 'closeApproval')?.params).toMatchObject({ status: 'modified', finalText: 'edited' });
  });

  it('when the SLA runs out, then managers are reminded once, then a person takes over, and nothing is ever sent', () => {
    const first = step(inPendingApproval(), { type: 'timer.approval_sla' });
    expect(first.snapshot.value).toBe('pendingApproval');
    expect(first.snapshot.context.slaLapses).toBe(1);
    expect(first.actions.find((a) => a.type === 'notifyManagers')?.params).toMatchObject({ reminder: true });
    expect(first.actions.find((a) => a.type === 'xstate.raise')?.params).toMatchObject({ id: APPROVAL_SLA_TIMER, delay: 4 * HOUR });

    const second = step(first.snapshot, { type: 'timer.approval_sla' });
    expect(second.snapshot.value).toBe('escalated');
    expect(second.snapshot.context.escalation).toEqual({ reason: 'approval_sla', note: null });
    expect(second.actions.find((a) => a.type === 'closeApproval')?.params).toMatchObject({ status: 'expired', reviewer: null });

    for (const { snapshot, actions } of [first, second]) {
      expect(snapshot.context.outgoing).toBeNull();
      expect(actions.filter((a) => a.type === 'xstate.spawnChild')).toEqual([]);
    }
  });
});

describe('conversation machine: inbound messages', () => {
  it('when an SMS arrives while sending, then the send goes on and the message is kept; after sent, the machine drafts again', () => {
    const sending = step(inSending(), sms('wait', 'msg-2'));
    expect(sending.snapshot.value).toEqual({ sending: 'handingOff' });
    expect(sending.snapshot.context.unanswered).toEqual({ count: 1, latestAt: AT });
    expect(types(sending.actions)).not.toContain('xstate.stopChild');

    const steps = getMicrosteps(conversationMachine, sending.snapshot, sent('sms-9') as never);
    expect(steps.map(([snapshot]) => snapshot.value)).toEqual(['sent', 'drafting']);
    const [after, actions] = steps.at(-1)!;
    expect(after.context.lastSent).toEqual({ smsId: 'sms-9', text: draft().text });
    expect(after.context.sentCount).toBe(1);
    const spawn = (actions as unknown as Action[]).find((a) => a.type === 'xstate.spawnChild');
    expect(spawn?.params.input.unansweredCount).toBe(1);
  });

  it('when the text is sent and nothing new came in, then the machine awaits a reply', () => {
    const steps = getMicrosteps(conversationMachine, inSending(), sent() as never);
    expect(steps.map(([snapshot]) => snapshot.value)).toEqual(['sent', 'awaitingReply']);
    expect(steps.at(-1)![0].context.unanswered).toEqual({ count: 0, latestAt: null });
  });

  it('when an SMS arrives in escalated, then it is kept, staff are told, and the state does not move', () => {
    const escalated = run([sms(), drafted(draft({ intents: ['attorney'] }))]);
    const { snapshot, actions } = step(escalated, sms('hello?', 'msg-2'));
    expect(snapshot.value).toBe('escalated');
    expect(snapshot.context.unanswered.count).toBe(2);
    expect(actions.find((a) => a.type === 'notifyStaff')?.params).toEqual({ kind: 'inbound_while_escalated', reason: 'debtor wrote' });
    expect(step(snapshot, { type: 'staff.resume', by: 'alice' }).snapshot.value).toBe('drafting');
  });

  it('when the debtor opts out, then one confirmation is asked for and the conversation is final', () => {
    const { snapshot, actions } = step(run([sms('STOP')]), drafted(draft({ intents: ['opt_out'], language: 'es' })));
    expect(snapshot.value).toBe('optedOut');
    expect(actions.filter((a) => a.type === 'sendOptOutConfirmation').map((a) => a.params)).toEqual([{ phone: INPUT.phone, language: 'es' }]);
  });
});

describe('conversation machine: bounded context', () => {
  it('whatever the debtor sends, in any state a message can reach, then the context keeps a count and the newest time, never the words', () => {
    const states = [start(), inPendingApproval(), inSending(), inAwaitingReply(), run([sms(), drafted(draft({ intents: ['attorney'] }))])];
    fc.assert(
      fc.property(
        fc.constantFrom(...states.keys()),
        fc.array(fc.record({ text: fc.string({ minLength: 1, maxLength: 2_000, unit: 'grapheme' }), ms: fc.integer({ min: 0, max: 1e9 }) }), { minLength: 1, maxLength: 60 }),
        (which, messages) => {
          const before = states[which]!;
          let snapshot = before;
          messages.forEach(({ text, ms }, index) => {
            snapshot = step(snapshot, { type: 'sms.received', text, messageId: `m-${index}`, at: new Date(ms).toISOString() }).snapshot;
          });
          const { unanswered } = snapshot.context;
          expect(unanswered.latestAt).toBe(new Date(messages.at(-1)!.ms).toISOString());
          expect(unanswered.count).toBeGreaterThan(0);
          const stored = JSON.stringify(snapshot.context);
          for (const { text } of messages) if (text.length > 40) expect(stored).not.toContain(text);
          // The same size as before, give or take the count's digits and the timestamp.
          expect(stored.length - JSON.stringify(before.context).length).toBeLessThan(40);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('conversation machine: review findings (sends that must not happen, messages that must not be lost)', () => {
  it('when the debtor sends STOP while a text is on its way, then the send is stopped and the machine drafts again', () => {
    const { snapshot, actions } = step(inSending(), sms('STOP', 'msg-stop'));
    expect(snapshot.value).toBe('drafting');
    expect(Object.keys(snapshot.children)).not.toContain('sender');
    expect(types(actions)).toContain('xstate.spawnChild');
    expect(step(inSending(), sms('ok thanks', 'msg-2')).snapshot.value).toEqual({ sending: 'handingOff' });
  });

  it('when the debtor asks in words to stop texting while a text is on its way, then the send is stopped too', () => {
    expect(step(inSending(), sms('please take me off your list', 'msg-stop')).snapshot.value).toBe('drafting');
    expect(step(inSending(), sms('no me manden más mensajes', 'msg-stop')).snapshot.value).toBe('drafting');
    expect(step(inSending(), sms("don't stop my plan", 'msg-2')).snapshot.value).toEqual({ sending: 'handingOff' });
  });

  it('when a message arrives during a send that fails, then after retry and sent it still gets a reply', () => {
    const failed = run([sms(), drafted(draft({ confidence: 0.95 })), sms('one more thing', 'msg-2'), sendFailed()]);
    expect(failed.value).toBe('failed');
    const retried = step(failed, { type: 'retry', by: 'alice' }).snapshot;
    expect(retried.context.unanswered.count).toBe(1);
    expect(step(retried, sent()).snapshot.value).toBe('drafting');
  });

  it('when a draft offers a plan the policy says a manager must approve, then it waits for one however confident the drafter is', () => {
    const offer = { kind: 'offer' as const, plan: PLAN, verdict: 'needs_approval' as const, counter: false, reasons: ['longer_than_auto_agree'] };
    const { snapshot } = step(run([sms()]), drafted(draft({ confidence: 0.99, intents: ['payment_plan'], negotiation: offer })));
    expect(snapshot.value).toBe('pendingApproval');
  });

  it('when a person resumes or closes an escalated conversation, then its escalation is closed with that resolution', () => {
    const escalated = step(inAwaitingReply(), { type: 'staff.escalate', by: 'alice' }).snapshot;
    expect(step(escalated, { type: 'staff.resume', by: 'alice' }).actions.find((a) => a.type === 'closeEscalation')?.params).toEqual({ resolution: 'resumed' });
    expect(step(escalated, { type: 'staff.close', by: 'alice' }).actions.find((a) => a.type === 'closeEscalation')?.params).toEqual({ resolution: 'closed' });
  });

  it('when the debtor opts out, then the number is recorded as opted out before the one confirmation', () => {
    const { actions } = step(run([sms('STOP')]), drafted(draft({ intents: ['opt_out'], confidence: 0.99 })));
    expect(types(actions).filter((type) => ['recordOptOut', 'sendOptOutConfirmation'].includes(type))).toEqual(['recordOptOut', 'sendOptOutConfirmation']);
  });
});

describe('conversation machine: final states', () => {
  const finals = {
    optedOut: () => run([sms('STOP'), drafted(draft({ intents: ['opt_out'] }))]),
    closed: () => run([sms(), { type: 'staff.close', by: 'alice' }]),
    'closed (paid in full)': () => run([sms(), { type: 'payment.received', amountCents: 10_000, paidInFull: true }]),
  };

  it.each(Object.entries(finals))('when the conversation is %s, then it is done and accepts no event', (_name, reach) => {
    const snapshot = reach();
    expect(snapshot.status).toBe('done');
    expect(allowedEvents(snapshot)).toEqual([]);
    // XState's `can` does not look at status (it would still say yes to a root-level event): the runtime checks
    // `status` itself before it transitions, which is why a done conversation only ever records an event.
    expect(snapshot.can(sms('START', 'msg-9') as never)).toBe(true);
  });

  it('when a partial payment arrives, then it is recorded in cents without a move', () => {
    const { snapshot } = step(inAwaitingReply(), { type: 'payment.received', amountCents: 2_550, paidInFull: false });
    expect(snapshot.value).toBe('awaitingReply');
    expect(snapshot.context.paidCents).toBe(2_550);
  });
});

describe('conversation machine: failures', () => {
  it('when drafting fails for good, then the conversation fails and retry drafts again', () => {
    const { snapshot, actions } = step(run([sms()]), draftFailed());
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.failure).toEqual({ step: 'drafting', message: 'down' });
    expect(actions.find((a) => a.type === 'notifyStaff')?.params).toEqual({ kind: 'failed', reason: 'drafting' });
    expect(step(snapshot, { type: 'retry', by: 'alice' }).snapshot.value).toBe('drafting');
  });

  it('when sending fails for good, then retry sends the same text again', () => {
    const failed = step(inSending(), sendFailed()).snapshot;
    expect(failed.context.failure?.step).toBe('sending');
    const retried = step(failed, { type: 'retry', by: 'alice' });
    expect(retried.snapshot.value).toEqual({ sending: 'handingOff' });
    expect(retried.actions.find((a) => a.type === 'xstate.spawnChild')?.params.input.text).toBe(draft().text);
  });

  it('when nothing has failed, then retry is not accepted', () => {
    expect(inPendingApproval().can({ type: 'retry', by: 'alice' })).toBe(false);
    expect(start().can({ type: 'retry', by: 'alice' })).toBe(false);
  });
});

describe('conversation machine: timers are actions, not in-memory clocks', () => {
  it('when awaitingReply is entered, then a delayed raise with an id asks for the no-reply timer; leaving cancels it', () => {
    const steps = getMicrosteps(conversationMachine, inSending(), sent() as never);
    const entered = steps.at(-1)![1] as unknown as Action[];
    expect(entered.find((a) => a.type === 'xstate.raise')?.params).toEqual({ event: { type: NO_REPLY_TIMER }, id: NO_REPLY_TIMER, delay: 36 * HOUR });

    const left = step(inAwaitingReply(), sms('hi again', 'msg-2'));
    expect(left.snapshot.value).toBe('drafting');
    expect(left.actions.find((a) => a.type === 'xstate.cancel')?.params).toEqual({ sendId: NO_REPLY_TIMER });
  });

  it('when no reply comes, then the timer escalates with reason no_response', () => {
    const { snapshot } = step(inAwaitingReply(), { type: 'timer.no_reply' });
    expect(snapshot.value).toBe('escalated');
    expect(snapshot.context.escalation).toEqual({ reason: 'no_response', note: null });
  });

  it('when pendingApproval is entered and left, then the SLA timer is raised with a delay and then cancelled', () => {
    const entered = step(run([sms()]), drafted(draft()));
    expect(entered.actions.find((a) => a.type === 'xstate.raise')?.params).toEqual({
      event: { type: APPROVAL_SLA_TIMER },
      id: APPROVAL_SLA_TIMER,
      delay: 4 * HOUR,
    });
    const left = step(entered.snapshot, approved());
    expect(left.actions.find((a) => a.type === 'xstate.cancel')?.params).toEqual({ sendId: APPROVAL_SLA_TIMER });
  });

  it('when delays are provided at the edge, then the raised timers carry them', () => {
    const machine = conversationMachine.provide({ delays: { noReply: 1_000, approvalSla: 2_000 } }) as ConversationMachine;
    const pending = step(run([sms()], machine), drafted(draft()), machine);
    expect(pending.actions.find((a) => a.type === 'xstate.raise')?.params.delay).toBe(2_000);
    const steps = getMicrosteps(machine, run([sms(), drafted(draft({ confidence: 0.95 }))], machine), sent() as never);
    expect((steps.at(-1)![1] as unknown as Action[]).find((a) => a.type === 'xstate.raise')?.params.delay).toBe(1_000);
  });
});

describe('conversation machine: payment plans', () => {
  const agreeDraft = () => draft({ id: 'draft-2', intents: ['plan_accepted'], confidence: 0.95, negotiation: { kind: 'agree', plan: makeScheduledPlan() } });
  const offered = () => run([sms(), drafted(draft({ intents: ['payment_plan'], confidence: 0.9, negotiation: offerOf() })), sent()]);
  const agreed = () => run([sms(), drafted(draft({ intents: ['payment_plan'], confidence: 0.9, negotiation: offerOf() })), sent(), sms('yes', 'msg-2'), drafted(agreeDraft()), sent('sms-2')]);
  const pay = (amountCents: number) => ({ type: 'payment.received', amountCents, paidInFull: false });

  it('when an offer is sent, then the conversation waits in negotiating.awaitingConfirmation with the plan it offered and a no-reply timer', () => {
    const snapshot = offered();
    expect(snapshot.value).toEqual({ negotiating: 'awaitingConfirmation' });
    expect(snapshot.context.offeredPlan).toEqual(PLAN);
    expect(allowedEvents(snapshot)).toEqual(expect.arrayContaining(['sms.received', 'payment.received', 'staff.escalate']));
  });

  it('when the debtor agrees, then the plan is recorded and announced at once, and runs once the confirmation is sent', () => {
    const before = run([sms(), drafted(draft({ intents: ['payment_plan'], confidence: 0.9, negotiation: offerOf() })), sent(), sms('yes', 'msg-2')]);
    const { snapshot, actions } = step(before, drafted(agreeDraft()));
    expect(snapshot.value).toEqual({ sending: 'handingOff' });
    expect(types(actions)).toEqual(expect.arrayContaining(['recordPlan', 'notifyStaff']));
    expect(actions.find((a) => a.type === 'recordPlan')?.params.plan).toMatchObject({ id: 'draft-2', status: 'active', totalCents: 75_000 });
    const after = step(snapshot, sent('sms-2'));
    expect(after.snapshot.value).toBe('planAgreed');
    expect(after.snapshot.context.offeredPlan).toBeNull();
    expect(after.actions.filter((a) => a.type === 'xstate.raise').map((a) => a.params.event.type)).toEqual(['timer.plan_reminder', 'timer.plan_deadline']);
  });

  it('when a payment keeps an instalment, then the timers move on to the next; paying the rest closes the conversation', () => {
    const partly = step(agreed(), pay(20_000));
    expect(partly.snapshot.value).toBe('planAgreed');
    expect(partly.snapshot.context.plan?.schedule.map((i) => i.status)).toEqual(['kept', 'due', 'due', 'due']);
    expect(types(partly.actions)).toEqual(expect.arrayContaining(['xstate.cancel', 'xstate.raise', 'recordPlanProgress']));
    const done = step(partly.snapshot, pay(55_000));
    expect(done.snapshot.value).toBe('closed');
    expect(done.snapshot.context.plan?.status).toBe('completed');
  });

  it('when the reminder fires, then one notice goes out and a second firing for the same instalment does nothing', () => {
    const reminded = step(agreed(), { type: 'timer.plan_reminder' });
    expect(reminded.actions.find((a) => a.type === 'sendPlanNotice')?.params).toMatchObject({ kind: 'reminder', phone: INPUT.phone });
    expect(reminded.snapshot.context.plan?.remindedThrough).toBe(0);
    expect(reminded.snapshot.can({ type: 'timer.plan_reminder' })).toBe(false);
  });

  it('when an instalment is missed, then staff are told and the debtor asked; a second miss escalates and breaks the plan', () => {
    const missed = step(agreed(), { type: 'timer.plan_deadline' });
    expect(missed.snapshot.value).toEqual({ negotiating: 'missedPayment' });
    expect(missed.actions.find((a) => a.type === 'notifyStaff')?.params).toMatchObject({ kind: 'instalment_missed' });
    expect(missed.actions.find((a) => a.type === 'sendPlanNotice')?.params).toMatchObject({ kind: 'missed' });
    const again = step(missed.snapshot, { type: 'timer.plan_deadline' });
    expect(again.snapshot.value).toBe('escalated');
    expect(again.snapshot.context).toMatchObject({ escalation: { reason: 'missed_payments' }, plan: { status: 'broken', missed: 2 } });
  });

  it('when a debtor in arrears catches up, then the plan runs again; the next miss still escalates (misses count over the plan)', () => {
    const missed = step(agreed(), { type: 'timer.plan_deadline' }).snapshot;
    const caughtUp = step(missed, pay(20_000)).snapshot;
    expect(caughtUp.value).toBe('planAgreed');
    expect(step(caughtUp, { type: 'timer.plan_deadline' }).snapshot.value).toBe('escalated');
  });

  it('when the debtor writes while a plan runs, then the reply is drafted with the plan and the conversation comes back to it', () => {
    const drafting = step(agreed(), sms('when is my next payment?', 'msg-3'));
    expect(drafting.snapshot.value).toBe('drafting');
    expect(drafting.actions.find((a) => a.type === 'xstate.spawnChild')?.params.input).toMatchObject({ plan: { status: 'active' } });
    const back = [drafted(draft({ id: 'draft-3', confidence: 0.95 })), sent('sms-3')].reduce((s, e) => step(s, e).snapshot, drafting.snapshot);
    expect(back.value).toBe('planAgreed');
  });

  it('when a manager rejects a queued draft, then it is discarded and a person owns the conversation', () => {
    const { snapshot, actions } = step(inPendingApproval(), { type: 'review.rejected', approvalId: 'draft-1', managerId: 'alice', reason: 'wrong tone' });
    expect(snapshot.value).toBe('escalated');
    expect(actions.find((a) => a.type === 'closeApproval')?.params).toMatchObject({ status: 'rejected', reviewer: 'alice', finalText: null, reason: 'wrong tone' });
    expect(snapshot.context.escalation).toMatchObject({ reason: 'manager', note: 'wrong tone' });
  });

  it('when an offer is unrealistic, then the conversation is escalated as unrealistic_proposal and nothing is sent', () => {
    const { snapshot, actions } = step(run([sms()]), drafted(draft({ intents: ['payment_plan'], negotiation: { kind: 'unrealistic', reasons: ['below_min_weekly'] } })));
    expect(snapshot.context.escalation?.reason).toBe('unrealistic_proposal');
    expect(types(actions)).not.toContain('xstate.spawnChild');
  });

  it('when we send a text that offers nothing, then an earlier offer is withdrawn and a later yes is not an agreement', () => {
    const snapshot = [sms('hmm', 'msg-2'), drafted(draft({ id: 'draft-2', confidence: 0.95 })), sent('sms-2')].reduce((s, e) => step(s, e).snapshot, offered());
    expect(snapshot.value).toBe('awaitingReply');
    expect(snapshot.context.offeredPlan).toBeNull();
  });
});

describe('conversation machine: closing', () => {
  it('when staff close a conversation with a reason, then who closed it and why are kept', () => {
    const { snapshot } = step(inAwaitingReply(), { type: 'staff.close', by: 'alice', reason: 'paid by phone' });
    expect(snapshot.value).toBe('closed');
    expect(snapshot.context.closure).toEqual({ by: 'alice', reason: 'paid by phone' });
  });
});

describe('conversation machine: no dead ends (disputes, identity claims, answers where there was silence)', () => {
  const disputed = () => run([sms('this isnt my debt'), drafted(draft({ intents: ['dispute'], confidence: 0.85 }))]);
  const acknowledgements = (actions: Action[]) => actions.filter((a) => a.type === 'acknowledge').map((a) => a.params.kind);

  it('when the debtor disputes the debt, then it escalates as a dispute, one acknowledgement goes out, and the debt is disputed', () => {
    const { snapshot, actions } = step(run([sms('this isnt my debt')]), drafted(draft({ intents: ['dispute'], confidence: 0.85 })));
    expect(snapshot.value).toBe('escalated');
    expect(snapshot.context.escalation?.reason).toBe('dispute');
    expect(snapshot.context.disputed).toBe(true);
    expect(acknowledgements(actions)).toEqual(['dispute']);
    expect(actions.find((a) => a.type === 'acknowledge')?.params.inReplyTo).toBe(AT);
    expect(snapshot.context.unanswered).toEqual({ count: 0, latestAt: null });
  });

  it('when a disputed debt is resumed by staff alone, then it is refused; after debt.verified it resumes', () => {
    const snapshot = disputed();
    expect(snapshot.can({ type: 'staff.resume', by: 'alice' })).toBe(false);
    expect(step(snapshot, { type: 'staff.resume', by: 'alice' }).snapshot.value).toBe('escalated');
    const verified = step(snapshot, { type: 'debt.verified', by: 'alice' }).snapshot;
    expect(verified.value).toBe('escalated');
    expect(verified.context.disputed).toBe(false);
    // The acknowledgement answered the dispute: resumed, the conversation waits for the debtor, nothing is redrafted.
    expect(step(verified, { type: 'staff.resume', by: 'alice' }).snapshot.value).toBe('awaitingReply');
    // Nothing to verify on a debt nobody disputed.
    expect(inAwaitingReply().can({ type: 'debt.verified', by: 'alice' })).toBe(false);
  });

  it('when an attorney or a cease request also disputes the debt, then the debt is disputed but nothing is sent', () => {
    for (const intent of ['attorney', 'cease'] as const) {
      const { snapshot, actions } = step(run([sms()]), drafted(draft({ intents: [intent, 'dispute'], confidence: 0.9 })));
      expect(snapshot.context.escalation?.reason).toBe(intent);
      expect(snapshot.context.disputed).toBe(true);
      expect(acknowledgements(actions)).toEqual([]);
    }
    const { actions } = step(run([sms('STOP')]), drafted(draft({ intents: ['opt_out', 'dispute'], confidence: 0.95 })));
    expect(acknowledgements(actions)).toEqual([]);
  });

  it('when an offer is unrealistic, then one holding reply goes out with the escalation', () => {
    const { snapshot, actions } = step(run([sms('$5 a month')]), drafted(draft({ intents: ['payment_plan'], negotiation: { kind: 'unrealistic', reasons: ['below_min_weekly'] } })));
    expect(snapshot.context.escalation?.reason).toBe('unrealistic_proposal');
    expect(acknowledgements(actions)).toEqual(['plan_review']);
    expect(actions.find((a) => a.type === 'acknowledge')?.params.inReplyTo).toBe(AT);
    expect(step(snapshot, { type: 'staff.resume', by: 'alice' }).snapshot.value).toBe('awaitingReply');
  });

  it('when the debt is paid in full, from any state, then the conversation closes and the debtor is told it is settled', () => {
    for (const from of [inAwaitingReply(), inPendingApproval(), disputed()]) {
      const { snapshot, actions } = step(from, { type: 'payment.received', amountCents: 5_000, paidInFull: true });
      expect(snapshot.value).toBe('closed');
      expect(acknowledgements(actions)).toEqual(['settled']);
      expect(actions.find((a) => a.type === 'acknowledge')?.params.inReplyTo).toBeNull();
    }
  });

  describe('an unknown number', () => {
    const asked = () => run([sms('how much do I owe?'), drafted(draft({ intents: ['question'], confidence: 0.9, identity: 'ask' })), sent()]);
    const claimed = () => run([sms('its James Smith', 'msg-2'), drafted(draft({ id: 'draft-2', intents: ['other'], confidence: 0.9, identity: 'claimed' }))], undefined, asked());

    it('when it was asked who it is, then the question it asked is held for verification and the drafter knows it asked', () => {
      const snapshot = asked();
      expect(snapshot.value).toBe('awaitingReply');
      expect(snapshot.context.identityHeld).toBe(1);
      const { snapshot: next, actions } = step(snapshot, sms('its James Smith', 'msg-2'));
      expect(next.value).toBe('drafting');
      const spawn = actions.find((action) => action.type === 'xstate.spawnChild');
      expect(spawn?.params).toMatchObject({ id: 'drafter', input: { identityAsked: true, unansweredCount: 1 } });
    });

    it('when it answers with a name, then a verification task is opened and it is told once that someone will confirm', () => {
      const { snapshot, actions } = step(step(asked(), sms('its James Smith', 'msg-2')).snapshot, drafted(draft({ id: 'draft-2', intents: ['other'], confidence: 0.9, identity: 'claimed' })));
      expect(snapshot.value).toBe('escalated');
      expect(snapshot.context.escalation?.reason).toBe('identity_verification');
      expect(snapshot.context.identityClaimed).toBe(true);
      expect(types(actions)).toEqual(expect.arrayContaining(['openEscalation', 'notifyStaff']));
      expect(acknowledgements(actions)).toEqual(['identity_claimed']);
    });

    it('when a manager verifies it, then the held question and the answer are drafted again with the number verified', () => {
      const { snapshot, actions } = step(claimed(), { type: 'identity.verified', by: 'alice' });
      expect(snapshot.value).toBe('drafting');
      expect(snapshot.context).toMatchObject({ identityVerified: true, identityClaimed: false, identityHeld: 0, unanswered: { count: 2 } });
      expect(actions.find((a) => a.type === 'closeEscalation')?.params).toEqual({ resolution: 'resumed' });
    });

    it('when a manager rejects it, then it is closed as a wrong number with one text and nothing after', () => {
      const { snapshot, actions } = step(claimed(), { type: 'identity.rejected', by: 'alice' });
      expect(snapshot.value).toBe('closed');
      expect(snapshot.status).toBe('done');
      expect(snapshot.context.closure?.by).toBe('alice');
      expect(acknowledgements(actions)).toEqual(['identity_rejected']);
      expect(inAwaitingReply().can({ type: 'identity.rejected', by: 'alice' })).toBe(false);
    });
  });
});

import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CONVERSATION_STATES } from '../machines/conversation/conversation.machine.js';
import { EXTERNAL_EVENT_TYPES } from '../machines/conversation/conversation.types.js';
import { topLevelState } from './runtime/machine-snapshot.js';

/** Every metric, declared once. Labels are bounded sets and never carry personal data. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'orchestrator_process_' });
  return {
    registry,
    events: new Counter({
      name: 'orchestrator_events_total',
      help: 'Events applied to conversations, by type and outcome',
      labelNames: ['event_type', 'outcome'] as const,
      registers: [registry],
    }),
    eventSeconds: new Histogram({
      name: 'orchestrator_event_apply_seconds',
      help: 'Time to apply one event (one transaction), by where it came from',
      labelNames: ['source'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    transitions: new Counter({
      name: 'orchestrator_transitions_total',
      help: 'State transitions committed',
      labelNames: ['from', 'to'] as const,
      registers: [registry],
    }),
    complianceDecisions: new Counter({
      name: 'orchestrator_compliance_decisions_total',
      help: 'Decisions of the send-time gate that held a text back or let it through by an exception, by rule and decision',
      labelNames: ['rule', 'decision'] as const,
      registers: [registry],
    }),
    httpSeconds: new Histogram({
      name: 'orchestrator_http_request_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

const KNOWN_EVENTS = new Set<string>(EXTERNAL_EVENT_TYPES);
const KNOWN_STATES = new Set<string>(CONVERSATION_STATES);

/** Keeps label values in a known set: internal `xstate.*` event names are folded by kind. */
export function eventLabel(type: string): string {
  if (KNOWN_EVENTS.has(type) || type.startsWith('timer.')) return type;
  if (type.startsWith('xstate.done.actor.')) return 'xstate.done.actor';
  if (type.startsWith('xstate.error.actor.')) return 'xstate.error.actor';
  return 'other';
}

/** A state path by its top-level state (`negotiating.awaitingConfirmation` → `negotiating`): a bounded set. */
export function stateLabel(state: string | null): string {
  if (state === null) return 'none';
  const top = topLevelState(state);
  return KNOWN_STATES.has(top) ? top : 'other';
}

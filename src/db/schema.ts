import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { StateValue } from 'xstate';
import type { ConversationContext } from '../../machines/conversation/conversation.types.js';

/** Row types of our tables (snake_case here, camelCase in repositories). */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** What we keep of a snapshot: invokes and timers live in the job queue, not in XState. */
export interface StoredSnapshot {
  value: StateValue;
  status: 'active' | 'done';
  context: ConversationContext;
}

/**
 * The tokens of a conversation's invokes and timers that are live now (docs/glossary.md, Token). Stored in the
 * column `live_effects`, a name from before the glossary settled: renaming a column every write touches would
 * need a two-step deploy, so the column keeps it and the code says tokens.
 */
export interface LiveTokens {
  /** invoke id → token of the job that runs it in the current visit */
  invokes: Record<string, string>;
  /** delayed event id → token of the scheduled job */
  timers: Record<string, string>;
}

export interface ConversationsTable {
  id: string;
  tenant_id: string;
  phone: string;
  /** The full state path (`negotiating.awaitingConfirmation`); its first segment is the top-level state. */
  state: string;
  snapshot: JSONColumnType<StoredSnapshot>;
  live_effects: JSONColumnType<LiveTokens>;
  machine_version: string;
  version: number;
  audit_seq: Generated<number>;
  audit_hash: string | null;
  /**
   * The E.164 number when this is the tenant's default conversation for it (texts the SMS Agent sends
   * without a conversation id), unique per tenant; null for a conversation a caller named. Set when the
   * conversation is created, never after.
   */
  default_for_phone: ColumnType<string | null, string | null | undefined, never>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface InboxTable {
  conversation_id: string;
  idempotency_key: string;
  event_type: string;
  outcome: string | null;
  result: JSONColumnType<object> | null;
  received_at: Timestamp;
}

export interface TransitionsTable {
  id: Generated<string>;
  conversation_id: string;
  seq: number;
  from_state: string | null;
  to_state: string;
  event_type: string;
  event_id: string;
  actor: string;
  /** Set by the application: the audit hash chain covers it. */
  at: Timestamp;
  prev_hash: string | null;
  hash: string;
  /** Redacted summary of the event (no numbers, no texts); null on rows written before it existed. Hashed. */
  event_summary: JSONColumnType<Record<string, unknown>> | null;
  /** sha-256 of the words the event carried (src/runtime/audit-chain.ts); null when none. Hashed. */
  words_digest: string | null;
}

export interface MessagesTable {
  id: Generated<string>;
  conversation_id: string;
  direction: 'inbound' | 'outbound';
  body: string;
  event_id: string;
  at: Timestamp;
}

export interface DraftsTable {
  id: string;
  conversation_id: string;
  drafter: string;
  model: string | null;
  prompt_version: string | null;
  confidence: number;
  intents: JSONColumnType<string[]>;
  plan: JSONColumnType<object> | null;
  reasons: JSONColumnType<string[]> | null;
  raw_text: string | null;
  text: string;
  review_reason: string | null;
  usage: JSONColumnType<object> | null;
  latency_ms: number | null;
  created_at: Timestamp;
  review_status: string | null;
  reviewer: string | null;
  final_text: string | null;
  decision_reason: string | null;
  queued_at: Timestamp | null;
  decided_at: Timestamp | null;
}

export interface ApprovalDecisionsTable {
  id: Generated<string>;
  approval_id: string;
  conversation_id: string;
  decision: string;
  reviewer: string | null;
  original_text: string;
  final_text: string | null;
  reason: string | null;
  queued_at: Date | null;
  decided_at: Timestamp;
}

export type OutboundKind = 'reply' | 'unsolicited' | 'confirmation';

export interface OutboundMessagesTable {
  idempotency_key: string;
  conversation_id: string;
  body: string;
  /** `held`: claimed with the gate's read, then held back by it (quiet hours, a cap); it never left. */
  status: 'sending' | 'accepted' | 'held';
  /** What the text is, for frequency caps: a reply to the debtor, one we started, an opt-out confirmation. */
  kind: ColumnType<OutboundKind, OutboundKind | undefined, OutboundKind>;
  sms_agent_id: string | null;
  attempts: Generated<number>;
  first_attempt_at: Timestamp;
  updated_at: Timestamp;
}

export interface EscalationsTable {
  id: Generated<string>;
  conversation_id: string;
  reason: string;
  note: string | null;
  /** As the escalating person or service named it; null when the machine escalated on its own. */
  severity: string | null;
  opened_at: Timestamp;
  closed_at: Date | null;
  resolution: string | null;
}

export interface OptOutsTable {
  /** E.164. */
  phone: string;
  /** The tenant it binds; null: every tenant (a manager's all-tenant suppression, or a row from before opt-outs had a tenant). */
  tenant_id: string | null;
  /** The conversation whose debtor opted out; null for a manager's suppression. */
  conversation_id: string | null;
  source: ColumnType<'debtor' | 'manager', 'debtor' | 'manager' | undefined, 'debtor' | 'manager'>;
  added_by: string | null;
  reason: string | null;
  opted_out_at: Timestamp;
}

export interface EffectLogTable {
  key: string;
  kind: string;
  result: JSONColumnType<object> | null;
  at: Timestamp;
}

export interface PaymentPlansTable {
  id: string;
  conversation_id: string;
  tenant_id: string;
  status: 'active' | 'completed' | 'broken' | 'replaced' | 'cancelled';
  frequency: string;
  /** int8 columns come back as strings (src/db/database.ts); the repository maps them to numbers. */
  instalment_cents: ColumnType<string, number, number>;
  instalment_count: number;
  down_payment_cents: ColumnType<string, number, number>;
  total_cents: ColumnType<string, number, number>;
  paid_cents: ColumnType<string, number, number>;
  missed: number;
  time_zone: string;
  agreed_at: Timestamp;
  updated_at: Timestamp;
}

export interface PlanInstalmentsTable {
  plan_id: string;
  seq: number;
  /** A calendar date in the debtor's time zone, read as `YYYY-MM-DD`. */
  due_on: ColumnType<string, string, string>;
  amount_cents: ColumnType<string, number, number>;
  paid_cents: ColumnType<string, number, number>;
  status: 'due' | 'kept' | 'missed';
}

export interface PaymentPlanHistoryTable {
  id: Generated<string>;
  plan_id: string;
  status: string;
  paid_cents: ColumnType<string, number, number>;
  missed: number;
  at: Timestamp;
}

export interface ComplianceDecisionsTable {
  id: Generated<string>;
  conversation_id: string;
  rule: string;
  decision: string;
  detail: string;
  at: Timestamp;
}

export interface ContactPreferencesTable {
  /** The tenant the debtor said it to (a statement binds that tenant only). */
  tenant_id: string;
  phone: string;
  earliest_hour: number | null;
  latest_hour: number | null;
  not_at_work: Generated<boolean>;
  conversation_id: string;
  updated_at: Timestamp;
}

/** Who unmasked a debtor's number (the console's reveal), and when. Append-only. */
export interface PhoneRevealsTable {
  id: Generated<string>;
  conversation_id: string;
  /** `<role>:<sub>` of the token, as in the audit trail. */
  actor: string;
  at: Timestamp;
}

export interface IdentityClaimsTable {
  id: Generated<string>;
  conversation_id: string;
  message_id: string;
  claimed_name: string;
  names_on_record: ColumnType<string[], string, never>;
  claimed_at: Generated<Timestamp>;
}

export interface Database {
  conversations: ConversationsTable;
  inbox: InboxTable;
  transitions: TransitionsTable;
  messages: MessagesTable;
  drafts: DraftsTable;
  approval_decisions: ApprovalDecisionsTable;
  outbound_messages: OutboundMessagesTable;
  escalations: EscalationsTable;
  opt_outs: OptOutsTable;
  effect_log: EffectLogTable;
  payment_plans: PaymentPlansTable;
  plan_instalments: PlanInstalmentsTable;
  payment_plan_history: PaymentPlanHistoryTable;
  compliance_decisions: ComplianceDecisionsTable;
  contact_preferences: ContactPreferencesTable;
  phone_reveals: PhoneRevealsTable;
  identity_claims: IdentityClaimsTable;
}

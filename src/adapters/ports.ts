/**
 * The downstream services as interfaces: a real implementation (got + cockatiel, src/adapters/clients)
 * and, for local runs, a simulator that speaks the same HTTP contract (src/simulators).
 * Contracts: docs/architecture.md §6.
 */

export interface Tenant {
  tenantId: string;
  tenantName: string;
  /** Parsed from the monitor's decimal string; integer cents. */
  amountOwedCents: number;
  daysLate: number;
  language: 'en' | 'es';
  phoneNumbers: string[];
  paymentReliabilityScore: number | null;
  failedPaymentPlans: number;
  /** IANA zone of the debtor when the monitor knows it (`time_zone`); null otherwise. */
  timeZone: string | null;
}

export interface SmsHistoryMessage {
  id: string;
  direction: 'inbound' | 'outbound';
  content: string;
  deliveryStatus: string | null;
  createdAt: string;
  /** The `conversation_id` we sent with the text, when the agent's history gives it (ours does; the contract does not promise it). */
  conversationId?: string | null;
}

export interface CollectionsMonitor {
  getTenant(tenantId: string, signal?: AbortSignal): Promise<Tenant>;
}

/** The SMS Agent's name in errors, breakers and metrics: the worker tells its outages from the others' by it. */
export const SMS_AGENT = 'sms_agent';

export interface SmsAgent {
  /** POST /sms/send. The idempotency key is sent as `Idempotency-Key`. */
  send(
    message: { to: string; body: string; conversationId: string },
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<{ id: string }>;
  /** GET /conversations/{phone}, oldest first. */
  history(phone: string, signal?: AbortSignal): Promise<SmsHistoryMessage[]>;
}

export type NotificationPriority = 'low' | 'normal' | 'high' | 'critical';

export interface NotificationService {
  send(
    notification: {
      channel: string;
      recipient: string;
      subject: string;
      body: string;
      priority: NotificationPriority;
      metadata: Record<string, unknown>;
    },
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<{ trackingId: string }>;
}

export interface Services {
  collectionsMonitor: CollectionsMonitor;
  smsAgent: SmsAgent;
  notifications: NotificationService;
}

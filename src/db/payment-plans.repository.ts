import { sql, type RawBuilder } from 'kysely';
import type { AgreedPlan } from '../../machines/conversation/conversation.types.js';
import { tenantOfConversation } from './conversations.repository.js';
import type { DbOrTrx } from './database.js';
import { withinScope, type TenantScope } from './tenant-scope.js';
import type { PaymentPlansTable } from './schema.js';

export type PlanStatus = PaymentPlansTable['status'];

/** Agreed payment plans, their instalments and the append-only history of their status. */

/** A newly agreed plan, with its schedule. An earlier plan of the conversation that still runs is replaced. */
export async function storeAgreedPlan(db: DbOrTrx, conversationId: string, plan: AgreedPlan) {
  const replaced = await db
    .updateTable('payment_plans')
    .set({ status: 'replaced', updated_at: sql`now()` })
    .where('conversation_id', '=', conversationId)
    .where('status', '=', 'active')
    .where('id', '!=', plan.id)
    .returning(['id', 'paid_cents', 'missed'])
    .execute();
  for (const row of replaced) {
    await appendHistory(db, { planId: row.id, status: 'replaced', paidCents: Number(row.paid_cents), missed: row.missed });
  }
  const inserted = await db
    .insertInto('payment_plans')
    .values({
      id: plan.id,
      conversation_id: conversationId,
      tenant_id: tenantOfConversation(conversationId),
      status: plan.status,
      frequency: plan.frequency,
      instalment_cents: plan.instalmentCents,
      instalment_count: plan.count,
      down_payment_cents: plan.downPaymentCents,
      total_cents: plan.totalCents,
      paid_cents: plan.paidCents,
      missed: plan.missed,
      time_zone: plan.timeZone,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return;
  await db
    .insertInto('plan_instalments')
    .values(
      plan.schedule.map((instalment, seq) => ({
        plan_id: plan.id,
        seq,
        due_on: instalment.dueOn,
        amount_cents: instalment.amountCents,
        paid_cents: instalment.paidCents,
        status: instalment.status,
      })),
    )
    .execute();
  await appendHistory(db, { planId: plan.id, status: plan.status, paidCents: plan.paidCents, missed: plan.missed });
}

/** The plan as it stands after a payment, a miss or its end; a change of status is appended to its history. */
export async function recordPlanProgress(db: DbOrTrx, plan: AgreedPlan) {
  const before = await db.selectFrom('payment_plans').select(['status', 'missed']).where('id', '=', plan.id).executeTakeFirst();
  if (!before) return;
  await db
    .updateTable('payment_plans')
    .set({ status: plan.status, paid_cents: plan.paidCents, missed: plan.missed, updated_at: sql`now()` })
    .where('id', '=', plan.id)
    .execute();
  // One statement for the whole schedule (at most a few dozen rows).
  const rows = plan.schedule.map((instalment, seq) => sql`(${seq}::int, ${instalment.paidCents}::bigint, ${instalment.status}::text)`);
  await sql`update plan_instalments as i set paid_cents = v.paid, status = v.status
    from (values ${sql.join(rows)}) as v(seq, paid, status)
    where i.plan_id = ${plan.id} and i.seq = v.seq and (i.paid_cents <> v.paid or i.status <> v.status)`.execute(db);
  if (before.status !== plan.status || before.missed !== plan.missed) {
    await appendHistory(db, { planId: plan.id, status: plan.status, paidCents: plan.paidCents, missed: plan.missed });
  }
}

async function appendHistory(db: DbOrTrx, entry: { planId: string; status: string; paidCents: number; missed: number }) {
  await db
    .insertInto('payment_plan_history')
    .values({ plan_id: entry.planId, status: entry.status, paid_cents: entry.paidCents, missed: entry.missed })
    .execute();
}

export interface PlanView {
  id: string;
  conversation_id: string;
  tenant_id: string;
  status: string;
  frequency: string;
  instalment_cents: number;
  count: number;
  down_payment_cents: number;
  total_cents: number;
  paid_cents: number;
  missed: number;
  agreed_at: Date;
  schedule: Array<{ due_on: string; amount_cents: number; paid_cents: number; status: string }>;
}

/** Plans of the scope's tenants with their schedules, newest first: of one conversation, or by status (the managers' list). */
export async function listPlans(
  db: DbOrTrx,
  filter: { conversationId?: string; status?: PlanStatus; limit?: number; scope: TenantScope },
): Promise<PlanView[]> {
  let query = db.selectFrom('payment_plans').selectAll().orderBy('agreed_at', 'desc').orderBy('id').limit(filter.limit ?? 50);
  if (filter.conversationId) query = query.where('conversation_id', '=', filter.conversationId);
  if (filter.status) query = query.where('status', '=', filter.status);
  const plans = await withinScope(query, filter.scope, 'payment_plans.conversation_id').execute();
  if (plans.length === 0) return [];
  const instalments = await db
    .selectFrom('plan_instalments')
    .selectAll()
    .where(
      'plan_id',
      'in',
      plans.map((plan) => plan.id),
    )
    .orderBy('plan_id')
    .orderBy('seq')
    .execute();
  return plans.map((plan) => ({
    id: plan.id,
    conversation_id: plan.conversation_id,
    tenant_id: plan.tenant_id,
    status: plan.status,
    frequency: plan.frequency,
    instalment_cents: Number(plan.instalment_cents),
    count: plan.instalment_count,
    down_payment_cents: Number(plan.down_payment_cents),
    total_cents: Number(plan.total_cents),
    paid_cents: Number(plan.paid_cents),
    missed: plan.missed,
    agreed_at: plan.agreed_at,
    schedule: instalments
      .filter((instalment) => instalment.plan_id === plan.id)
      .map((instalment) => ({
        due_on: instalment.due_on,
        amount_cents: Number(instalment.amount_cents),
        paid_cents: Number(instalment.paid_cents),
        status: instalment.status,
      })),
  }));
}

/** Plans of this tenant we agreed that the debtor broke: they count with the monitor's failed plans. */
/** The tenant's broken plans, as an expression: read alone here, and with the other facts of a draft (draft-facts.repository.ts). */
export const brokenPlansSql = (tenantId: string | RawBuilder<string>) =>
  sql<number>`(select count(*)::int from payment_plans where tenant_id = ${tenantId} and status = 'broken')`;

export async function countBrokenPlans(db: DbOrTrx, tenantId: string): Promise<number> {
  const { rows } = await sql<{ count: number }>`select ${brokenPlansSql(tenantId)} as count`.execute(db);
  return rows[0]!.count;
}

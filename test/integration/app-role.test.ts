import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import request from 'supertest';
import { APP_ROLE, TABLE_PRIVILEGES } from '../../src/db/app-role.js';
import { startTestOrchestrator, waitForState, withCredentials, type TestOrchestrator } from '../helpers/orchestrator.js';
import { approveAsDrafted } from '../helpers/approvals.js';

/**
 * The service running as a login role that is only a member of orchestrator_app (docs/runbook.md): it
 * starts (migrations checked, not applied), runs whole turns, and cannot change the audit trail.
 */

const login = { user: `orch_login_${randomBytes(4).toString('hex')}`, password: randomBytes(12).toString('hex') };
let harness: TestOrchestrator;
let appClient: pg.Client;

async function asAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: process.env.ORCHESTRATOR_TEST_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  // What production does once (docs/runbook.md): a login role that is a member of the service role.
  harness = await startTestOrchestrator(
    {},
    {
      connectAs: login,
      beforeStart: () =>
        asAdmin(async (client) => {
          await client.query(`create role ${login.user} login password '${login.password}'`);
          await client.query(`grant ${APP_ROLE} to ${login.user}`);
        }),
    },
  );
  appClient = new pg.Client({ connectionString: withCredentials(harness.testDb.url, login) });
  await appClient.connect();
}, 60_000);

afterAll(async () => {
  await appClient?.end();
  await harness?.stop();
  await asAdmin((client) => client.query(`drop role if exists ${login.user}`));
});

const service = () => ({ Authorization: `Bearer ${harness.token('service')}` });
const manager = () => ({ Authorization: `Bearer ${harness.token('manager')}` });

async function smsIn(conversationId: string, phone: string, tenant: string, content: string, key: string) {
  await request(harness.url)
    .post('/orchestrate/sms-received')
    .set(service())
    .set('Idempotency-Key', key)
    .send({ tenant_id: tenant, phone_number: phone, content, conversation_id: conversationId })
    .expect((response) => expect([200, 202]).toContain(response.status));
}

describe('the service database role (orchestrator_app)', () => {
  it('when migrated, then every table in public has its privileges listed, and the role holds exactly those', async () => {
    const { rows: tables } = await sql<{ relname: string }>`
      select relname from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r' order by relname`.execute(harness.testDb.db);
    expect(tables.map((row) => row.relname).sort()).toEqual(Object.keys(TABLE_PRIVILEGES).sort());

    const { rows: grants } = await sql<{ table_name: string; privilege_type: string }>`
      select table_name, privilege_type from information_schema.role_table_grants
       where grantee = ${APP_ROLE} and table_schema = 'public'`.execute(harness.testDb.db);
    const held: Record<string, string[]> = {};
    for (const grant of grants) (held[grant.table_name] ??= []).push(grant.privilege_type.toLowerCase());
    const expected = Object.fromEntries(Object.entries(TABLE_PRIVILEGES).map(([table, privileges]) => [table, [...privileges].sort()]));
    expect(Object.fromEntries(Object.entries(held).map(([table, privileges]) => [table, privileges.sort()]))).toEqual(expected);

    // Events write jobs through add_jobs_quietly: granted to the role by name, so a database that revokes
    // EXECUTE from PUBLIC by default still lets the service write them.
    const { rows: routines } = await sql<{ routine_schema: string; privilege_type: string }>`
      select routine_schema, privilege_type from information_schema.role_routine_grants
       where grantee = ${APP_ROLE} and routine_name = 'add_jobs_quietly'`.execute(harness.testDb.db);
    expect(routines).toEqual([{ routine_schema: 'orchestrator', privilege_type: 'EXECUTE' }]);
  });

  it('when the service runs as a member of the role, then it starts and a plan is offered, agreed, paid into; an approval is decided; a STOP opts out', async () => {
    const current = await appClient.query('select current_user, pg_has_role(current_user, $1, $2) as member', [APP_ROLE, 'member']);
    expect(current.rows[0]).toEqual({ current_user: login.user, member: true });
    const sms = harness.orchestrator.simulators!;

    // A plan code may agree alone: offered, the debtor says yes, the plan is stored with its schedule.
    sms.monitor.setTenant('tenant-role-1', { amount_owed: '300.00', failed_payment_plans: 0 });
    await smsIn('conv-role-1', '+15550107001', 'tenant-role-1', 'I can pay $100 a week starting Friday', 'role-1a');
    await waitForState(harness.orchestrator, 'conv-role-1', ['negotiating.awaitingConfirmation']);
    await smsIn('conv-role-1', '+15550107001', 'tenant-role-1', 'yes', 'role-1b');
    await waitForState(harness.orchestrator, 'conv-role-1', ['planAgreed']);
    await request(harness.url)
      .post('/v1/conversations/conv-role-1/events')
      .set(service())
      .set('Idempotency-Key', 'role-pay-1')
      .send({ type: 'payment.received', amount_cents: 10_000 })
      .expect(202);

    // A longer plan waits for a manager, who approves it.
    sms.monitor.setTenant('tenant-role-2', { amount_owed: '750.00', failed_payment_plans: 0 });
    await smsIn('conv-role-2', '+15550107002', 'tenant-role-2', 'I can pay $100 a week for 8 weeks', 'role-2a');
    await waitForState(harness.orchestrator, 'conv-role-2', ['pendingApproval']);
    await approveAsDrafted(harness.url, manager(), 'conv-role-2', 'role-approve-1');
    await waitForState(harness.orchestrator, 'conv-role-2', ['negotiating.awaitingConfirmation']);

    // STOP: the opt-out is recorded and confirmed by text (an effect job).
    await smsIn('conv-role-2', '+15550107002', 'tenant-role-2', 'STOP', 'role-2b');
    await waitForState(harness.orchestrator, 'conv-role-2', ['optedOut']);

    const db = harness.testDb.db;
    const plan = await db.selectFrom('payment_plans').select(['status', 'paid_cents']).where('conversation_id', '=', 'conv-role-1').executeTakeFirstOrThrow();
    expect(plan).toEqual({ status: 'active', paid_cents: '10000' });
    expect(await db.selectFrom('opt_outs').select('phone').where('phone', '=', '+15550107002').executeTakeFirst()).toBeDefined();
    expect(await db.selectFrom('approval_decisions').select('decision').where('conversation_id', '=', 'conv-role-2').execute()).toEqual([{ decision: 'approved' }]);
    // Three texts to the first debtor's number (offer, confirmation) and the second's (offer, opt-out confirmation) went out.
    const waitForTexts = async (to: string, count: number) => {
      for (let i = 0; i < 100 && sms.sms.sent.filter((text) => text.to === to).length < count; i += 1) await new Promise((r) => setTimeout(r, 50));
      return sms.sms.sent.filter((text) => text.to === to).length;
    };
    expect(await waitForTexts('+15550107001', 2)).toBeGreaterThanOrEqual(2);
    expect(await waitForTexts('+15550107002', 2)).toBe(2);
  }, 60_000);

  it.each(['transitions', 'messages', 'approval_decisions', 'compliance_decisions', 'payment_plan_history'])(
    'when the role updates, deletes or truncates %s, then the database refuses it for want of privilege (before any trigger)',
    async (table) => {
      for (const statement of [`update ${table} set id = id`, `delete from ${table}`, `truncate ${table}`]) {
        await expect(appClient.query(statement)).rejects.toMatchObject({ code: '42501', message: `permission denied for table ${table}` });
      }
    },
  );

  it('when the role tries to switch the triggers off, then it may not: only the owner (or a superuser) can, and the hash chain is there for them', async () => {
    await expect(appClient.query('set session_replication_role = replica')).rejects.toMatchObject({ code: '42501' });
    await expect(appClient.query('alter table transitions disable trigger transitions_append_only')).rejects.toMatchObject({
      code: '42501',
      message: 'must be owner of table transitions',
    });
    await expect(appClient.query('delete from drafts')).rejects.toMatchObject({ message: 'permission denied for table drafts' });
    await expect(appClient.query(`create table role_probe (id int)`)).rejects.toMatchObject({ code: '42501' });

    // The owner, with the triggers bypassed, can: which is why the chain (audit:verify) exists.
    const owner = await harness.testDb.pool.connect();
    try {
      await owner.query('begin');
      await owner.query('set local session_replication_role = replica');
      const updated = await owner.query(`update transitions set actor = 'someone-else' where conversation_id = 'conv-role-1'`);
      expect(updated.rowCount).toBeGreaterThan(0);
    } finally {
      await owner.query('rollback');
      owner.release();
    }
  });
});

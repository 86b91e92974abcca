/**
 * After a load with crashes: wait until the job queue is quiet, then check, in the database and at the SMS
 * Agent simulator, what must hold whatever was killed when (docs/architecture.md §4, "Dead workers"):
 * every acknowledged event applied exactly once, one reply per debtor text, no conversation stuck, no job
 * left failed.
 */
import type pg from 'pg';
import { REPLACED_JOB } from '../../src/db/job-queue.repository.js';
import type { BenchDebtor, SendSeen } from './debtor-loop.js';

export interface Quiescence {
  /** The queue had no job due (nor locked) for two polls in a row. */
  reached: boolean;
  waitedMs: number;
  /** Jobs due or locked when the wait ended (0 when reached). */
  busyJobs: number;
}

/** Waits until no job is due now or locked (jobs of dead workers are released by a sweep first). */
export async function waitForQuiescence(admin: pg.Pool, timeoutMs: number): Promise<Quiescence> {
  const t0 = Date.now();
  let quietPolls = 0;
  let busy = 0;
  while (Date.now() - t0 < timeoutMs) {
    const { rows } = await admin.query<{ n: string }>(
      `select count(*) as n from graphile_worker.jobs
        where (run_at <= now() and attempts < max_attempts) or locked_at is not null`,
    );
    busy = Number(rows[0]!.n);
    quietPolls = busy === 0 ? quietPolls + 1 : 0;
    if (quietPolls >= 2) return { reached: true, waitedMs: Date.now() - t0, busyJobs: 0 };
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return { reached: false, waitedMs: Date.now() - t0, busyJobs: busy };
}

export interface Check {
  name: string;
  ok: boolean;
  /** What was counted, in words, for the report. */
  detail: string;
}

export async function checkInvariants(
  admin: pg.Pool,
  run: {
    /** Every Idempotency-Key answered with a 2xx: events and debtor texts. */
    acknowledgedKeys: string[];
    /** Tenants whose conversations this run created (debtors and event conversations). */
    tenants: string[];
    /** The debtors (tenant and number), and every send the SMS Agent simulator received during the run. */
    debtors: BenchDebtor[];
    sends: SendSeen[];
  },
): Promise<Check[]> {
  const checks: Check[] = [];

  // 1. Exactly once: one inbox row (applied or recorded) and one inbound message per acknowledged key.
  const { rows: applied } = await admin.query<{ keys: string; inbox_once: string; message_once: string; outcomes: Record<string, number> | null }>(
    `with acked as (select unnest($1::text[]) as key),
          inbox_per as (select a.key, count(i.*) as n, min(i.outcome) as outcome from acked a left join inbox i on i.idempotency_key = a.key group by a.key),
          messages_per as (select a.key, count(m.*) as n from acked a left join messages m on m.event_id = a.key and m.direction = 'inbound' group by a.key)
     select (select count(*) from acked) as keys,
            (select count(*) from inbox_per where n = 1 and outcome in ('applied', 'recorded')) as inbox_once,
            (select count(*) from messages_per where n = 1) as message_once,
            (select json_object_agg(coalesce(outcome, 'none'), n) from (select outcome, count(*) as n from inbox_per group by outcome) o) as outcomes`,
    [run.acknowledgedKeys],
  );
  const a = applied[0]!;
  checks.push({
    name: 'every acknowledged event applied exactly once',
    ok: Number(a.inbox_once) === Number(a.keys) && Number(a.message_once) === Number(a.keys),
    detail: `${a.keys} keys acknowledged with 2xx; ${a.inbox_once} with exactly one inbox row applied/recorded (outcomes ${JSON.stringify(a.outcomes ?? {})}), ${a.message_once} with exactly one inbound message`,
  });

  // 2. One reply per debtor text: the SMS Agent received, per number, as many texts as the service took in
  //    from it (every text a debtor sent waited for its reply first, so no two texts share a turn).
  const { rows: inbound } = await admin.query<{ phone: string; n: string }>(
    `select c.phone, count(m.*) as n from conversations c join messages m on m.conversation_id = c.id and m.direction = 'inbound'
      where c.tenant_id = any($1::text[]) group by c.phone`,
    [run.debtors.map((debtor) => debtor.tenant)],
  );
  const expected = new Map(inbound.map((row) => [row.phone, Number(row.n)]));
  const received = new Map<string, number>();
  const perKey = new Map<string, number>();
  for (const send of run.sends) {
    received.set(send.to, (received.get(send.to) ?? 0) + 1);
    if (send.idempotencyKey) perKey.set(send.idempotencyKey, (perKey.get(send.idempotencyKey) ?? 0) + 1);
  }
  const debtors = new Set(run.debtors.map((debtor) => debtor.phone));
  let exact = 0;
  let fewer = 0;
  let more = 0;
  for (const phone of debtors) {
    const want = expected.get(phone) ?? 0;
    const got = received.get(phone) ?? 0;
    if (got === want) exact += 1;
    else if (got < want) fewer += 1;
    else more += 1;
  }
  const turns = [...expected.values()].reduce((sum, n) => sum + n, 0);
  const strangers = run.sends.filter((send) => !debtors.has(send.to)).length;
  const keyTwice = [...perKey.values()].filter((n) => n > 1).length;
  const withoutKey = run.sends.filter((send) => !send.idempotencyKey).length;
  checks.push({
    name: 'every debtor text answered exactly once',
    ok: exact === debtors.size && strangers === 0,
    detail: `${turns} texts taken in from ${debtors.size} debtors, ${run.sends.length} sends at the SMS Agent; debtors with as many replies as texts ${exact}, fewer ${fewer}, more ${more}; sends to other numbers ${strangers}`,
  });
  checks.push({
    name: 'no send key arrived twice at the SMS Agent',
    ok: keyTwice === 0 && withoutKey === 0,
    detail: `${perKey.size} distinct Idempotency-Keys, ${keyTwice} seen more than once, ${withoutKey} sends without a key`,
  });

  // 3. Nothing stuck: every invoke or timer a conversation waits for has its job in the queue.
  const { rows: stuck } = await admin.query<{ conversations: string; stuck: string; states: Record<string, number> | null }>(
    `with ours as (select * from conversations where tenant_id = any($1::text[])),
          waiting as (
            select c.id, e.value as token from ours c,
                   lateral (select * from jsonb_each_text(c.live_effects -> 'invokes')
                            union all select * from jsonb_each_text(c.live_effects -> 'timers')) e)
     select (select count(*) from ours) as conversations,
            (select count(distinct w.id) from waiting w
              where not exists (select 1 from graphile_worker._private_jobs j where j.payload ->> 'token' = w.token and j.attempts < j.max_attempts)) as stuck,
            (select json_object_agg(state, n) from (select state, count(*) as n from ours group by state) s) as states`,
    [run.tenants],
  );
  const s = stuck[0]!;
  checks.push({
    name: 'no conversation stuck',
    ok: Number(s.stuck) === 0,
    detail: `${s.conversations} conversations, ${s.stuck} waiting for an invoke or timer whose job is gone or failed; states ${JSON.stringify(s.states ?? {})}`,
  });

  // 4. No job used up its tries. A failure names what failed, never a payload: task, whether it had an error,
  // whether a newer job of its key replaced it (the sweep's own rule, REPLACED_JOB) and whether it is locked.
  const { rows: jobs } = await admin.query<{ failed: string; retrying: string; left: string; kinds: Record<string, number> | null }>(
    `select count(*) filter (where attempts >= max_attempts) as failed,
            count(*) filter (where attempts < max_attempts and last_error is not null) as retrying,
            count(*) as left,
            (select json_object_agg(kind, n) from (
               select concat_ws(' ', task_identifier, case when last_error is null then 'no error' else 'error' end,
                                case when ${REPLACED_JOB} then 'superseded' end,
                                case when locked_at is not null then 'locked' end) as kind, count(*) as n
                 from graphile_worker.jobs where attempts >= max_attempts group by 1) k) as kinds
       from graphile_worker.jobs`,
  );
  const j = jobs[0]!;
  checks.push({
    name: 'no job left failed',
    ok: Number(j.failed) === 0,
    detail: `${j.failed} jobs failed for good${j.kinds ? ` ${JSON.stringify(j.kinds)}` : ''}, ${j.retrying} waiting to retry after an error, ${j.left} jobs left in the queue (timers due later included)`,
  });
  return checks;
}

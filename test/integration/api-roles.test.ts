import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { createDb, createPool, type Db } from '../../src/db/database.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { createEmptyDatabase } from '../helpers/database.js';

/**
 * A database set up as Supabase sets one up, before our first migration: its API roles, and default
 * privileges that give them everything the migrating role creates in `public`. After migrating, `anon`
 * (what PostgREST runs an unauthenticated request as) may do nothing to anything of ours: row-level
 * security alone would still let it TRUNCATE, and call a function in `public` as a REST RPC.
 */

const SCHEMAS = ['public', 'audit', 'orchestrator', 'graphile_worker'];
let database: Awaited<ReturnType<typeof createEmptyDatabase>>;
let pool: pg.Pool;
let db: Db;

beforeAll(async () => {
  database = await createEmptyDatabase('supabase');
  pool = createPool(database.url, { max: 4 });
  db = createDb(pool);
  // Supabase's roles and grants (its initial schema), as the role that will migrate.
  for (const role of ['anon', 'authenticated', 'service_role']) {
    await pool.query(`do $$ begin create role ${role} nologin; exception when duplicate_object then null; end $$`);
  }
  await pool.query('grant usage on schema public to anon, authenticated, service_role');
  for (const kind of ['tables', 'functions', 'sequences']) {
    await pool.query(`alter default privileges in schema public grant all on ${kind} to anon, authenticated, service_role`);
  }
  await migrateDatabase(db, pool);
}, 120_000);

afterAll(async () => {
  await db.destroy();
  await database.drop();
});

/** Runs one statement as `anon` and rolls it back: the SQLSTATE it failed with, or 'allowed'. */
async function asAnon(statement: string): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('set local role anon');
    await client.query(statement);
    return 'allowed';
  } catch (error) {
    return (error as { code?: string }).code ?? 'no code';
  } finally {
    await client.query('rollback');
    client.release();
  }
}

describe("Supabase's API roles after our migrations", () => {
  it('when anon selects, inserts, updates, deletes or truncates any table of ours, then each is refused for want of privilege', async () => {
    const { rows: tables } = await pool.query<{ relation: string; column: string; kind: string }>(
      `select format('%I.%I', n.nspname, c.relname) as relation, c.relkind as kind,
              (select quote_ident(a.attname) from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped order by a.attnum limit 1) as column
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1) and c.relkind in ('r', 'v', 'p') order by 1`,
      [SCHEMAS],
    );
    expect(tables.map((t) => t.relation)).toEqual(expect.arrayContaining(['public.conversations', 'public.transitions', 'audit.timeline', 'graphile_worker._private_jobs']));
    const outcomes: Record<string, string> = {};
    for (const { relation, column, kind } of tables) {
      outcomes[`select ${relation}`] = await asAnon(`select * from ${relation} limit 1`);
      outcomes[`insert ${relation}`] = await asAnon(`insert into ${relation} default values`);
      outcomes[`update ${relation}`] = await asAnon(`update ${relation} set ${column} = ${column}`);
      outcomes[`delete ${relation}`] = await asAnon(`delete from ${relation}`);
      if (kind !== 'v') outcomes[`truncate ${relation}`] = await asAnon(`truncate ${relation}`);
    }
    expect(Object.keys(outcomes).length).toBeGreaterThan(100);
    expect(Object.entries(outcomes).filter(([, code]) => code !== '42501')).toEqual([]);
  });

  it('when anon calls any function of ours, then it is refused for want of privilege, and none is left in public', async () => {
    const { rows: functions } = await pool.query<{ schema: string; call: string }>(
      `select n.nspname as schema,
              format('%s %I.%I(%s)', case p.prokind when 'p' then 'call' else 'select' end, n.nspname, p.proname,
                     (select string_agg(format('null::%s', format_type(t, null)), ', ') from unnest(p.proargtypes) as t)) as call
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any($1) and p.prokind in ('f', 'p') order by 2`,
      [SCHEMAS],
    );
    expect(functions.filter((f) => f.schema === 'public')).toEqual([]);
    expect(functions.map((f) => f.call)).toEqual(
      expect.arrayContaining([
        'select orchestrator.add_jobs_quietly(null::graphile_worker.job_spec[], null::boolean)',
        'select orchestrator.refuse_audit_change()',
        expect.stringMatching(/^select graphile_worker\.add_job\(null::text, /),
      ]),
    );
    const refused: Record<string, string> = {};
    for (const { call } of functions) refused[call] = await asAnon(call);
    expect(Object.entries(refused).filter(([, code]) => code !== '42501')).toEqual([]);
  });

  it('when the migrating role creates a table in public later, then anon gets nothing on it by default', async () => {
    await pool.query('create table later_table (id bigserial primary key)');
    expect(await asAnon('select * from later_table')).toBe('42501');
    expect(await asAnon('truncate later_table')).toBe('42501');
    // service_role keeps what Supabase gives it: only the two public API roles lose their defaults.
    const { rows } = await pool.query(`select has_table_privilege('service_role', 'later_table', 'select') as granted`);
    expect(rows[0].granted).toBe(true);
  });
});

import { sql, type Kysely } from 'kysely';

/**
 * `q` of GET /v1/conversations matches any part of a tenant id (`ilike '%…%'`), which no b-tree serves: a
 * rare match read the whole list order (0.6 s at 10^5 conversations). A trigram index (pg_trgm, shipped
 * with PostgreSQL and enabled on Supabase) serves it. Where the extension cannot be created (no contrib
 * package, no right to create it), the migration goes on without the index and `q` stays a scan: the
 * filter still answers, more slowly. Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    do $$
    begin
      -- Its own schema, as Supabase keeps extensions: in public its functions would be PostgREST RPCs that
      -- PUBLIC may execute (docs/runbook.md, "Supabase's API roles").
      create schema if not exists extensions;
      create extension if not exists pg_trgm with schema extensions;
    exception when others then
      raise notice 'pg_trgm is not available (%): GET /v1/conversations?q= scans', sqlerrm;
    end
    $$`.execute(db);
  // The operator class lives in whichever schema holds the extension (Supabase: `extensions`).
  await sql`
    do $$
    declare
      home text := (select extnamespace::regnamespace::text from pg_extension where extname = 'pg_trgm');
    begin
      if home is not null then
        execute format('create index conversations_tenant_trgm_idx on conversations using gin (tenant_id %s.gin_trgm_ops)', home);
      end if;
    end
    $$`.execute(db);
}

/**
 * `BENCH_PG_STATEMENTS=1`: where PostgreSQL's time goes, by statement, from the server's own
 * pg_stat_statements (the embedded server is started with it loaded). Per burst: calls, execution and
 * planning time and WAL bytes per turn, nested statements (graphile-worker's functions) included, so the
 * top-level rows contain their nested ones. Times are wall time inside the server: under a burst they
 * include waiting for a CPU. Then what the WAL of the burst holds, by relation (pg_walinspect, PostgreSQL 16
 * and later; skipped where it cannot be created): what each table and index costs a turn in WAL. A reading
 * aid, never an assertion.
 */
import pg from 'pg';

const enabled = () => Boolean(process.env.BENCH_PG_STATEMENTS);

/** Server flags that load pg_stat_statements (none unless BENCH_PG_STATEMENTS is set). */
export function serverStatementFlags(): string[] {
  if (!enabled()) return [];
  return ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all', '-c', 'pg_stat_statements.track_planning=on'];
}

/** Resets the counters of the database at `url`; `print(turns)` shows the top statements since. Null when off. */
export async function startServerStatements(url: string) {
  if (!enabled()) return null;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  await admin.query('create extension if not exists pg_stat_statements');
  const walInspect = await admin.query('create extension if not exists pg_walinspect').then(() => true, () => false);
  await admin.query('select pg_stat_statements_reset()');
  const { rows: [{ lsn: start }] } = await admin.query<{ lsn: string }>('select pg_current_wal_lsn() as lsn');
  return {
    async print(turns: number) {
      const { rows } = await admin.query<{ calls: string; exec_ms: string; plan_ms: string; wal_bytes: string; query: string }>(
        `select calls, total_exec_time as exec_ms, total_plan_time as plan_ms, wal_bytes, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) as query
           from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
          order by total_exec_time + total_plan_time desc limit 15`,
      );
      const per = (value: string) => perTurn(value, turns, 3);
      console.log('    per turn: calls / exec ms / plan ms / WAL bytes  statement');
      for (const row of rows) console.log(`    ${per(row.calls)} ${per(row.exec_ms)} ${per(row.plan_ms)} ${perTurn(row.wal_bytes, turns, 0)}  ${row.query}`);
      if (walInspect) await printWalByRelation(admin, start, turns);
      await admin.end();
    },
  };
}

/**
 * The burst's WAL (the whole server's, from the counters' reset to now), by the relation each record's
 * blocks belong to: record bytes (a record that touches several blocks counts in each) and full-page images.
 */
async function printWalByRelation(admin: pg.Pool, start: string, turns: number) {
  const { rows: [total] } = await admin.query<{ wal: string }>('select pg_wal_lsn_diff(pg_current_wal_lsn(), $1) as wal', [start]);
  const { rows } = await admin
    .query<{ relation: string; records: string; record_bytes: string; fpi_bytes: string }>(
      `select coalesce(r.relname, b.relfilenode::text) as relation, count(distinct b.start_lsn) as records,
              sum(b.record_length) as record_bytes, sum(b.block_fpi_length) as fpi_bytes
         from pg_get_wal_block_info($1, pg_current_wal_lsn(), false) b
         left join lateral (
           select coalesce((select o.relname || ' (toast)' from pg_class o where o.reltoastrelid = c.oid), c.relname) as relname
             from pg_class c where c.relfilenode = b.relfilenode limit 1) r on true
        group by 1 order by sum(b.record_length) desc limit 15`,
      [start],
    )
    .catch(() => ({ rows: [] }));
  if (rows.length === 0) return;
  console.log(`    WAL per turn: ${perTurn(total!.wal, turns, 0).trim()} bytes in all; by relation: records / record bytes / full-page image bytes`);
  for (const row of rows) console.log(`    ${perTurn(row.records, turns, 2)} ${perTurn(row.record_bytes, turns, 0)} ${perTurn(row.fpi_bytes, turns, 0)}  ${row.relation}`);
}

const perTurn = (value: string, turns: number, digits: number) => (Number(value) / turns).toFixed(digits).padStart(7);

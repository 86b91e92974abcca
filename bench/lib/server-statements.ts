/**
 * `BENCH_PG_STATEMENTS=1`: where PostgreSQL's time goes, by statement, from the server's own
 * pg_stat_statements (the embedded server is started with it loaded). Per burst: calls, execution and
 * planning time and WAL bytes per turn, nested statements (graphile-worker's functions) included, so the
 * top-level rows contain their nested ones. Times are wall time inside the server: under a burst they
 * include waiting for a CPU. A reading aid, never an assertion.
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
  await admin.query('select pg_stat_statements_reset()');
  return {
    async print(turns: number) {
      const { rows } = await admin.query<{ calls: string; exec_ms: string; plan_ms: string; wal_bytes: string; query: string }>(
        `select calls, total_exec_time as exec_ms, total_plan_time as plan_ms, wal_bytes, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) as query
           from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
          order by total_exec_time + total_plan_time desc limit 15`,
      );
      const per = (value: string) => (Number(value) / turns).toFixed(3).padStart(7);
      console.log('    per turn: calls / exec ms / plan ms / WAL bytes  statement');
      for (const row of rows) console.log(`    ${per(row.calls)} ${per(row.exec_ms)} ${per(row.plan_ms)} ${String(Math.round(Number(row.wal_bytes) / turns)).padStart(7)}  ${row.query}`);
      await admin.end();
    },
  };
}

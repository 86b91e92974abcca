/**
 * Are the statements of one event index-backed? auto_explain logs the plan of every statement the service
 * runs (those inside functions too, such as graphile_worker.add_job) to the server log while a few
 * requests go through; a sequential scan of a table that grows with the conversations is a finding.
 */
import type pg from 'pg';

/** Turns plan logging on for new sessions of one database (the service started next opens them). */
export async function explainNewSessions(admin: pg.Pool, database: string, on: boolean) {
  const name = `"${database.replaceAll('"', '""')}"`;
  if (!on) {
    await admin.query(`alter database ${name} reset all`);
    return;
  }
  for (const setting of [
    `session_preload_libraries = 'auto_explain'`,
    `auto_explain.log_min_duration = 0`,
    `auto_explain.log_nested_statements = on`,
  ]) {
    await admin.query(`alter database ${name} set ${setting}`);
  }
}

export interface ScanFinding {
  table: string;
  /** Rows in the table when the plan was made (pg_class.reltuples after ANALYZE). */
  rows: number;
  /** The first line of the statement, for the report. */
  statement: string;
}

/** A server log entry starts with the default log_line_prefix, `%m [%p] `. */
const ENTRY_START = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] /m;

/**
 * The sequential scans in the plans logged in `log`, with the size of the table scanned. Scans of small
 * tables (graphile-worker's task list, an empty opt-out list) are normal and reported apart by the caller.
 */
export async function sequentialScans(admin: pg.Pool, log: string): Promise<{ plans: number; scans: ScanFinding[] }> {
  const entries = log.split(ENTRY_START).filter((entry) => entry.includes('plan:'));
  const found = new Map<string, { table: string; statement: string }>();
  for (const entry of entries) {
    const statement = /Query Text:\s*(.*)/.exec(entry)?.[1]?.trim().slice(0, 120) ?? '(unknown)';
    for (const match of entry.matchAll(/Seq Scan on (?:(\w+)\.)?(\w+)/g)) {
      const table = match[1] ? `${match[1]}.${match[2]}` : match[2]!;
      found.set(`${table}|${statement}`, { table, statement });
    }
  }
  const scans: ScanFinding[] = [];
  for (const { table, statement } of found.values()) {
    const { rows } = await admin.query<{ rows: number }>(`select coalesce(max(reltuples), -1)::float8 as rows from pg_class where relname = $1`, [table.split('.').at(-1)]);
    scans.push({ table, statement, rows: Number(rows[0]?.rows ?? -1) });
  }
  return { plans: entries.length, scans: scans.sort((a, b) => b.rows - a.rows) };
}

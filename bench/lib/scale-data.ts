/**
 * Stored conversations in bulk, for the scale benchmark. A few template conversations are made by the real
 * service (HTTP, worker, drafter, simulators), so every table a conversation writes has its real rows; then
 * each generated conversation is a copy of one template, made in SQL (INSERT … SELECT over generate_series,
 * one statement per table, rows in key order), with its own ids: conversation id, tenant, phone, draft id.
 * Indexes, constraints and triggers stay in place. The copies' audit chains are not valid (a hash covers
 * its conversation id); nothing on the event path verifies them.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { startServiceProcess } from './service.js';

export interface Template {
  kind: string;
  text: string;
  conversationId: string;
  tenantId: string;
  phone: string;
  draftId: string;
  state: string;
}

/** A tenant id whose last four digits put `+1555123NNNN` on the simulated monitor's record (README). */
export const TEMPLATE_DEBTORS = [
  { kind: 'question', text: 'Hi, what is my balance?', tenantId: 'tenant-scale-template-0001', phone: '+15551230001' },
  { kind: 'hardship', text: 'I lost my job, can I pay $50 a week for 8 weeks?', tenantId: 'tenant-scale-template-0002', phone: '+15551230002' },
] as const;

/** Which template the g-th generated conversation copies: one in ten is the hardship offer, the rest the question. */
export const kindOf = (g: number) => (g % 10 === 0 ? 'hardship' : 'question');

/** The g-th generated conversation's id, as SQL computes it: shaped like the service's (`conv-` + 24 hex), spread like them. */
export const generatedId = (g: number) => `conv-${createHash('md5').update(`scale-${g}`).digest('hex').slice(0, 24)}`;
const ID_SQL = `'conv-' || substr(md5('scale-' || g), 1, 24)`;
const TENANT_SQL = `'tenant-s' || g`;
/** +1 555 0xx xxxx: distinct per conversation, apart from the templates' and the new debtors' numbers. */
const PHONE_SQL = `'+1555' || lpad(g::text, 7, '0')`;
const DRAFT_SQL = `md5('scale-draft-' || g)::uuid::text`;

/** How each table's rows belong to a template: the column that links them, and what it matches. */
const LINKS: Array<{ schema: string; table: string; where: string }> = [
  { schema: 'public', table: 'conversations', where: 'src.id = s.conversation_id' },
  { schema: 'public', table: 'inbox', where: 'src.conversation_id = s.conversation_id' },
  { schema: 'public', table: 'transitions', where: 'src.conversation_id = s.conversation_id' },
  { schema: 'public', table: 'messages', where: 'src.conversation_id = s.conversation_id' },
  { schema: 'public', table: 'drafts', where: 'src.conversation_id = s.conversation_id' },
  { schema: 'public', table: 'approval_decisions', where: 'src.conversation_id = s.conversation_id' },
  { schema: 'public', table: 'outbound_messages', where: 'src.conversation_id = s.conversation_id' },
  { schema: 'public', table: 'escalations', where: 'src.conversation_id = s.conversation_id' },
  { schema: 'public', table: 'compliance_decisions', where: 'src.conversation_id = s.conversation_id' },
  { schema: 'public', table: 'payment_plans', where: 'src.conversation_id = s.conversation_id' },
  { schema: 'public', table: 'plan_instalments', where: 'src.plan_id = s.draft_id' },
  { schema: 'public', table: 'payment_plan_history', where: 'src.plan_id = s.draft_id' },
  { schema: 'public', table: 'effect_log', where: `src.key like s.conversation_id || ':%'` },
  { schema: 'public', table: 'contact_preferences', where: 'src.conversation_id = s.conversation_id' },
  { schema: 'graphile_worker', table: '_private_jobs', where: `src.payload->>'conversationId' = s.conversation_id` },
];

/** Waits until the templates' turns are over: no conversation drafting or sending, no job due. */
export async function waitForTemplates(admin: pg.Pool, ids: string[], timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await admin.query<{ busy: number }>(
      `select (select count(*) from conversations where id = any($1) and (state like 'drafting%' or state like 'sending%'))
            + (select count(*) from graphile_worker._private_jobs where payload->>'conversationId' = any($1) and run_at <= now()) as busy`,
      [ids],
    );
    if (Number(rows[0]!.busy) === 0) return;
    if (Date.now() > until) throw new Error('the template conversations did not settle');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Reads what the service made of each template debtor: its conversation, state and its one draft. */
export async function readTemplates(admin: pg.Pool): Promise<Template[]> {
  const templates: Template[] = [];
  for (const debtor of TEMPLATE_DEBTORS) {
    const { rows } = await admin.query<{ id: string; state: string; draft_id: string }>(
      `select c.id, c.state, (select string_agg(d.id, ',') from drafts d where d.conversation_id = c.id) as draft_id
         from conversations c where c.tenant_id = $1 and c.phone = $2`,
      [debtor.tenantId, debtor.phone],
    );
    const row = rows[0];
    if (rows.length !== 1 || !row || !row.draft_id || row.draft_id.includes(',')) {
      throw new Error(`template ${debtor.kind}: expected one conversation with one draft, got ${JSON.stringify(rows)}`);
    }
    templates.push({ ...debtor, conversationId: row.id, state: row.state, draftId: row.draft_id });
  }
  return templates;
}

export interface GenerationStep {
  table: string;
  rows: number;
  seconds: number;
}

/** How one table's template rows are copied: the columns a copy sets, and which of them hold a template's ids. */
export interface TableCopy {
  link: (typeof LINKS)[number];
  columns: Array<Column & { rewrite: boolean }>;
}

/**
 * Which columns of which tables carry a template's ids (conversation, tenant, number, draft) and must be
 * rewritten in each copy; the others are copied as they are. Read once, from the templates' own rows:
 * rewriting every text column of every row cost several times the insert itself.
 */
export async function planCopies(databaseUrl: string, templates: Template[]): Promise<TableCopy[]> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench-scale-generate' });
  await client.connect();
  try {
    const copies: TableCopy[] = [];
    for (const link of LINKS) {
      const columns = await copyableColumns(client, link.schema, link.table);
      if (columns.length === 0) continue;
      const planned: TableCopy['columns'] = [];
      for (const column of columns) {
        let rewrite = false;
        if (TEXTUAL.has(column.type)) {
          const { rows } = await client.query<{ found: boolean }>(`
            select exists (
              select 1 from ${link.schema}.${link.table} src join ${templatesSql(client, templates)} on ${link.where}
              where strpos(src."${column.name}"::text, s.conversation_id) > 0 or strpos(src."${column.name}"::text, s.draft_id) > 0
                 or strpos(src."${column.name}"::text, s.tenant_id) > 0 or strpos(src."${column.name}"::text, s.phone) > 0) as found`);
          rewrite = rows[0]!.found;
        }
        planned.push({ ...column, rewrite });
      }
      copies.push({ link, columns: planned });
    }
    return copies;
  } finally {
    await client.end();
  }
}

/** The generation's connections: PostgreSQL runs one INSERT per core, so two tables are copied at a time. */
const GENERATION_CONNECTIONS = 2;

/**
 * Generates conversations `from` … `to - 1` (copies of the templates), one INSERT … SELECT per table, then
 * VACUUM (ANALYZE) and CHECKPOINT so that the measurement after it sees planner statistics, a visibility
 * map and no pending flush.
 */
export async function generateConversations(
  databaseUrl: string,
  templates: Template[],
  copies: TableCopy[],
  from: number,
  to: number,
): Promise<{ steps: GenerationStep[]; seconds: number; analyzeSeconds: number }> {
  const clients = await Promise.all(
    Array.from({ length: GENERATION_CONNECTIONS }, async () => {
      const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench-scale-generate' });
      await client.connect();
      // More memory for the sorts that put each table's rows in key order (cheaper index inserts).
      await client.query(`set work_mem = '256MB'`);
      return client;
    }),
  );
  const started = performance.now();
  const steps: GenerationStep[] = [];
  try {
    const queue = [...copies];
    await Promise.all(
      clients.map(async (client) => {
        for (let copy = queue.shift(); copy; copy = queue.shift()) {
          const t0 = performance.now();
          const result = await client.query(insertSql(client, templates, copy, from, to));
          const { schema, table } = copy.link;
          steps.push({ table: `${schema === 'public' ? '' : `${schema}.`}${table}`, rows: result.rowCount ?? 0, seconds: (performance.now() - t0) / 1000 });
        }
      }),
    );
    const generated = (performance.now() - started) / 1000;
    const t1 = performance.now();
    await clients[0]!.query('vacuum (analyze)');
    await clients[0]!.query('checkpoint');
    steps.sort((a, b) => copies.findIndex((c) => a.table.endsWith(c.link.table)) - copies.findIndex((c) => b.table.endsWith(c.link.table)));
    return { steps, seconds: generated, analyzeSeconds: (performance.now() - t1) / 1000 };
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

/** The templates as a relation `s` (kind, conversation_id, tenant_id, phone, draft_id). */
function templatesSql(client: pg.Client, templates: Template[]) {
  const literal = (value: string) => client.escapeLiteral(value);
  const rows = templates.map((t) => `(${[t.kind, t.conversationId, t.tenantId, t.phone, t.draftId].map(literal).join(', ')})`);
  return `(values ${rows.join(', ')}) as s(kind, conversation_id, tenant_id, phone, draft_id)`;
}

function insertSql(client: pg.Client, templates: Template[], copy: TableCopy, from: number, to: number) {
  const { schema, table, where } = copy.link;
  // Materialized: otherwise the planner inlines the ids' md5s into every replace() that uses them.
  return `
    with m as materialized (
      select g, ${ID_SQL} as new_id, ${TENANT_SQL} as new_tenant, ${PHONE_SQL} as new_phone, ${DRAFT_SQL} as new_draft
      from generate_series(${from}::bigint, ${to - 1}::bigint) as g)
    insert into ${schema}.${table} (${copy.columns.map((c) => `"${c.name}"`).join(', ')})
    select ${copy.columns.map((c) => (c.rewrite ? rewritten(c) : UNIQUE_PER_COPY.has(`${table}.${c.name}`) ? `src."${c.name}" || '-' || m.g` : `src."${c.name}"`)).join(', ')}
    from m
    join ${templatesSql(client, templates)} on s.kind = case when m.g % 10 = 0 then 'hardship' else 'question' end
    join ${schema}.${table} src on ${where}
    order by m.new_id`;
}

const TEXTUAL = new Set(['text', 'character varying', 'json', 'jsonb']);
/** Columns unique across the table that hold none of a template's ids: each copy gets its own value (the SMS Agent's id of a text). */
const UNIQUE_PER_COPY = new Set(['outbound_messages.sms_agent_id']);

interface Column {
  name: string;
  type: string;
}

/** Every column a copy sets itself: not generated, not an identity, not filled by a sequence. */
async function copyableColumns(client: pg.Client, schema: string, table: string): Promise<Column[]> {
  const { rows } = await client.query<Column>(
    `select column_name as name, data_type as type from information_schema.columns
      where table_schema = $1 and table_name = $2 and is_generated = 'NEVER' and is_identity = 'NO'
        and coalesce(column_default, '') not like 'nextval(%'
      order by ordinal_position`,
    [schema, table],
  );
  return rows;
}

/** A template's value with its ids replaced by the generated conversation's (text, json and jsonb columns). */
function rewritten(column: Column): string {
  const source = `src."${column.name}"`;
  const replace = (text: string) =>
    `replace(replace(replace(replace(${text}, s.conversation_id, m.new_id), s.draft_id, m.new_draft), s.tenant_id, m.new_tenant), s.phone, m.new_phone)`;
  if (column.type === 'text' || column.type === 'character varying') return replace(source);
  if (column.type === 'jsonb' || column.type === 'json') return `${replace(`${source}::text`)}::${column.type}`;
  return source;
}

/** Rows per table now, for the report (exact counts: the bench owns the database). */
export async function tableSizes(admin: pg.Pool): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const link of LINKS) {
    const { rows } = await admin.query<{ n: string }>(`select count(*) as n from ${link.schema}.${link.table}`);
    sizes[link.table] = Number(rows[0]!.n);
  }
  return sizes;
}

/** The template debtors text the real service (worker on); it drafts, sends and settles each conversation. */
export async function makeTemplates(env: Record<string, string>, admin: pg.Pool, token: string, startTimeoutMs?: number): Promise<Template[]> {
  const service = await startServiceProcess(env, startTimeoutMs);
  try {
    for (const debtor of TEMPLATE_DEBTORS) {
      const res = await fetch(`${service.url}/orchestrate/sms-received`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tenant_id: debtor.tenantId, phone_number: debtor.phone, content: debtor.text, message_id: `scale-template-${debtor.kind}` }),
      });
      if (res.status !== 202) throw new Error(`template ${debtor.kind}: ${res.status} ${await res.text()}`);
    }
    const { rows } = await admin.query<{ id: string }>(`select id from conversations where tenant_id = any($1)`, [TEMPLATE_DEBTORS.map((d) => d.tenantId)]);
    await waitForTemplates(admin, rows.map((row) => row.id));
  } finally {
    await service.stop();
  }
  return readTemplates(admin);
}

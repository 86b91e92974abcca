import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { timezones } from 'libphonenumber-geo-carrier';
import { sql } from 'kysely';
import { optedOutSql, tenantIdSql, tenantRefShape, type TenantRef } from '../db/opt-outs.repository.js';
import { claimOutboundSql, giveBackClaim, type OutboundClaim } from '../db/outbound-messages.repository.js';
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
 * `tenant`: whose opt-outs, stated preferences and earlier texts count (a tenant, or the tenant of the
 * conversation the text belongs to). Each is that tenant's alone (docs/compliance.md, "Whose opt-out"): what
 * another tenant sent the number or was told by it neither holds this tenant's texts back nor shows here.
 *
 * `claim`: the text about to go, claimed in the same statement when the number has not opted out (the round trip
 * of its own it would take is ~0.6 ms of CPU in all; docs/architecture.md §4). The read does not see the claim.
 */
export async function readSendFacts(db: DbOrTrx, tenant: TenantRef, phone: string, now: number, claim?: OutboundClaim): Promise<SendFacts> {
  const facts = sql`select ${optedOutSql(sql<string>`t.id`, phone)} as opted_out,
           p.earliest_hour, p.latest_hour, p.not_at_work,
           (select json_agg(json_build_object('kind', o.kind, 'at', o.first_attempt_at) order by o.first_attempt_at)
              from outbound_messages o join conversations c on c.id = o.conversation_id
             where c.tenant_id = t.id and c.phone = ${phone} and o.first_attempt_at > ${new Date(now - 7 * DAY_MS)} and o.status <> 'held') as sent
      from (select ${tenantIdSql(tenant)} as id) as t left join contact_preferences p on p.tenant_id = t.id and p.phone = ${phone}`;
  // Prepared (once a text, and ~0.5 ms to plan): a fixed text for each shape of `tenant`, with and without a claim.
  const shape = tenantRefShape(tenant);
  const { rows } = await sql<SendFactsRow & { claimed?: boolean }>`${
    claim
      ? sql`${preparedName(`send_facts_and_claim_by_${shape}`)}
    with facts as materialized (${facts}),
         claim as (${claimOutboundSql(claim, sql<boolean>`not (select opted_out from facts)`)})
    select facts.*, exists (select from claim) as claimed from facts`
      : sql`${preparedName(`send_facts_by_${shape}`)} ${facts}`
  }`.execute(db);
  const row = rows[0]!;
  const sent: SendFacts['sent'] = { unsolicited: [], reply: [] };
  for (const text of row.sent ?? []) sent[text.kind]?.push(Date.parse(text.at));
  return {
    optedOut: row.opted_out,
    preference: row.not_at_work === null ? null : { earliestHour: row.earliest_hour, latestHour: row.latest_hour, notAtWork: row.not_at_work },
    sent,
    claimed: row.claimed,
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
  const facts = await readSendFacts(
    deps.db,
    { conversationId: request.conversationId },
    request.phone,
    deps.clock(),
    claim && { ...claim, conversationId: request.conversationId, kind: request.kind },
  );
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

/** The caps as they stand for a number: what was sent in each window (for the API's compliance state). */
export async function capsUsed(db: DbOrTrx, tenantId: string, phone: string, now: number) {
  const { sent } = await readSendFacts(db, tenantId, phone, now);
  const [unsolicited, replies] = [sent.unsolicited, sent.reply];
  const lastDay = (times: number[]) => times.filter((time) => time > now - DAY_MS).length;
  return { unsolicited_last_day: lastDay(unsolicited), unsolicited_last_7_days: unsolicited.length, replies_last_day: lastDay(replies) };
}

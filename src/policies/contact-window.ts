/**
 * When a text may reach a debtor (Reg F §1006.6(b)(1): not before 08:00 or after 21:00 local time).
 * Pure: the clock and the zones come in. docs/compliance.md.
 *
 * - Zones: the monitor's `time_zone` when it gives one; else the area code's zones (Google's data, at the
 *   edge); when they disagree, or the number's zones are unknown or too many to be a place, every candidate
 *   must be inside its window at once. A zone set that spans the whole numbering plan (a 555 number)
 *   falls back to the deployment's service zones.
 * - A reply to the debtor's own message may go out once, outside the window, within `replyWindowMs` of it
 *   (Reg F comment 6(b)(1)-2: a consumer who writes at 22:00 may be answered then). Anything else waits.
 */
import { DateTime } from 'luxon';
import { isInconvenient, WORK_HOURS, type ContactPreference } from './contact-preferences.js';

export interface ContactWindowPolicy {
  /** Local hour the window opens (inclusive). */
  startHour: number;
  /** Local hour the window closes (exclusive). */
  endHour: number;
  /** How long after the debtor's own message one reply may go out whatever the hour. */
  replyWindowMs: number;
  /** Zones assumed when nothing better is known (the deployment's service area). */
  fallbackZones: readonly string[];
  /** An area code with more zones than this is not a place (non-geographic or unassigned): use the fallback. */
  maxAreaCodeZones: number;
}

export const DEFAULT_CONTACT_WINDOW: ContactWindowPolicy = Object.freeze({
  startHour: 8,
  endHour: 21,
  replyWindowMs: 30 * 60_000,
  fallbackZones: ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Phoenix', 'America/Los_Angeles'],
  maxAreaCodeZones: 4,
});

/** The zones a send must respect, from what the monitor and the number say. */
export function candidateZones(tenantZone: string | null, numberZones: readonly string[], policy: ContactWindowPolicy = DEFAULT_CONTACT_WINDOW): string[] {
  const place = numberZones.length > 0 && numberZones.length <= policy.maxAreaCodeZones ? [...numberZones] : [];
  if (tenantZone) return place.length === 0 || place.includes(tenantZone) ? [tenantZone] : [tenantZone, ...place];
  return place.length > 0 ? place : [...policy.fallbackZones];
}

function insideWindow(instant: DateTime, zone: string, policy: ContactWindowPolicy, preference: ContactPreference | null = null): boolean {
  const local = instant.setZone(zone);
  return local.hour >= policy.startHour && local.hour < policy.endHour && !isInconvenient(preference, local.hour, local.weekday);
}

export interface SendDecision {
  allowed: boolean;
  /** When not allowed: the first instant every zone is inside its window. */
  notBefore: Date | null;
  /** Why, for the audit row and the metric label: `window`, `reply_exception`, `outside_window`. */
  rule: 'window' | 'reply_exception' | 'outside_window';
}

/**
 * May a text go now? `inReplyTo` is when the debtor's message this text answers arrived (null for texts we
 * start: reminders, notices).
 */
export function decideSendTime(
  now: Date,
  zones: readonly string[],
  inReplyTo: Date | null,
  policy: ContactWindowPolicy = DEFAULT_CONTACT_WINDOW,
  preference: ContactPreference | null = null,
): SendDecision {
  const instant = DateTime.fromJSDate(now);
  if (zones.every((zone) => insideWindow(instant, zone, policy, preference))) return { allowed: true, notBefore: null, rule: 'window' };
  if (inReplyTo && now.getTime() - inReplyTo.getTime() <= policy.replyWindowMs && now >= inReplyTo) {
    return { allowed: true, notBefore: null, rule: 'reply_exception' };
  }
  return { allowed: false, notBefore: nextOpening(now, zones, policy, preference), rule: 'outside_window' };
}

/**
 * The first instant after `now` at which every zone is inside its window. The intersection of the windows
 * opens when the last of them opens, so the answer is one of the zones' opening times; three days ahead
 * always holds one (a daylight-saving change moves an opening by an hour, never skips a day).
 */
export function nextOpening(
  now: Date,
  zones: readonly string[],
  policy: ContactWindowPolicy = DEFAULT_CONTACT_WINDOW,
  preference: ContactPreference | null = null,
): Date | null {
  const start = DateTime.fromJSDate(now);
  // Where a window can open: the calling hours' start, and the ends of what a debtor's preference keeps clear.
  const hours = [policy.startHour, preference?.earliestHour, preference?.notAtWork ? WORK_HOURS.to : null].filter(
    (hour): hour is number => typeof hour === 'number' && hour < 24,
  );
  const openings = zones
    .flatMap((zone) => [0, 1, 2, 3].flatMap((days) => hours.map((hour) => start.setZone(zone).startOf('day').plus({ days }).set({ hour }))))
    .filter((opening) => opening > start)
    .sort((a, b) => a.toMillis() - b.toMillis());
  const first = openings.find((opening) => zones.every((zone) => insideWindow(opening, zone, policy, preference)));
  return first ? first.toJSDate() : null;
}

/** "08:00 America/Chicago": how a deferral reads in the audit trail (the first zone's local time). */
export function describeInstant(instant: Date, zones: readonly string[]): string {
  const zone = zones[0] ?? 'UTC';
  return `${DateTime.fromJSDate(instant).setZone(zone).toFormat('yyyy-LL-dd HH:mm')} ${zone}`;
}

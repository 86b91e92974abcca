import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { describeError } from './util.js';

export interface Verdict {
  allowed: boolean;
  rule: string | null;
  violations: Array<{ code: string; detail?: string }>;
  segments: number;
  encoding: string;
  max_segments: number;
  language: string;
}

/** What each rule means to a manager (the codes are docs/compliance.md's). */
export const RULE_NAMES: Record<string, string> = {
  empty: 'the text is empty',
  too_long: 'too many SMS segments',
  missing_disclosure: 'does not say it is from a debt collector',
  missing_agency: 'does not name the agency',
  missing_notice: 'a first text needs the full notice',
  missing_opt_out: 'no "Reply STOP to opt out"',
  banned_phrase: 'a threat or banned phrase',
  fee_language: 'mentions fees',
  amount_mismatch: 'an amount that is not the ledger\'s',
};

export const describeViolation = (v: { code: string; detail?: string }) => `${v.code}: ${RULE_NAMES[v.code] ?? 'refused'}${v.detail ? ` (${v.detail})` : ''}`;

/** The service's verdict on `text` for this conversation, asked again as the manager types (debounced). */
export function useVerdict(conversationId: string, text: string) {
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    const timer = setTimeout(async () => {
      try {
        const answer = await api<Verdict>('POST', `/v1/conversations/${encodeURIComponent(conversationId)}/compliance-check`, { text });
        if (current) {
          setVerdict(answer);
          setError(null);
        }
      } catch (e) {
        if (current) setError(describeError(e));
      }
    }, 200);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [conversationId, text]);
  return { verdict, error };
}

export function VerdictLine(props: { verdict: Verdict | null; error: string | null; id: string }) {
  const { verdict, error } = props;
  if (error) return html`<p class="verdict" id=${props.id} role="status">Compliance check unavailable: ${error}</p>`;
  if (!verdict) return html`<p class="verdict" id=${props.id} role="status">Checking…</p>`;
  const segments = html`<span class="segments">${verdict.segments} / ${verdict.max_segments} SMS segments (${verdict.encoding})</span>`;
  return verdict.allowed
    ? html`<p class="verdict ok" id=${props.id} role="status" data-verdict="allowed">✓ Passes the compliance checks · ${segments}</p>`
    : html`<div class="verdict refused" id=${props.id} role="status" data-verdict="refused">
        <p>✗ Refused by <strong data-rule=${verdict.rule}>${verdict.rule}</strong> · ${segments}</p>
        <ul>${verdict.violations.map((v) => html`<li>${describeViolation(v)}</li>`)}</ul>
      </div>`;
}

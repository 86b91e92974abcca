import { randomUUID } from 'node:crypto';
import type { ActionParams, DraftReplyInput } from '../../machines/conversation/conversation.machine.js';
import type { Language } from '../../machines/conversation/conversation.types.js';
import type { Db } from '../db/database.js';
import { readDraftFacts, type DraftFactsWanted } from '../db/draft-facts.repository.js';
import { groupCalls } from '../runtime/batches.js';
import { findDebtorOptOut } from '../db/opt-outs.repository.js';
import { DEFAULT_NEGOTIATION, debtorPlanFacts, missedText, negotiate, reminderText, type NegotiationSettings } from '../negotiation/index.js';
import type { Logger } from '../logger.js';
import { assertCompliant, checkOutgoingText, complianceReviewReason, DEFAULT_COMPLIANCE, type CompliancePolicy } from '../policies/compliance.js';
import type { Activities, EffectContext, Effects } from '../runtime/worker.js';
import { draftCheckOptions, isFirstText, toDraft, type DraftRequest, type Drafter, type DraftProposal } from './drafting/drafter.js';
import type { NotificationPriority, NotificationService, Services } from './ports.js';
import { claimedName, identityOf, identityRequestText, type Identity } from '../policies/identity.js';
import { latestIdentityClaim, recordIdentityClaim } from '../db/identity-claims.repository.js';
import { acknowledgementText, REVEALS_ACCOUNT } from '../policies/acknowledgements.js';
import { detectContactPreference, type ContactPreference } from '../policies/contact-preferences.js';
import { recordContactPreference } from '../db/contact-preferences.repository.js';
import { checkSend, createGateReads, recordComplianceDecision, type FrequencyCaps, type SendGateDeps } from './send-gate.js';
import { deliverSms, optedOutError, tenantTextedNumber } from './sms-delivery.js';
import { AppError } from '../errors.js';
import type { ContactWindowPolicy } from '../policies/contact-window.js';

type NotificationContent = Parameters<NotificationService['send']>[0];

/**
 * The I/O of the machine, built from its dependencies (temporal-style "activities"): the invoked
 * actors by their `src`, and the named side effects. Everything here may run more than once for the
 * same job, so each one is idempotent: by the draft id, the message key or the effect key.
 */

export interface EffectDeps {
  db: Db;
  services: Services;
  drafter: Drafter;
  logger: Logger;
  managersRecipient: string;
  compliance?: CompliancePolicy;
  negotiation?: NegotiationSettings;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  clock?: () => number;
  /** `on_record` (default): account details only to the tenant's numbers or a verified one; `off`: no check. */
  identityCheck?: 'on_record' | 'off';
  contactWindow?: ContactWindowPolicy;
  frequencyCaps?: FrequencyCaps;
  /** Counts the send-time gate's decisions by rule (metrics). */
  onComplianceDecision?: (rule: string, decision: string) => void;
}

const sendGate = (deps: EffectDeps): SendGateDeps => ({
  db: deps.db,
  // The texts that reach the gate at the same moment are read and claimed in one statement.
  reads: createGateReads(deps.db),
  clock: deps.clock ?? Date.now,
  contactWindow: deps.contactWindow,
  onDecision: deps.onComplianceDecision,
});

export function createActivities(deps: EffectDeps): Activities {
  const { db, services, drafter, logger } = deps;
  const policy = deps.compliance ?? DEFAULT_COMPLIANCE;
  const settings = deps.negotiation ?? DEFAULT_NEGOTIATION;
  const clock = deps.clock ?? Date.now;
  const gate = sendGate(deps);
  const capped = { ...gate, caps: deps.frequencyCaps };
  // The drafting jobs that start at the same moment (a burst's) read their facts in one statement.
  const draftFactsReads = groupCalls((wanted: DraftFactsWanted[]) => readDraftFacts(db, wanted), { maxInFlight: 2, maxBatch: 100 });

  /**
   * A number that is not on the tenant's record and not verified hears only who we are and a request to
   * confirm who they are: the drafter's text is replaced, whatever it said. Once asked, their answer is a
   * claim a manager verifies (the machine escalates it), and the draft says someone will get back to them.
   * An opt-out or a legal intent still routes first (routing reads the intents, which stay).
   */
  function withheldFromThirdParties(proposal: DraftProposal, identity: Identity, request: DraftRequest, asked: boolean): DraftProposal {
    if (identity !== 'unverified') return proposal;
    const firstText = isFirstText(request);
    return {
      ...proposal,
      text: asked
        ? acknowledgementText('identity_claimed', request.tenant.language, policy, { firstText })
        : identityRequestText(request.tenant.language, policy, { firstText }),
      confidence: Math.max(proposal.confidence, 0.9),
      reviewReason: null,
      reasons: [
        ...proposal.reasons,
        asked
          ? 'identity:claimed (the number answered the identity question; a manager verifies it)'
          : 'identity:unverified (account details withheld; asked to confirm identity)',
      ],
    };
  }

  /**
   * "Don't text me at work", "only after 6pm": kept per tenant and number, honoured by the calling-hours check. Returns
   * what these messages stated (the newest statement wins), for the reply to acknowledge.
   */
  async function recordStatedPreferences(conversationId: string, phone: string, texts: readonly string[]) {
    let stated: ContactPreference | null = null;
    for (const text of texts) {
      const preference = detectContactPreference(text);
      if (!preference) continue;
      stated = preference;
      await recordContactPreference(db, phone, conversationId, preference);
      const said = [
        preference.earliestHour !== null ? `not before ${preference.earliestHour}:00` : null,
        preference.latestHour !== null ? `not after ${preference.latestHour}:00` : null,
        preference.notAtWork ? 'not during working hours' : null,
      ].filter(Boolean);
      await recordComplianceDecision(gate, { conversationId, rule: 'contact_preference', decision: 'recorded', detail: said.join('; ') });
    }
    return stated;
  }

  /**
   * The texts the reply answers (read where they live; jobs queued by an earlier release carry the texts' list
   * instead of a count), the tenant's broken plans, whether it texted the number before, and the thread: one statement.
   */
  function draftFacts(input: DraftReplyInput) {
    const count = input.unansweredCount ?? (input as { unanswered?: unknown[] }).unanswered?.length ?? 0;
    return draftFactsReads({ conversationId: input.conversationId, count, tenantId: input.tenantId, phone: input.phone });
  }

  return {
    async draftReply(input, context) {
      // The thread is ours, this tenant's only: the SMS Agent's history of the number mixes every tenant's texts.
      const [tenant, { brokenPlans, unanswered, textedBefore, history }] = await Promise.all([
        services.collectionsMonitor.getTenant(input.tenantId, context.signal),
        draftFacts(input),
      ]);
      const statedPreference = await recordStatedPreferences(input.conversationId, input.phone, unanswered.map((message) => message.text));
      // Jobs written before plans existed carry no plan fields.
      const offeredPlan = input.offeredPlan ?? null;
      const plan = input.plan ?? null;
      // No plan is discussed with a number that may not be the debtor's (its amounts are account details).
      const identity = deps.identityCheck === 'off' ? 'on_record' : identityOf(input.phone, tenant.phoneNumbers, input.identityVerified ?? false);
      const step = identity === 'unverified' ? null : negotiate({
        texts: unanswered.map((message) => message.text),
        offeredPlan,
        activePlan: plan,
        ...debtorPlanFacts(tenant, brokenPlans, settings),
        language: tenant.language,
        now: new Date(clock()),
        policy: settings.policy,
        timers: settings.timers,
        compliance: policy,
        firstText: isFirstText({ history, textedBefore }),
        paidSinceOffer: input.paidSinceOffer ?? 0,
      });
      const request: DraftRequest = { conversationId: input.conversationId, tenant, history, textedBefore, unanswered, step, plan, statedPreference };
      const asked = identity === 'unverified' && (input.identityAsked ?? false);
      const proposal = withheldFromThirdParties(await drafter.draft(request, context.signal), identity, request, asked);
      // Draft-time check, with what only the draft knows (first text, ledger, plan amounts); the text is
      // checked again when it is sent.
      const violations = proposal.reviewReason ? [] : checkOutgoingText(proposal.text, draftCheckOptions(request, policy));
      const reviewReason = proposal.reviewReason ?? complianceReviewReason(violations);
      // Each refusal and each withholding is a recorded decision, by rule, like the send-time gate's.
      const refused = reviewReason?.startsWith('compliance:') ? reviewReason.slice('compliance:'.length).split(',') : [];
      for (const code of refused) {
        await recordComplianceDecision(gate, { conversationId: input.conversationId, rule: code, decision: 'refused', detail: `refused: ${code}` });
      }
      if (identity === 'unverified') {
        await recordComplianceDecision(gate, { conversationId: input.conversationId, rule: 'identity', decision: 'withheld', detail: 'withheld: unverified number' });
      }
      // The answer to the identity question, beside the names on record, for the manager who verifies it.
      const answer = unanswered.at(-1);
      if (asked && answer) {
        await recordIdentityClaim(db, { conversationId: input.conversationId, messageId: answer.messageId, claimedName: claimedName(answer.text), namesOnRecord: [tenant.tenantName] });
      }
      const draft = {
        ...toDraft(proposal, randomUUID(), tenant.language, step, reviewReason),
        timeZone: tenant.timeZone,
        identity: identity === 'unverified' ? (asked ? ('claimed' as const) : ('ask' as const)) : null,
      };
      context.keepDraft({
        ...draft,
        conversationId: input.conversationId,
        promptVersion: proposal.promptVersion,
        reasons: proposal.reasons,
        rawText: proposal.rawText,
        usage: proposal.usage,
        latencyMs: proposal.latencyMs,
      });
      logger.info(
        {
          conversationId: input.conversationId,
          draftId: draft.id,
          drafter: draft.drafter,
          model: draft.model,
          confidence: draft.confidence,
          intents: draft.intents,
          negotiation: step?.kind ?? null,
          reviewReason,
          latencyMs: proposal.latencyMs,
        },
        'draft made',
      );
      return draft;
    },

    async sendSms(input, context) {
      // Send-time check: a text that fails is never sent; the conversation goes to `failed` for a person.
      assertCompliant(input.text, input.language, policy);
      // Opted out, quiet hours, frequency cap: outside the debtor's window the text waits (the machine holds
      // it in sending.waitingForWindow); to an opted-out number it never goes.
      const verdict = await checkSend(
        capped,
        { conversationId: input.conversationId, phone: input.phone, timeZone: input.timeZone ?? null, inReplyTo: input.inReplyTo ?? null, kind: 'reply' },
        { key: input.messageKey, text: input.text },
      );
      if (!verdict.allowed && verdict.optedOut) throw optedOutError();
      if (!verdict.allowed) {
        logger.info({ conversationId: input.conversationId, notBefore: verdict.notBefore }, 'send deferred by the send-time gate');
        return { deferredUntil: verdict.notBefore.toISOString(), reason: verdict.detail };
      }
      const { smsId } = await deliverSms(
        { db, smsAgent: services.smsAgent, logger },
        { key: input.messageKey, conversationId: input.conversationId, phone: input.phone, text: input.text },
        { signal: context.signal, fence: context.whileLive, claimed: verdict.claimed },
      );
      logger.info({ conversationId: input.conversationId, smsId }, 'sms handed to the SMS Agent');
      return { smsId };
    },
  };
}

/** The one confirmation of an opt-out: who we are, that it worked, nothing else. */
const OPT_OUT_CONFIRMATION: Record<Language, (agency: string) => string> = {
  en: (agency) => `${agency}: you have been unsubscribed and will receive no more texts from us.`,
  es: (agency) => `${agency}: se ha dado de baja y no recibirá más mensajes nuestros.`,
};

const STAFF_SUBJECT: Record<ActionParams['notifyStaff']['kind'], (reason: string) => string> = {
  escalated: (reason) => `Conversation escalated: ${reason}`,
  failed: (reason) => `Conversation failed while ${reason}`,
  inbound_while_escalated: () => 'The debtor wrote in an escalated conversation',
  plan_agreed: () => 'A payment plan was agreed',
  instalment_missed: () => 'A plan instalment was missed',
};

const STAFF_PRIORITY: Record<string, NotificationPriority> = {
  attorney: 'critical',
  bankruptcy: 'critical',
  cease: 'critical',
  // A lawsuit threat or a regulator complaint has a response clock and counsel involved.
  threat_to_sue: 'critical',
  regulator_complaint: 'critical',
  harassment_claim: 'high',
  supervisor_request: 'high',
  dispute: 'high',
  hostile: 'high',
  approval_sla: 'high',
  missed_payments: 'high',
  overpaid: 'high',
  unrealistic_proposal: 'normal',
};

export function createEffects(deps: EffectDeps): Effects {
  const { db, services, logger } = deps;
  const policy = deps.compliance ?? DEFAULT_COMPLIANCE;
  const clock = deps.clock ?? Date.now;
  const gate = sendGate(deps);
  const capped = { ...gate, caps: deps.frequencyCaps };

  /**
   * A notification to the managers' recipient, at least once made safe: a run of the job that finds its
   * key in effect_log does nothing (the service also gets the key as Idempotency-Key).
   */
  async function notify(context: EffectContext, kind: string, content: Omit<NotificationContent, 'channel' | 'recipient'>) {
    const done = await db.selectFrom('effect_log').select('key').where('key', '=', context.key).executeTakeFirst();
    if (done) return;
    const result = await services.notifications.send(
      { channel: 'email', recipient: deps.managersRecipient, ...content },
      context.key,
      context.signal,
    );
    await db
      .insertInto('effect_log')
      .values({ key: context.key, kind, result: JSON.stringify(result) })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
  }

  /**
   * A text composed by code (a plan reminder or notice, an acknowledgement): never to an opted-out number,
   * checked again before it goes, and outside quiet hours or past a cap its job is put back until allowed.
   * With `inReplyTo` it is a reply to the debtor's message (the reply window and the replies' cap apply);
   * without, a text we start.
   */
  async function sendCodeText(context: EffectContext, phone: string, text: string, language: Language, timeZone: string | null, inReplyTo: string | null = null) {
    assertCompliant(text, language, policy);
    const kind = inReplyTo ? ('reply' as const) : ('unsolicited' as const);
    const verdict = await checkSend(capped, { conversationId: context.conversationId, phone, timeZone, inReplyTo, kind }, { key: context.key, text });
    if (!verdict.allowed) {
      if (!verdict.optedOut) await context.runAgainAt(verdict.notBefore);
      return;
    }
    const message = { key: context.key, conversationId: context.conversationId, phone, text, kind };
    try {
      return await deliverSms({ db, smsAgent: services.smsAgent, logger }, message, { signal: context.signal, claimed: verdict.claimed });
    } catch (error) {
      if (error instanceof AppError && error.code === 'opted_out') return; // a STOP committed since checkSend: nothing left
      throw error;
    }
  }

  /** A verification task names who the number says it is, beside the names on record (GET /v1/escalations shows both too). */
  async function claimToVerify(params: ActionParams['notifyStaff'], conversationId: string): Promise<string> {
    if (params.kind !== 'escalated' || params.reason !== 'identity_verification') return '';
    const claim = await latestIdentityClaim(db, conversationId);
    if (!claim) return '';
    return ` The number says it is "${claim.claimed_name}"; the names on record: ${claim.names_on_record.join(', ')}. Verify with identity.verified or identity.rejected.`;
  }

  return {
    notifyManagers: (params, context) =>
      notify(context, 'notifyManagers', {
        subject: params.reminder ? 'Reminder: a reply still waits for approval' : 'A reply waits for approval',
        body: `Conversation ${context.conversationId} has a draft (confidence ${params.confidence.toFixed(2)}) waiting in the approval queue as ${params.approvalId}.`,
        priority: params.reminder ? 'high' : params.confidence < 0.7 ? 'high' : 'normal',
        metadata: { conversation_id: context.conversationId, response_queue_id: params.approvalId, reminder: params.reminder },
      }),

    notifyStaff: async (params, context) =>
      notify(context, 'notifyStaff', {
        subject: STAFF_SUBJECT[params.kind](params.reason),
        body:
          params.kind === 'plan_agreed'
            ? `Conversation ${context.conversationId}: the debtor agreed a payment plan (see GET /v1/plans).`
            : `Conversation ${context.conversationId} needs a person (${params.kind}: ${params.reason}).${await claimToVerify(params, context.conversationId)}`,
        priority: params.kind === 'failed' || params.kind === 'instalment_missed' ? 'high' : (STAFF_PRIORITY[params.reason] ?? 'normal'),
        metadata: { conversation_id: context.conversationId, kind: params.kind, reason: params.reason },
      }),

    sendPlanNotice: async (params, context) => {
      // A reminder that fires after its instalment's deadline (the conversation was elsewhere) is stale: the
      // deadline's own notice says what matters.
      const watched = params.plan.schedule.find((instalment) => instalment.status !== 'kept');
      if (params.kind === 'reminder' && watched && clock() > Date.parse(watched.deadlineAt)) return;
      const text = params.kind === 'reminder' ? reminderText(params.plan, params.language, policy) : missedText(params.plan, params.language, policy);
      const sent = await sendCodeText(context, params.phone, text, params.language, params.plan.timeZone);
      if (sent) logger.info({ conversationId: context.conversationId, smsId: sent.smsId, notice: params.kind }, 'plan notice sent');
    },

    acknowledge: async (params, context) => {
      const tenant = await services.collectionsMonitor.getTenant(params.tenantId, context.signal);
      // The identity rule of every draft: a text that tells of an account goes only to the debtor's number.
      const identity = deps.identityCheck === 'off' ? 'on_record' : identityOf(params.phone, tenant.phoneNumbers, params.identityVerified);
      if (identity === 'unverified' && REVEALS_ACCOUNT.has(params.kind)) {
        await recordComplianceDecision(gate, { conversationId: context.conversationId, rule: 'identity', decision: 'withheld', detail: `withheld: ${params.kind} acknowledgement to an unverified number` });
        return;
      }
      // Per (tenant, number) from our own texts, as for drafts: the SMS Agent's history mixes tenants.
      const firstText = !(await tenantTextedNumber(db, params.tenantId, params.phone));
      const text = acknowledgementText(params.kind, tenant.language, policy, { firstText });
      const sent = await sendCodeText(context, params.phone, text, tenant.language, tenant.timeZone, params.inReplyTo);
      if (sent) logger.info({ conversationId: context.conversationId, smsId: sent.smsId, acknowledgement: params.kind }, 'acknowledgement sent');
    },

    sendOptOutConfirmation: async (params, context) => {
      // One confirmation per number and tenant: only the conversation that recorded the opt-out sends it.
      const owner = await findDebtorOptOut(db, context.conversationId, params.phone);
      if (owner && owner.conversation_id !== context.conversationId) return;
      const { smsId } = await deliverSms(
        { db, smsAgent: services.smsAgent, logger },
        { key: context.key, conversationId: context.conversationId, phone: params.phone, text: OPT_OUT_CONFIRMATION[params.language](policy.agencyName ?? 'Collections'), kind: 'confirmation' },
        { signal: context.signal },
      );
      logger.info({ conversationId: context.conversationId, smsId }, 'opt-out confirmed to the debtor');
    },
  };
}

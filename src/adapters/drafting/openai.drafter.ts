/**
 * The model drafter, on the official `openai` SDK (chat completions).
 *
 * Two kinds of failure, kept apart on purpose:
 * - transport (429, 5xx, timeouts, connection) after the SDK's own retries → throws ServiceError('openai'),
 *   retryable or not, and the workflow's retry machinery decides what happens next;
 * - a bad *answer* (not JSON, wrong shape, truncated, refused, non-compliant, an unverifiable plan) never
 *   throws: it comes back as a proposal with `reviewReason` set, so a manager sees it and nothing goes out
 *   on its own. The raw answer is kept in `rawText` for the draft record.
 *
 * Plans are code's: what the debtor's words do to a plan was decided before the model was asked (the
 * request's `step`), and the text about it (a restatement, a confirmation) replaces the model's. A plan
 * the model reports that code did not read, or reads differently, is flagged for a manager.
 *
 * When the answer is unusable, the text and intents come from the rules drafter (reasons say so), so
 * the manager starts from a compliant suggestion and the hard rules (opt-out first) still see the debtor's
 * intent. Confidence is 0 then: the model said nothing we could use.
 */
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  type ClientOptions,
} from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { INTENTS, type Intent } from '../../../machines/conversation/conversation.types.js';
import { ServiceError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { DownstreamOutcome } from '../../metrics.js';
import {
  DEFAULT_COMPLIANCE,
  checkOutgoingText,
  complianceReviewReason,
  complianceFooter,
  maxCharacters,
  type CompliancePolicy,
} from '../../policies/compliance.js';
import { detectLegalIntents } from '../../policies/legal-intents.js';
import { describePlan, formatCents } from '../../negotiation/index.js';
import { STEP_CONFIDENCE, STEP_INTENT, draftCheckOptions, isFirstText, type DraftProposal, type DraftRequest, type DraftUsage, type Drafter, type ModelPlan } from './drafter.js';
import { PROMPT_VERSION, renderDrafterPrompt } from './prompt.js';
import { acknowledgePreference } from '../../policies/contact-preferences.js';
import { createRulesDrafter, shortFirstName } from './rules.drafter.js';
import { undiciFetch } from './undici-fetch.js';

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
/** Roughly the last dozen or two SMS; older turns rarely change the next reply. */
export const DEFAULT_HISTORY_TOKEN_BUDGET = 1_500;
/** Completion cap for classic chat models: the JSON answer is a 160-character reply plus a few fields. */
const MAX_ANSWER_TOKENS = 600;
/** Reasoning models spend completion tokens on hidden reasoning before the answer. */
const MAX_REASONING_ANSWER_TOKENS = 4_000;
/** Per SMS in the history: JSON keys, direction and timestamp around the text. */
const MESSAGE_OVERHEAD_TOKENS = 12;

export interface OpenAiDrafterOptions {
  apiKey: string;
  /** OPENAI_BASE_URL; defaults to the public API (never read from the environment here). */
  baseUrl?: string;
  model: string;
  /** Per attempt; the SDK retries timeouts too, so the worst case is (maxRetries + 1) × timeoutMs plus backoff. */
  timeoutMs: number;
  /** The SDK's own retries on 408/409/429/5xx/connection errors; default 2. */
  maxRetries?: number;
  logger: Logger;
  /** Approximate tokens (chars / 4) of earlier SMS sent as context; the most recent are kept. */
  historyTokenBudget?: number;
  compliance?: CompliancePolicy;
  /** Told how each request ended, how long it took and the tokens it used (metrics). */
  observe?: (call: { outcome: DownstreamOutcome; seconds: number; usage: DraftUsage | null }) => void;
}

/** The SDK's error → the outcome label of one request (a bounded set, for metrics). */
export function openAiOutcome(error: unknown): DownstreamOutcome {
  if (error instanceof APIUserAbortError) return 'cancelled';
  if (error instanceof APIConnectionTimeoutError) return 'timeout';
  if (error instanceof APIConnectionError) return 'network';
  if (error instanceof APIError && error.status !== undefined) return error.status >= 500 ? 'http_5xx' : 'http_4xx';
  return 'error';
}

export type ResponseFormatKind = 'json_schema' | 'json_object';

function baseModelName(model: string): string {
  // Gateways spell models "openai/gpt-4o"; what matters is the last segment.
  return model.slice(model.lastIndexOf('/') + 1).toLowerCase();
}

/**
 * Strict JSON-schema output (Structured Outputs) exists on gpt-4o (from 2024-08-06), gpt-4o-mini, gpt-4.1*,
 * gpt-5* and the o-series; older models such as gpt-4-turbo only have JSON mode. Either way the answer is
 * validated with zod: JSON mode guarantees JSON, not our shape.
 */
export function responseFormatFor(model: string): ResponseFormatKind {
  const base = baseModelName(model);
  if (base === 'gpt-4o-2024-05-13' || /^o1-(mini|preview)/.test(base)) return 'json_object';
  return /^(gpt-4o|gpt-4\.1|gpt-5|o\d)/.test(base) ? 'json_schema' : 'json_object';
}

/** Reasoning models take max_completion_tokens and reject a non-default temperature. */
function isReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5)/.test(baseModelName(model));
}

/** The JSON schema sent in strict mode: every key required, no extras, nullability spelled as a union. */
const ANSWER_JSON_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['reply', 'intents', 'plan', 'confidence', 'reasons'],
  properties: {
    reply: { type: 'string', description: 'The SMS to send, ending with the required closing sentences.' },
    intents: { type: 'array', items: { type: 'string', enum: [...INTENTS] } },
    plan: {
      anyOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['weekly_amount_cents', 'weeks'],
          properties: { weekly_amount_cents: { type: 'integer' }, weeks: { type: 'integer' } },
        },
        { type: 'null' },
      ],
    },
    confidence: { type: 'number' },
    reasons: { type: 'array', items: { type: 'string' } },
  },
} as const;

/** What we accept, whatever the response format promised. */
const AnswerSchema = z.object({
  reply: z.string(),
  intents: z.array(z.enum(INTENTS)).max(INTENTS.length * 2),
  plan: z
    .object({
      weekly_amount_cents: z.number().int().positive().max(100_000_000),
      weeks: z.number().int().min(1).max(520),
    })
    .nullish()
    .transform((plan) => plan ?? null),
  confidence: z.number().min(0).max(1),
  reasons: z.array(z.string()).max(20).default([]),
});

export function approximateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

interface ContextMessage {
  from: 'debtor' | 'agency';
  at: string;
  text: string;
}

/** The user message: account summary (no phone numbers), recent history within budget, the new messages. */
export function buildUserPayload(request: DraftRequest, historyTokenBudget: number) {
  const { tenant, unanswered } = request;
  const newIds = new Set(unanswered.map((message) => message.messageId));
  // The thread holds the messages we are answering (by the same ids); do not send them twice.
  const earlier = request.history.filter((message) => !newIds.has(message.id));
  const kept: ContextMessage[] = [];
  let spent = 0;
  for (let index = earlier.length - 1; index >= 0; index -= 1) {
    const message = earlier[index];
    const cost = approximateTokens(message.content) + MESSAGE_OVERHEAD_TOKENS;
    if (spent + cost > historyTokenBudget) break;
    spent += cost;
    kept.unshift({ from: message.direction === 'inbound' ? 'debtor' : 'agency', at: message.createdAt, text: message.content });
  }
  return {
    account: {
      first_name: shortFirstName(tenant.tenantName),
      amount_owed: formatCents(tenant.amountOwedCents),
      days_late: tenant.daysLate,
      language: tenant.language,
      payment_reliability_score: tenant.paymentReliabilityScore,
      failed_payment_plans: tenant.failedPaymentPlans,
    },
    earlier_messages: kept,
    earlier_messages_omitted: earlier.length - kept.length,
    new_messages: unanswered.map((message) => ({ at: message.at, text: message.text })),
    negotiation: request.step && { decided: request.step.kind, reply_about_the_plan: request.step.text },
    running_plan: request.plan && describePlan(request.plan, tenant.language),
    // Stored and honoured by the calling-hours check already; the reply should say it was heard.
    contact_preference_to_acknowledge: request.statedPreference ? acknowledgePreference(request.statedPreference, tenant.language) : null,
  };
}

const LANGUAGE_NAMES = { en: 'English', es: 'Spanish' } as const;

/** The part of a proposal that comes from reading the model's answer. */
type Interpretation = Pick<DraftProposal, 'text' | 'intents' | 'confidence' | 'reasons' | 'reviewReason'>;

function stripCodeFence(text: string): string {
  const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/.exec(text.trim());
  return fenced ? fenced[1] : text.trim();
}

export function createOpenAiDrafter(options: OpenAiDrafterOptions): Drafter {
  const { model, timeoutMs, logger } = options;
  const policy = options.compliance ?? DEFAULT_COMPLIANCE;
  const historyTokenBudget = options.historyTokenBudget ?? DEFAULT_HISTORY_TOKEN_BUDGET;
  const maxRetries = options.maxRetries ?? 2;
  const responseFormat = responseFormatFor(model);
  const reasoning = isReasoningModel(model);
  const fallback = createRulesDrafter({ compliance: policy });
  const log = logger.child({ component: 'openai-drafter', model });

  // The SDK logs through console by default, and at debug level it prints request details: route its
  // status lines to pino at debug, drop its own debug output entirely. Below debug it is told to log only
  // warnings: it writes (and scrubs of secrets) an info line for every response, which pino would drop.
  const sdkLogger: NonNullable<ClientOptions['logger']> = {
    error: (message) => log.error({ source: 'openai-sdk' }, message),
    warn: (message) => log.warn({ source: 'openai-sdk' }, message),
    info: (message) => log.debug({ source: 'openai-sdk' }, message),
    debug: () => {},
  };
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseUrl ?? DEFAULT_OPENAI_BASE_URL,
    timeout: timeoutMs,
    maxRetries,
    logger: sdkLogger,
    logLevel: log.isLevelEnabled('debug') ? 'info' : 'warn',
    fetch: undiciFetch,
  });

  function toServiceError(error: unknown): ServiceError | null {
    if (error instanceof APIUserAbortError) return new ServiceError('openai', 'request aborted', true, undefined, { cause: error });
    if (error instanceof APIConnectionTimeoutError) {
      return new ServiceError('openai', `no answer within ${timeoutMs} ms (after ${maxRetries} retries)`, true, undefined, { cause: error });
    }
    if (error instanceof APIConnectionError) return new ServiceError('openai', `connection failed: ${error.message}`, true, undefined, { cause: error });
    if (error instanceof APIError) {
      const status = error.status;
      // 400/401/403/404/422 are configuration or request bugs (key, model name, parameters): retrying cannot help.
      const retryable = status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
      return new ServiceError('openai', `status ${status ?? 'unknown'}: ${error.message}`, retryable, status, { cause: error });
    }
    return null;
  }

  async function unusable(request: DraftRequest, reviewReason: string, detail: string): Promise<Interpretation> {
    const rules = await fallback.draft(request);
    return {
      text: rules.text,
      intents: rules.intents,
      confidence: 0,
      reasons: [`model answer unusable: ${detail}`, 'fallback: text and intents from the rules drafter', ...rules.reasons],
      reviewReason,
    };
  }

  async function interpret(
    request: DraftRequest,
    rawText: string | null,
    finishReason: string | null,
    refusal: string | null,
  ): Promise<Interpretation> {
    if (refusal) return unusable(request, 'model_refusal', 'the model refused');
    if (finishReason === 'content_filter') return unusable(request, 'content_filter', 'stopped by the content filter');
    if (rawText === null || rawText.trim() === '') return unusable(request, 'empty_model_answer', 'no content');
    let json: unknown;
    try {
      json = JSON.parse(stripCodeFence(rawText));
    } catch {
      return finishReason === 'length'
        ? unusable(request, 'truncated_model_answer', 'cut off at the token limit')
        : unusable(request, 'malformed_model_answer', 'not JSON');
    }
    const parsed = AnswerSchema.safeParse(json);
    if (!parsed.success) {
      const where = parsed.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`)
        .join('; ');
      return unusable(request, 'invalid_model_answer', `schema mismatch (${where})`);
    }
    const answer = parsed.data;
    const reasons = answer.reasons.map((reason) => `model: ${reason}`);
    const intents: Intent[] = [...new Set(answer.intents)];
    const modelPlan: ModelPlan | null = answer.plan ? { weeklyAmountCents: answer.plan.weekly_amount_cents, weeks: answer.plan.weeks } : null;
    const texts = request.unanswered.map((message) => message.text);
    const step = request.step;

    // The law does not depend on the model: an opt-out or a human-only intent (a lawyer, a bankruptcy, a
    // threat to sue…) that the code rules see and the model missed is added, so routing still sends it to a person.
    for (const intent of detectLegalIntents(texts).intents) {
      if (intents.includes(intent)) continue;
      if (intent === 'opt_out') intents.unshift(intent);
      else intents.push(intent);
      reasons.push(`safety_net: ${intent} detected by rules`);
    }
    if (step && !intents.includes(STEP_INTENT[step.kind])) intents.push(STEP_INTENT[step.kind]);
    if (modelPlan && !intents.includes('payment_plan')) intents.push('payment_plan');
    if (intents.length > 1 && intents.includes('other')) intents.splice(intents.indexOf('other'), 1);
    if (intents.length === 0) intents.push('other');

    // What to say about a plan is code's: its text replaces the model's, and so does its confidence.
    const text = step?.text ?? answer.reply.trim();
    const confidence = step?.text ? STEP_CONFIDENCE[step.kind] : answer.confidence;
    if (step?.text) reasons.push(`negotiation:${step.kind} (text composed by code)`);
    const violations = checkOutgoingText(text, draftCheckOptions(request, policy));
    let reviewReason = complianceReviewReason(violations);
    if (violations.length > 0) {
      reasons.push(...violations.map((violation) => `violation: ${violation.code}${violation.detail ? ` (${violation.detail})` : ''}`));
    }
    // The model copies amounts, it never computes them: a plan code did not read, or read otherwise, is suspect.
    const read = step?.negotiation?.kind === 'offer' && !step.negotiation.counter ? step.negotiation.plan : null;
    if (modelPlan && !read && step?.kind !== 'unrealistic') {
      reviewReason ??= 'unverified_plan_amount';
      reasons.push('plan: the model reports a plan that code did not read in the debtor messages');
    } else if (modelPlan && read && (read.frequency !== 'weekly' || read.instalmentCents !== modelPlan.weeklyAmountCents)) {
      reviewReason ??= 'plan_mismatch';
      reasons.push('plan: the weekly amount the model reports differs from the one code read');
    }
    return { text, intents, confidence, reasons, reviewReason };
  }

  return {
    name: 'openai',
    async draft(request: DraftRequest, signal?: AbortSignal): Promise<DraftProposal> {
      const language = request.tenant.language;
      const system = renderDrafterPrompt({
        language_name: LANGUAGE_NAMES[language],
        max_length: String(maxCharacters(language, policy)),
        footer: complianceFooter(language, { agencyName: policy.agencyName, firstText: isFirstText(request) }),
        intents: INTENTS.join(', '),
      });
      const messages: ChatCompletionMessageParam[] = [
        { role: 'system', content: system },
        { role: 'user', content: JSON.stringify(buildUserPayload(request, historyTokenBudget)) },
      ];
      const body: ChatCompletionCreateParamsNonStreaming = {
        model,
        messages,
        response_format:
          responseFormat === 'json_schema'
            ? { type: 'json_schema', json_schema: { name: 'sms_draft', strict: true, schema: ANSWER_JSON_SCHEMA } }
            : { type: 'json_object' },
        ...(reasoning ? { max_completion_tokens: MAX_REASONING_ANSWER_TOKENS } : { max_tokens: MAX_ANSWER_TOKENS, temperature: 0.2 }),
      };

      const started = performance.now();
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await client.chat.completions.create(body, { signal });
      } catch (error) {
        options.observe?.({ outcome: openAiOutcome(error), seconds: (performance.now() - started) / 1000, usage: null });
        const serviceError = toServiceError(error);
        log.warn(
          {
            conversationId: request.conversationId,
            latencyMs: Math.round(performance.now() - started),
            upstreamStatus: serviceError?.upstreamStatus,
            retryable: serviceError?.retryable,
            error: serviceError?.message ?? String(error),
          },
          'openai draft failed',
        );
        throw serviceError ?? error;
      }
      const latencyMs = Math.round(performance.now() - started);

      const choice = completion.choices?.[0];
      const rawText = choice?.message?.content ?? null;
      const usage: DraftUsage | null = completion.usage
        ? {
            promptTokens: completion.usage.prompt_tokens,
            completionTokens: completion.usage.completion_tokens,
            totalTokens: completion.usage.total_tokens,
          }
        : null;
      options.observe?.({ outcome: 'ok', seconds: latencyMs / 1000, usage });
      const interpretation = await interpret(request, rawText, choice?.finish_reason ?? null, choice?.message?.refusal ?? null);
      const proposal: DraftProposal = {
        ...interpretation,
        rawText,
        drafter: 'openai',
        model: completion.model || model,
        promptVersion: PROMPT_VERSION,
        usage,
        latencyMs,
      };
      // Counts and labels only: message texts and the model's words stay out of the logs.
      (proposal.reviewReason ? log.warn.bind(log) : log.info.bind(log))(
        {
          conversationId: request.conversationId,
          drafter: 'openai',
          promptVersion: PROMPT_VERSION,
          responseFormat,
          latencyMs,
          promptTokens: usage?.promptTokens,
          completionTokens: usage?.completionTokens,
          intents: proposal.intents,
          confidence: proposal.confidence,
          negotiation: request.step?.kind ?? null,
          reviewReason: proposal.reviewReason,
        },
        'draft proposed by the model',
      );
      return proposal;
    },
  };
}

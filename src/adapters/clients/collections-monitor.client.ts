import { z } from 'zod';
import { ServiceError } from '../../errors.js';
import type { CollectionsMonitor, Tenant } from '../ports.js';
import type { ServiceHttp } from './service-http.js';
import { parseAmountToCents } from '../../negotiation/money.js';
import { isTimeZone } from '../../negotiation/time-zones.js';

export { parseAmountToCents };

export const COLLECTIONS_MONITOR = 'collections_monitor';

const amount = z.union([z.string(), z.number()]).transform((value) => String(value));
const count = z.coerce.number().int().nonnegative();

/** Lenient on purpose: fields we do not use may come and go without breaking us (zod drops them). */
const tenantResponse = z.object({
  success: z.boolean().optional(),
  data: z.object({
    tenant: z.object({
      tenant_id: z.union([z.string(), z.number()]).transform(String),
      tenant_name: z.string(),
      amount_owed: amount,
      days_late: count.nullish().transform((value) => value ?? 0),
      language_preference: z.string().nullish(),
      phone_numbers: z.array(z.string()).nullish().transform((value) => value ?? []),
      payment_reliability_score: z.coerce.number().nullish().transform((value) => value ?? null),
      failed_payment_plans: count.nullish().transform((value) => value ?? 0),
      time_zone: z.string().nullish().transform((value) => (value && isTimeZone(value) ? value : null)),
    }),
  }),
});

export function createCollectionsMonitorClient(http: ServiceHttp): CollectionsMonitor {
  return {
    async getTenant(tenantId, signal) {
      const body = await http.request<unknown>('GET', ['monitor', 'tenant', tenantId], {
        signal,
        operation: 'monitor.tenant',
      });
      const parsed = tenantResponse.safeParse(body);
      if (!parsed.success) {
        const fields = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
        throw new ServiceError(COLLECTIONS_MONITOR, `collections_monitor answered an unexpected tenant shape (${fields})`, false);
      }
      const tenant = parsed.data.data.tenant;
      const amountOwedCents = parseAmountToCents(tenant.amount_owed);
      if (amountOwedCents === undefined) {
        throw new ServiceError(COLLECTIONS_MONITOR, 'collections_monitor answered an amount_owed that is not a decimal amount', false);
      }
      return {
        tenantId: tenant.tenant_id,
        tenantName: tenant.tenant_name,
        amountOwedCents,
        daysLate: tenant.days_late,
        language: languageOf(tenant.language_preference),
        phoneNumbers: tenant.phone_numbers,
        paymentReliabilityScore: tenant.payment_reliability_score,
        failedPaymentPlans: tenant.failed_payment_plans,
        timeZone: tenant.time_zone,
      } satisfies Tenant;
    },
  };
}

/** 'es', 'es-MX', 'Spanish', 'español' → 'es'; anything else (or nothing) → 'en'. */
export function languageOf(preference: string | null | undefined): 'en' | 'es' {
  const value = (preference ?? '').trim().toLowerCase();
  return value.startsWith('es') || value.startsWith('spanish') ? 'es' : 'en';
}

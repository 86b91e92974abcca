import { createHash } from 'node:crypto';
import type express from 'express';
import { createFaults, createSimulatorApp, withControls, finishApp, sendError, type SimulatorControls } from './simulator-kit.js';

/**
 * Stand-in for the Collections Monitor (docs/architecture.md §6): `GET /monitor/tenant/{tenant_id}` for ANY id, with
 * made-up data derived from a hash of the id, so the same id always describes the same debtor.
 *
 * Language: a tenant id that contains "es-" or ends with "-es" (e.g. "es-1042", "tenant-es") prefers
 * Spanish; every other id prefers English. That is the only way to get a Spanish debtor locally.
 *
 * Phone numbers on record: one derived from the id, and for an id ending in four digits NNNN also
 * `+1555123NNNN` (tenant-1042 → +15551231042), so the README's walk-through texts in from a number on the
 * record and gets account details; any other number gets the identity check.
 */

const FIRST_NAMES = ['Maria', 'James', 'Ana', 'Robert', 'Lucia', 'Michael', 'Sofia', 'David', 'Carmen', 'Linda', 'Jose', 'Emily'];
const LAST_NAMES = ['Garcia', 'Smith', 'Martinez', 'Johnson', 'Lopez', 'Brown', 'Hernandez', 'Davis', 'Gonzalez', 'Miller'];

export function isSpanishTenantId(tenantId: string): boolean {
  const id = tenantId.toLowerCase();
  return id.includes('es-') || id.endsWith('-es');
}

/** The simulated tenant record, in the monitor's own (snake_case) shape. */
export function simulatedTenant(tenantId: string) {
  const hash = createHash('sha256').update(tenantId).digest();
  const spanish = isSpanishTenantId(tenantId);
  const cents = 5_000 + (hash.readUInt32BE(0) % 495_000); // $50.00 … $5,000.00
  const portionCents = Math.round(cents * (0.5 + (hash[4] % 51) / 100));
  const phone = `+1555${String(hash.readUInt32BE(5) % 10_000_000).padStart(7, '0')}`;
  return {
    tenant_id: tenantId,
    tenant_name: `${FIRST_NAMES[hash[9] % FIRST_NAMES.length]} ${LAST_NAMES[hash[10] % LAST_NAMES.length]}`,
    amount_owed: toDecimal(cents),
    tenant_portion: toDecimal(portionCents),
    days_late: 1 + (hash[11] % 90),
    language_preference: spanish ? 'es' : 'en',
    phone_numbers: [phone, ...quickStartNumber(tenantId)],
    payment_reliability_score: Math.round(((hash[12] % 101) / 100) * 100) / 100,
    failed_payment_plans: hash[13] % 4,
    property_id: `prop-${hash.readUInt16BE(14) % 500}`,
    unit: `${1 + (hash[16] % 30)}${'ABCD'[hash[17] % 4]}`,
    lease_status: 'active',
  };
}

export type SimulatedTenant = ReturnType<typeof simulatedTenant>;

/** The number the README's walk-through (and the benches' debtors) text from: on the record of an id ending in four digits. */
export function quickStartNumber(tenantId: string): string[] {
  const digits = /(\d{4})$/.exec(tenantId)?.[1];
  return digits ? [`+1555123${digits}`] : [];
}

function toDecimal(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

export interface CollectionsMonitorSimulator extends SimulatorControls {
  app: express.Express;
  /** Tenant ids asked for, in order. */
  readonly lookups: string[];
  /** Overrides fields of one tenant's generated record (e.g. amount_owed: "99.9") until reset. */
  setTenant(tenantId: string, fields: Partial<SimulatedTenant> & Record<string, unknown>): void;
  reset(): void;
}

export function createCollectionsMonitorSimulator(options: { faultControl?: boolean } = {}): CollectionsMonitorSimulator {
  const faults = createFaults({ control: options.faultControl });
  const app = createSimulatorApp(faults);
  const lookups: string[] = [];
  const overrides = new Map<string, Record<string, unknown>>();

  app.get('/monitor/tenant/:tenantId', async (req, res) => {
    const tenantId = req.params.tenantId.trim();
    if (!tenantId) return sendError(res, 404, 'tenant_not_found', 'tenant id is empty');
    lookups.push(tenantId);
    await faults.delay(req);
    res.json({ success: true, data: { tenant: { ...simulatedTenant(tenantId), ...overrides.get(tenantId) } }, timestamp: new Date().toISOString() });
  });
  app.get('/monitor/tenant', (_req, res) => sendError(res, 404, 'tenant_not_found', 'tenant id is empty'));
  finishApp(app);

  return withControls<CollectionsMonitorSimulator>(
    faults,
    {
      app,
      lookups,
      setTenant(tenantId, fields) {
        overrides.set(tenantId, { ...overrides.get(tenantId), ...fields });
      },
    },
    () => {
      lookups.length = 0;
      overrides.clear();
    },
  );
}

import type { Db } from '../db/database.js';
import type { TenantScope } from '../db/tenant-scope.js';
import type { CompliancePolicy } from '../policies/compliance.js';
import type { Runtime } from '../runtime/apply-event.js';

/**
 * What every use case is given: who asks (a token's subject, role and scope, whatever carried it) and the
 * service's parts. Use cases take plain inputs and return plain results; the routes parse and answer.
 */
export interface Caller {
  subject: string;
  role: string;
  /** The tenants the caller sees and acts for (docs/auth.md#scopes). */
  scope: TenantScope;
}

export interface UseCaseDeps {
  db: Db;
  runtime: Runtime;
  compliance: CompliancePolicy;
  /** The service's clock (injectable in tests): when an inbound SMS arrived is the reply window's start. */
  clock: () => number;
}

/** How a caller is written in the audit trail. */
export const actorOf = (caller: Caller) => `${caller.role}:${caller.subject}`;

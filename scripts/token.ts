import { parseArgs } from 'node:util';
import { runCommand } from '../src/command.js';
import { ROLES, signToken, type Role } from '../src/http/auth.js';

/**
 * `npm run token -- <service|manager> [subject] [--tenants a,b] [--org id] [--expires 12h]`: a signed HS256
 * development token for the configured JWT_SECRET (and JWT_ISSUER / JWT_AUDIENCE when set). A manager token
 * without --tenants carries the deployment's ORG_ID, so it sees every tenant (docs/auth.md#scopes).
 */
const usage = `usage: npm run token -- <${ROLES.join('|')}> [subject] [--tenants a,b] [--org id] [--expires 12h]`;
await runCommand('token', async (config) => {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { tenants: { type: 'string' }, org: { type: 'string' }, expires: { type: 'string', default: '12h' } },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  const [role, subject] = parsed.positionals;
  if (!ROLES.includes(role as Role)) {
    console.error(usage);
    return 2;
  }
  const tenants = parsed.values.tenants?.split(',').map((tenant) => tenant.trim()).filter(Boolean);
  const org = parsed.values.org ?? (role === 'manager' && !tenants?.length ? config.auth.orgId : undefined);
  if (role === 'manager' && !tenants?.length && !org) {
    console.error('a manager token needs a scope: pass --tenants a,b (or set ORG_ID for one that sees every tenant)');
    return 2;
  }
  const token = signToken(
    config.jwtSecret,
    role as Role,
    subject ?? (role === 'manager' ? 'manager-dev' : 'sms-agent-dev'),
    parsed.values.expires as Parameters<typeof signToken>[3],
    { tenants: tenants?.length ? tenants : undefined, org, issuer: config.auth.issuer, audience: config.auth.audience },
  );
  process.stdout.write(`${token}\n`);
});

import { loadConfig } from '../src/config.js';
import { ROLES, signToken, type Role } from '../src/http/auth.js';

/** `npm run token -- <service|manager> [subject]`: a signed development token for the configured JWT_SECRET. */
const [role, subject] = process.argv.slice(2);
if (!ROLES.includes(role as Role)) {
  console.error(`usage: npm run token -- <${ROLES.join('|')}> [subject]`);
  process.exit(2);
}
const config = loadConfig();
process.stdout.write(`${signToken(config.jwtSecret, role as Role, subject ?? (role === 'manager' ? 'manager-dev' : 'sms-agent-dev'))}\n`);

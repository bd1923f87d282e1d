import { type Actor, recordChange } from './changes.js';
import { orgsOfUser } from './memberships.js';
import type { Pool } from './pool.js';
import { withTenant } from './tenant.js';

/**
 * Account security events (sign-in, second factor turned on or off, sign-out everywhere) belong
 * to a person, not to one org; each org the person works in keeps them in its own audit log, so
 * its admins can see, say, a moderator turning two-factor sign-in off.
 */
export async function auditUserEvent(
  pool: Pool,
  actor: Actor & { type: 'user' },
  action:
    | 'user.signed_in'
    | 'user.totp_enabled'
    | 'user.totp_disabled'
    | 'user.totp_recovery_codes_replaced'
    | 'user.signed_out_everywhere',
  data: Record<string, unknown> = {},
): Promise<void> {
  for (const org of await orgsOfUser(pool, actor.id)) {
    await withTenant(pool, org.id, (tx) =>
      recordChange(tx, actor, { action, target: { type: 'user', id: actor.id }, data }),
    );
  }
}

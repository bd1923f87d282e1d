import { type Actor, recordChange } from './changes.js';
import { orgsOfUser } from './memberships.js';
import type { Pool } from './pool.js';
import { withTenant } from './tenant.js';

/** Account events that belong to a person rather than to one org. */
export type UserEvent =
  | 'user.signed_in'
  | 'user.totp_enabled'
  | 'user.totp_disabled'
  | 'user.totp_recovery_codes_replaced'
  | 'user.totp_reset'
  | 'user.signed_out_everywhere';

/**
 * Account security events (sign-in, second factor turned on, off or reset, sign-out everywhere)
 * belong to a person, not to one org; each org the person works in keeps them in its own audit
 * log, so its admins can see, say, a moderator turning two-factor sign-in off. The person is the
 * acting user, or `userId` when someone else acts on them (an operator's command).
 */
export async function auditUserEvent(
  pool: Pool,
  actor: Actor & { type: 'user' },
  action: UserEvent,
  data?: Record<string, unknown>,
): Promise<void>;
export async function auditUserEvent(
  pool: Pool,
  actor: Actor,
  action: UserEvent,
  data: Record<string, unknown>,
  userId: string,
): Promise<void>;
export async function auditUserEvent(
  pool: Pool,
  actor: Actor,
  action: UserEvent,
  data: Record<string, unknown> = {},
  userId = actor.type === 'user' ? actor.id : '',
): Promise<void> {
  for (const org of await orgsOfUser(pool, userId)) {
    await withTenant(pool, org.id, (tx) =>
      recordChange(tx, actor, { action, target: { type: 'user', id: userId }, data }),
    );
  }
}

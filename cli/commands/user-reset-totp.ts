import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { totpFailuresKey } from '../../api/routes/totp.js';
import { destroyAllSessions } from '../../api/sessions.js';
import type { Pool } from '../../db/pool.js';
import { disableTotp, getTotp } from '../../db/totp.js';
import { auditUserEvent } from '../../db/user-audit.js';
import { getUser } from '../../db/users.js';
import { type Cli, userArg, withDatabase } from '../context.js';

export const summary = 'turn off two-factor sign-in for a person who lost their authenticator';
export const usage = `npm run cli -- user reset-totp --user <id|Discord user id>

  --user  the GameMod user id (uuid), or the Discord user id they sign in with

For a person who lost their authenticator and their recovery codes, once you have made sure it
is them. Their TOTP (and any enrolment half-way) is removed, every session of theirs ends, and
they sign in again with Discord and enrol anew; organizations that require TOTP refuse them until
they do. Audited as user.totp_reset in each organization they belong to.`;

const ACTOR = { type: 'system', requestId: 'cli:user-reset-totp' } as const;

export interface TotpReset {
  /** Whether TOTP was on (false: nothing, or only an unconfirmed enrolment, was there). */
  wasOn: boolean;
  sessionsEnded: number;
}

/**
 * Removes the person's TOTP, audits it in each of their orgs and ends their sessions: whoever
 * holds a session from before (or the lost phone) has to sign in again, and the person's next
 * sign-in asks no code, so they can enrol again at once.
 */
export async function resetTotp(pool: Pool, redis: Redis, userId: string): Promise<TotpReset> {
  await getUser(pool, userId);
  const state = await getTotp(pool, userId);
  await disableTotp(pool, userId);
  if (state) await auditUserEvent(pool, ACTOR, 'user.totp_reset', { wasOn: state.enabled }, userId);
  // The wrong codes tried with the lost authenticator would otherwise hold up the new enrolment.
  await redis.del(totpFailuresKey(userId));
  const sessionsEnded = await destroyAllSessions(redis, userId);
  return { wasOn: state?.enabled ?? false, sessionsEnded };
}

export async function run(argv: string[], cli: Cli): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { user: { type: 'string' } }, strict: true });
  const user = userArg(values.user, usage);
  await withDatabase(
    async (pool, redis) => {
      const userId = await user.resolve(pool);
      const done = await resetTotp(pool, redis, userId);
      cli.say(
        done.wasOn
          ? `two-factor sign-in turned off for user ${userId}; they can sign in and enrol again`
          : `user ${userId} had no two-factor sign-in on; nothing to turn off`,
      );
      cli.say(`sessions ended: ${done.sessionsEnded}`);
      cli.print(userId);
    },
    { redis: true },
  );
}

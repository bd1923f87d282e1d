import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { destroyAllSessions } from '../../api/sessions.js';
import { listApiTokens, revokeApiToken } from '../../db/api-tokens.js';
import { recordChange } from '../../db/changes.js';
import { orgsOfUser } from '../../db/memberships.js';
import { revokeGrantsOf } from '../../db/oauth-tokens.js';
import type { Pool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { disableUserAccount } from '../../db/users.js';
import { type Cli, userArg, withDatabase } from '../context.js';

export const summary = "disable a person's account: no org access, no sign-in, every session ended";
export const usage = `npm run cli -- user disable --user <id|Discord user id> [--revoke-tokens]

  --user           the GameMod user id (uuid), or the Discord user id they sign in with
  --revoke-tokens  also revoke the API tokens they made, for good (a token a person made holds
                   no more than they do, so it stops with the account anyway; revoked, it
                   stays stopped if the account is ever enabled again)

The account then holds nothing in any organization and cannot sign in; its sessions and live
sockets end; the OAuth grants they gave to apps are revoked for good (reason account_disabled),
so enabling the account again brings no app back. Audited as user.disabled in each organization
they belong to.`;

const ACTOR = { type: 'system', requestId: 'cli:user-disable' } as const;

export interface Disabled {
  alreadyDisabled: boolean;
  sessionsEnded: number;
  /** Per org: the live API tokens the person created, and whether they were revoked now. */
  tokens: { orgId: string; tokenId: string; name: string; revoked: boolean }[];
  /** The OAuth grants the person gave (apps acting for them), revoked now. */
  grantsRevoked: { orgId: string; grantId: string }[];
}

/**
 * Disables the account, audits it in each of the person's orgs, revokes the OAuth grants they
 * gave there and ends their sessions. An API token a person made is the organization's tool (an
 * integration may depend on it) and holds nothing while its maker is disabled, so it is revoked
 * only on request; a grant is the person's own consent to an app acting for them, and ends.
 */
export async function disableUser(
  pool: Pool,
  redis: Redis,
  userId: string,
  opts: { revokeTokens?: boolean } = {},
): Promise<Disabled> {
  const { alreadyDisabled } = await disableUserAccount(pool, userId);
  const tokens: Disabled['tokens'] = [];
  const grantsRevoked: Disabled['grantsRevoked'] = [];
  for (const org of await orgsOfUser(pool, userId)) {
    await withTenant(pool, org.id, async (tx) => {
      if (!alreadyDisabled) {
        await recordChange(tx, ACTOR, {
          action: 'user.disabled',
          target: { type: 'user', id: userId },
          data: {},
        });
      }
      for (const t of await listApiTokens(tx)) {
        if (t.createdBy !== userId || t.revokedAt) continue;
        if (opts.revokeTokens) await revokeApiToken(tx, t.id, ACTOR);
        tokens.push({ orgId: org.id, tokenId: t.id, name: t.name, revoked: opts.revokeTokens === true });
      }
      // In the same transaction as the audit entry; each revocation reaches the API instances'
      // token caches through the outbox.
      for (const grantId of await revokeGrantsOf(tx, userId, ACTOR, 'account_disabled'))
        grantsRevoked.push({ orgId: org.id, grantId });
    });
  }
  // After the database change: a session read in between already holds nothing in any org.
  const sessionsEnded = await destroyAllSessions(redis, userId);
  return { alreadyDisabled, sessionsEnded, tokens, grantsRevoked };
}

export async function run(argv: string[], cli: Cli): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { user: { type: 'string' }, 'revoke-tokens': { type: 'boolean', default: false } },
    strict: true,
  });
  const user = userArg(values.user, usage);
  await withDatabase(
    async (pool, redis) => {
      const userId = await user.resolve(pool);
      const done = await disableUser(pool, redis, userId, { revokeTokens: values['revoke-tokens'] });
      cli.say(
        done.alreadyDisabled
          ? `user ${userId} was already disabled`
          : `disabled user ${userId}: no org access, no sign-in`,
      );
      cli.say(`sessions ended: ${done.sessionsEnded}`);
      for (const t of done.tokens) {
        cli.say(
          `API token "${t.name}" (${t.tokenId}) in org ${t.orgId}: ${t.revoked ? 'revoked' : 'stopped while the account is disabled (--revoke-tokens revokes it)'}`,
        );
      }
      for (const g of done.grantsRevoked) cli.say(`OAuth grant ${g.grantId} in org ${g.orgId}: revoked`);
      cli.print(userId);
    },
    { redis: true },
  );
}

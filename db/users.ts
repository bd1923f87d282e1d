import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';
import { id, snowflake } from './schemas.js';
import { withTransaction } from './transaction.js';
import { parseInput } from './validate.js';

/** Users are global (one person, many orgs), so these take the pool, not a tenant transaction. */
export interface User {
  id: string;
  displayName: string;
  email: string | null;
  avatarUrl: string | null;
  createdAt: Date;
}

const COLUMNS = `id, display_name as "displayName", email, avatar_url as "avatarUrl", created_at as "createdAt"`;

export const createUserInput = z.object({
  displayName: z.string().trim().min(1).max(100),
  email: z.email().max(320).toLowerCase().optional(),
  avatarUrl: z.url().max(500).optional(),
});

export async function createUser(pool: Pool, raw: z.input<typeof createUserInput>): Promise<User> {
  const input = parseInput(createUserInput, raw);
  const r = await pool
    .query<User>({
      text: `insert into users (display_name, email, avatar_url) values ($1::text, $2::text, $3::text) returning ${COLUMNS}`,
      values: [input.displayName, input.email ?? null, input.avatarUrl ?? null],
    })
    .catch((e) => {
      throw mapDbError(e);
    });
  return r.rows[0] as User;
}

export const discordProfileInput = z.object({
  discordUserId: snowflake,
  username: z.string().min(1).max(64),
  globalName: z.string().max(64).nullish(),
  avatar: z.string().max(100).nullish(),
  email: z.email().max(320).toLowerCase().nullish(),
});

/**
 * The user behind a Discord account, created and linked on first sight. One statement per table,
 * in one transaction, so a half-linked account can't exist.
 */
export async function upsertDiscordUser(pool: Pool, raw: z.input<typeof discordProfileInput>): Promise<User> {
  const input = parseInput(discordProfileInput, raw);
  const user = await withTransaction(pool, async (client) => {
    // Someone new pressing two commands at once: both would find no account (`for update` locks
    // no row that isn't there yet) and the second would fail on the provider's unique key. The
    // lock makes the second wait and then find the first's account.
    await client.query({
      text: `select pg_advisory_xact_lock(hashtext('gm:discord-account:' || $1::text))`,
      values: [input.discordUserId],
    });
    const found = await client.query<{ userId: string }>({
      text: 'select user_id as "userId" from discord_accounts where discord_user_id = $1::text for update',
      values: [input.discordUserId],
    });
    const displayName = input.globalName || input.username;
    const avatarUrl = input.avatar
      ? `https://cdn.discordapp.com/avatars/${input.discordUserId}/${input.avatar}.png`
      : null;
    let userId = found.rows[0]?.userId;
    if (!userId) {
      const u = await client.query<{ id: string }>({
        text: 'insert into users (display_name, avatar_url) values ($1::text, $2::text) returning id',
        values: [displayName, avatarUrl],
      });
      userId = (u.rows[0] as { id: string }).id;
      await client.query({
        text: `insert into auth_providers (user_id, provider, provider_user_id) values ($1::uuid, 'discord', $2::text)`,
        values: [userId, input.discordUserId],
      });
    }
    await client.query({
      text: `insert into discord_accounts (user_id, discord_user_id, username, global_name, avatar, updated_at)
             values ($1::uuid, $2::text, $3::text, $4::text, $5::text, now())
             on conflict (user_id) do update set username = excluded.username, global_name = excluded.global_name,
               avatar = excluded.avatar, updated_at = now()`,
      values: [userId, input.discordUserId, input.username, input.globalName ?? null, input.avatar ?? null],
    });
    const r = await client.query<User>({
      text: `update users set display_name = $2::text, avatar_url = $3::text, updated_at = now()
             where id = $1::uuid returning ${COLUMNS}`,
      values: [userId, displayName, avatarUrl],
    });
    return r.rows[0] as User;
  }).catch((err) => {
    throw mapDbError(err);
  });
  return user;
}

export async function getUser(pool: Pool, userId: string): Promise<User> {
  const r = await pool.query<User>({
    text: `select ${COLUMNS} from users where id = $1::uuid`,
    values: [parseInput(id, userId)],
  });
  if (!r.rows[0]) throw new AppError('not_found', 'user not found');
  return r.rows[0];
}

/** The user linked to a Discord account, or null (no account is made). */
export async function userIdForDiscord(pool: Pool, discordUserId: string): Promise<string | null> {
  const r = await pool
    .query<{ userId: string }>({
      text: 'select user_id as "userId" from discord_accounts where discord_user_id = $1::text',
      values: [parseInput(snowflake, discordUserId)],
    })
    .catch((e) => {
      throw mapDbError(e);
    });
  return r.rows[0]?.userId ?? null;
}

/** The refusal a disabled account gets wherever it tries to start or use a session. */
export const accountDisabled = () =>
  new AppError('forbidden', 'this account is disabled: ask an operator of this GameMod installation', {
    details: { reason: 'account_disabled' },
  });

/** Whether the account is disabled (an unknown id counts as disabled: there is nobody to let in). */
export async function isUserDisabled(pool: Pool, userId: string): Promise<boolean> {
  const r = await pool
    .query<{ disabled: boolean }>({
      text: 'select disabled_at is not null as disabled from users where id = $1::uuid',
      values: [parseInput(id, userId)],
    })
    .catch((e) => {
      throw mapDbError(e);
    });
  return r.rows[0]?.disabled ?? true;
}

/**
 * Disables an account: from then on it holds nothing in any org (memberAccess, permissionsOf,
 * heldBy) and cannot sign in. Its sessions live in Redis; the caller ends them
 * (cli/commands/user-disable.ts). Disabling twice keeps the first date.
 */
export async function disableUserAccount(
  pool: Pool,
  userId: string,
): Promise<{ disabledAt: Date; alreadyDisabled: boolean }> {
  const r = await pool
    .query<{ disabledAt: Date; already: boolean }>({
      text: `with before as (select disabled_at from users where id = $1::uuid for update)
             update users u set disabled_at = coalesce(u.disabled_at, now()), updated_at = now()
             from before where u.id = $1::uuid
             returning u.disabled_at as "disabledAt", before.disabled_at is not null as already`,
      values: [parseInput(id, userId)],
    })
    .catch((e) => {
      throw mapDbError(e);
    });
  const row = r.rows[0];
  if (!row) throw new AppError('not_found', 'user not found');
  return { disabledAt: row.disabledAt, alreadyDisabled: row.already };
}

import type pg from 'pg';
import type { SecretBox } from '../lib/secret-box.js';
import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';
import { withTransaction } from './transaction.js';

/**
 * A linked Discord account's OAuth tokens, sealed at rest (lib/secret-box.ts). Global, like the
 * account itself: no tenant involved. Callers see plaintext only in memory, never in a row.
 */

export interface DiscordTokens {
  accessToken: string;
  refreshToken: string;
  scopes: string[];
  expiresAt: Date;
}

interface Row {
  access_sealed: string;
  refresh_sealed: string;
  scopes: string[];
  expires_at: Date;
}

const open = (box: SecretBox, r: Row): DiscordTokens => ({
  accessToken: box.open(r.access_sealed),
  refreshToken: box.open(r.refresh_sealed),
  scopes: r.scopes,
  expiresAt: r.expires_at,
});

async function write(
  client: pg.PoolClient | Pool,
  box: SecretBox,
  userId: string,
  t: DiscordTokens,
  refreshed: boolean,
) {
  await client.query({
    text: `insert into discord_oauth_tokens (user_id, access_sealed, refresh_sealed, scopes, expires_at, refreshed_at)
           values ($1::uuid, $2::text, $3::text, $4::text[], $5::timestamptz, case when $6::boolean then now() end)
           on conflict (user_id) do update set access_sealed = excluded.access_sealed,
             refresh_sealed = excluded.refresh_sealed, scopes = excluded.scopes,
             expires_at = excluded.expires_at, refreshed_at = excluded.refreshed_at`,
    values: [userId, box.seal(t.accessToken), box.seal(t.refreshToken), t.scopes, t.expiresAt, refreshed],
  });
}

/** Keeps the tokens of a sign-in (replacing earlier ones: the newest authorization wins). */
export async function saveDiscordTokens(
  pool: Pool,
  box: SecretBox,
  userId: string,
  t: DiscordTokens,
): Promise<void> {
  await write(pool, box, userId, t, false).catch((err) => {
    throw mapDbError(err);
  });
}

/**
 * What to do with the stored tokens, decided by `fn` while the row is locked: keep them, store
 * rotated ones, or drop them. The lock makes concurrent refreshes take turns, so the second one
 * finds the first one's rotated token instead of spending the old one again (Discord would
 * refuse it, and the account would lose its tokens for nothing).
 */
export type TokenDecision<T> = { keep: T } | { rotate: DiscordTokens; result: T } | { drop: true; result: T };

export async function withDiscordTokens<T>(
  pool: Pool,
  box: SecretBox,
  userId: string,
  fn: (current: DiscordTokens | null) => Promise<TokenDecision<T>>,
): Promise<T> {
  return withTransaction(pool, async (client) => {
    const r = await client.query<Row>({
      text: `select access_sealed, refresh_sealed, scopes, expires_at from discord_oauth_tokens
              where user_id = $1::uuid for update`,
      values: [userId],
    });
    const row = r.rows[0];
    const decision = await fn(row ? open(box, row) : null);
    if ('rotate' in decision) {
      await write(client, box, userId, decision.rotate, true);
      return decision.result;
    }
    if ('drop' in decision) {
      await client.query({
        text: 'delete from discord_oauth_tokens where user_id = $1::uuid',
        values: [userId],
      });
      return decision.result;
    }
    return decision.keep;
  }).catch((err) => {
    throw mapDbError(err);
  });
}

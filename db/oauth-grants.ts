import { type ApiTokenScope, apiTokenScope } from './api-tokens.js';
import { hashCredential, looksLikeCredential, touchLastUsed, UsageThrottle } from './credentials.js';
import { mapDbError } from './errors.js';
import { ACCESS_KIND, at } from './oauth-tokens.js';
import type { Pool } from './pool.js';
import type { Tx } from './tenant.js';

/** OAuth access tokens as bearer credentials of the API, and the grant they stand for. */

/** A bearer access token as the API's auth sees it: a grant stands where an API token does. */
export interface ResolvedOAuthToken {
  orgId: string;
  /** The grant's id: the token cache, rate limits, audit and revocation all key on it. */
  tokenId: string;
  accessTokenId: string;
  /** The staff member the client acts for; their current permissions cap the scopes. */
  userId: string | null;
  scopes: ApiTokenScope[];
  expiresAt: Date;
}

const usage = new UsageThrottle();

/** True when the value is shaped like an OAuth access token (the auth plugin picks the look-up). */
export const isOAuthAccessToken = (value: string) => looksLikeCredential(ACCESS_KIND, value);

/** Turns a bearer access token into its grant, or null when unknown, expired or revoked. */
export async function resolveOAuthToken(
  pool: Pool,
  plaintext: string,
  nowMs: number,
): Promise<ResolvedOAuthToken | null> {
  if (!isOAuthAccessToken(plaintext)) return null;
  const r = await pool
    .query<{
      org_id: string;
      token_id: string;
      grant_id: string;
      user_id: string | null;
      scopes: string[];
      expires_at: Date;
    }>({
      text: 'select * from gm_resolve_oauth_token($1::bytea, $2::timestamptz)',
      values: [hashCredential(plaintext), at(nowMs)],
    })
    .catch((err) => {
      throw mapDbError(err);
    });
  const row = r.rows[0];
  if (!row) return null;
  if (usage.due(row.token_id)) await touchLastUsed(pool, row.org_id, 'oauth_tokens', row.token_id);
  return {
    orgId: row.org_id,
    tokenId: row.grant_id,
    accessTokenId: row.token_id,
    userId: row.user_id,
    scopes: row.scopes.filter((s): s is ApiTokenScope => apiTokenScope.safeParse(s).success),
    expiresAt: row.expires_at,
  };
}

/** A grant as `GET /v1/me` describes it to the client holding one of its access tokens. */
export interface GrantSummary {
  id: string;
  /** The client's name. */
  name: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
}

export async function describeGrant(tx: Tx, grantId: string): Promise<GrantSummary | null> {
  const r = await tx.query<GrantSummary>(
    `select g.id, c.name, g.scopes, g.created_at as "createdAt", g.expires_at as "expiresAt",
            (select max(t.last_used_at) from oauth_tokens t
              where t.org_id = g.org_id and t.grant_id = g.id) as "lastUsedAt"
       from oauth_grants g join oauth_clients c on c.org_id = g.org_id and c.id = g.client_id
      where g.org_id = $1::uuid and g.id = $2::uuid`,
    [tx.orgId, grantId],
  );
  return r.rows[0] ?? null;
}

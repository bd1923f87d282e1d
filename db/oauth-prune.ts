import type { Tx } from './tenant.js';

/** How long an ended grant, token or code is kept before it is deleted. */
export const OAUTH_KEEP_ENDED_MS = 24 * 3600_000;

export interface OAuthPruned {
  codes: number;
  accessTokens: number;
  grants: number;
}

/**
 * Deletes, in the caller's organization, what can no longer be used nor tells anything:
 * authorization codes and access tokens past their life, and grants (their tokens with them)
 * that ended: revoked, past their absolute lifetime, or with no token left alive, as
 * client_credentials grants are once their one access token expires (each such request makes a
 * grant). Everything is kept `keepMs` past its end. A live grant's used refresh tokens stay: a
 * copy presented again is how a stolen token is detected (RFC 9700 §4.14.2), and it must still
 * revoke the family.
 */
export async function pruneEndedOAuth(tx: Tx, now: Date, keepMs = OAUTH_KEEP_ENDED_MS): Promise<OAuthPruned> {
  const before = new Date(now.getTime() - keepMs);
  const codes = await tx.query(
    'delete from oauth_codes where org_id = $1::uuid and expires_at < $2::timestamptz',
    [tx.orgId, before],
  );
  const grants = await tx.query(
    `delete from oauth_grants g
      where g.org_id = $1::uuid
        and (g.revoked_at < $2::timestamptz
             or g.expires_at < $2::timestamptz
             or (g.created_at < $2::timestamptz
                 and not exists (select 1 from oauth_tokens t
                                  where t.org_id = g.org_id and t.grant_id = g.id
                                    and t.expires_at >= $2::timestamptz)))`,
    [tx.orgId, before],
  );
  const access = await tx.query(
    `delete from oauth_tokens where org_id = $1::uuid and kind = 'access' and expires_at < $2::timestamptz`,
    [tx.orgId, before],
  );
  return { codes: codes.rowCount ?? 0, accessTokens: access.rowCount ?? 0, grants: grants.rowCount ?? 0 };
}

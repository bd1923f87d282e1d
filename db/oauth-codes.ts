import { createHash } from 'node:crypto';
import { type Actor, recordChange } from './changes.js';
import { hashCredential, issueCredential, looksLikeCredential } from './credentials.js';
import type { OAuthClientAuth } from './oauth-clients.js';
import {
  at,
  type IssuedTokens,
  insertGrant,
  issuePair,
  type OAuthLifetimes,
  type OAuthResult,
  refuse,
  revokeGrant,
} from './oauth-tokens.js';
import type { Tx } from './tenant.js';

/**
 * Authorization codes (RFC 6749 §4.1, RFC 7636): single-use, short-lived, stored as their
 * SHA-256 and bound to the client, the redirect URI and a PKCE S256 challenge.
 */

/** How long an authorization code lives: it is exchanged right after the redirect. */
export const CODE_SECONDS = 60;

const CODE_KIND = 'gma';

/**
 * A consent turned into a code; the plaintext goes to the redirect URI and is stored hashed. The
 * consent is the staff member's own action, audited as theirs.
 */
export async function createAuthorizationCode(
  tx: Tx,
  input: {
    clientRowId: string;
    userId: string;
    redirectUri: string;
    scopes: string[];
    codeChallenge: string;
  },
  nowMs: number,
  actor: Actor,
): Promise<string> {
  const cred = issueCredential(CODE_KIND);
  await tx.query(
    `insert into oauth_codes
       (org_id, client_id, user_id, code_hash, redirect_uri, scopes, code_challenge, created_at, expires_at)
     values ($1::uuid, $2::uuid, $3::uuid, $4::bytea, $5::text, $6::text[], $7::text, $8::timestamptz, $9::timestamptz)`,
    [
      tx.orgId,
      input.clientRowId,
      input.userId,
      cred.hash,
      input.redirectUri,
      input.scopes,
      input.codeChallenge,
      at(nowMs),
      at(nowMs + CODE_SECONDS * 1000),
    ],
  );
  await recordChange(tx, actor, {
    action: 'oauth_client.authorized',
    target: { type: 'oauth_client', id: input.clientRowId },
    data: { scopes: input.scopes, redirectUri: input.redirectUri },
  });
  return cred.plaintext;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/**
 * authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6): the code must be this client's, unused,
 * unexpired, sent with the same redirect URI and the verifier of its S256 challenge. A code
 * presented again revokes the grant it was exchanged for (§4.1.2). Any failure uses the code up.
 */
export async function redeemAuthorizationCode(
  tx: Tx,
  client: OAuthClientAuth,
  input: { code: string; redirectUri: string; codeVerifier: string },
  nowMs: number,
  life: OAuthLifetimes,
  actor: Actor,
): Promise<OAuthResult<IssuedTokens>> {
  if (!client.grantTypes.includes('authorization_code'))
    return refuse('unauthorized_client', 'this client may not use authorization_code');
  const invalid = refuse('invalid_grant', 'the code is unknown, used, expired or not this client’s');
  if (!looksLikeCredential(CODE_KIND, input.code)) return invalid;
  const r = await tx.query<{
    id: string;
    client_id: string;
    user_id: string;
    redirect_uri: string;
    scopes: string[];
    code_challenge: string;
    expires_at: Date;
    used_at: Date | null;
    grant_id: string | null;
  }>(
    `select id, client_id, user_id, redirect_uri, scopes, code_challenge, expires_at, used_at, grant_id
       from oauth_codes where org_id = $1::uuid and code_hash = $2::bytea for update`,
    [tx.orgId, hashCredential(input.code)],
  );
  const code = r.rows[0];
  if (!code) return invalid;
  if (code.used_at) {
    if (code.grant_id && (await revokeGrant(tx, code.grant_id, 'code_reuse', actor)))
      return { ...invalid, revokedGrant: code.grant_id };
    return invalid;
  }
  await tx.query(
    'update oauth_codes set used_at = $3::timestamptz where org_id = $1::uuid and id = $2::uuid',
    [tx.orgId, code.id, at(nowMs)],
  );
  // Checked after the code is used up: a code another client holds was leaked, so it must not
  // work for its own client afterwards either.
  if (code.client_id !== client.id || code.expires_at.getTime() <= nowMs) return invalid;
  if (code.redirect_uri !== input.redirectUri)
    return refuse('invalid_grant', 'redirect_uri is not the one the code was issued for');
  if (!VERIFIER.test(input.codeVerifier) || s256(input.codeVerifier) !== code.code_challenge)
    return refuse('invalid_grant', 'code_verifier does not match the code_challenge');
  const expiresMs = nowMs + life.refreshAbsoluteSeconds * 1000;
  const grantId = await insertGrant(
    tx,
    client.id,
    code.user_id,
    'authorization_code',
    code.scopes,
    nowMs,
    expiresMs,
  );
  await tx.query('update oauth_codes set grant_id = $3::uuid where org_id = $1::uuid and id = $2::uuid', [
    tx.orgId,
    code.id,
    grantId,
  ]);
  const withRefresh = client.grantTypes.includes('refresh_token');
  const tokens = await issuePair(
    tx,
    { id: grantId, expiresMs, scopes: code.scopes },
    code.scopes,
    withRefresh,
    nowMs,
    life,
  );
  return { ok: true, value: tokens };
}

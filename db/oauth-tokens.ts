import { type ApiTokenScope, apiTokenScope } from './api-tokens.js';
import { type Actor, recordChange } from './changes.js';
import { hashCredential, issueCredential, looksLikeCredential } from './credentials.js';
import { emitGrantRevoked, type OAuthClientAuth } from './oauth-clients.js';
import type { Tx } from './tenant.js';

/**
 * Grants (token families), their access and refresh tokens, and authorization codes, following
 * RFC 6749 and RFC 9700: every secret stored as its SHA-256; refresh tokens rotate on each use,
 * and presenting one already used revokes its whole family (it was copied: either the thief or
 * the client has the newer one); codes are single-use, short-lived and bound to the client, the
 * redirect URI and a PKCE S256 challenge. Times come from the API's clock (`now`), so tests
 * expire tokens by moving it.
 */

/** The token lifetimes (lib/config.ts holds the defaults). */
export interface OAuthLifetimes {
  accessSeconds: number;
  /** A refresh token unused this long expires (idle expiry). */
  refreshIdleSeconds: number;
  /** No refresh past this age of the grant (absolute lifetime). */
  refreshAbsoluteSeconds: number;
}

export const ACCESS_KIND = 'gmo';
const REFRESH_KIND = 'gmr';

/** RFC 6749 §5.2 error codes (RFC 7009 adds unsupported_token_type). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied';

/**
 * A refusal is a value, not a throw: refusing a reused refresh token must still commit the
 * family's revocation and its audit entry in the same transaction.
 */
export type OAuthResult<T> =
  | { ok: true; value: T }
  /** `revokedGrant`: the family this refusal revoked (a reused refresh token or code). */
  | { ok: false; error: OAuthErrorCode; description: string; revokedGrant?: string };

type Refusal = Extract<OAuthResult<never>, { ok: false }>;

export const refuse = (error: OAuthErrorCode, description: string): Refusal => ({
  ok: false,
  error,
  description,
});

/** What the token endpoint answers (RFC 6749 §5.1). */
export interface IssuedTokens {
  accessToken: string;
  expiresIn: number;
  refreshToken: string | null;
  scopes: string[];
}

export const at = (ms: number) => new Date(ms);

/** Scopes from a space-separated `scope` parameter; null when one is not in the catalog. */
export function parseScopeParam(scope: string | undefined): ApiTokenScope[] | null {
  const names = (scope ?? '').split(' ').filter(Boolean);
  const out = new Set<ApiTokenScope>();
  for (const n of names) {
    const parsed = apiTokenScope.safeParse(n);
    if (!parsed.success) return null;
    out.add(parsed.data);
  }
  return [...out].sort();
}

async function insertToken(
  tx: Tx,
  grantId: string,
  kind: 'access' | 'refresh',
  scopes: string[],
  nowMs: number,
  expiresMs: number,
): Promise<string> {
  const cred = issueCredential(kind === 'access' ? ACCESS_KIND : REFRESH_KIND);
  await tx.query(
    `insert into oauth_tokens (org_id, grant_id, kind, token_hash, scopes, created_at, expires_at)
     values ($1::uuid, $2::uuid, $3::text, $4::bytea, $5::text[], $6::timestamptz, $7::timestamptz)`,
    [tx.orgId, grantId, kind, cred.hash, scopes, at(nowMs), at(expiresMs)],
  );
  return cred.plaintext;
}

/** An access token, and a refresh token unless the grant is client_credentials. */
export async function issuePair(
  tx: Tx,
  grant: { id: string; expiresMs: number; scopes: string[] },
  accessScopes: string[],
  withRefresh: boolean,
  nowMs: number,
  life: OAuthLifetimes,
): Promise<IssuedTokens> {
  const accessUntil = Math.min(nowMs + life.accessSeconds * 1000, grant.expiresMs);
  const accessToken = await insertToken(tx, grant.id, 'access', accessScopes, nowMs, accessUntil);
  const refreshToken = withRefresh
    ? await insertToken(
        tx,
        grant.id,
        'refresh',
        grant.scopes,
        nowMs,
        Math.min(nowMs + life.refreshIdleSeconds * 1000, grant.expiresMs),
      )
    : null;
  return {
    accessToken,
    expiresIn: Math.max(1, Math.round((accessUntil - nowMs) / 1000)),
    refreshToken,
    scopes: accessScopes,
  };
}

/** `scopes` within `allowed`, or the scopes not in it. */
export function missingScopes(scopes: readonly string[], allowed: readonly string[]): string[] {
  const ok = new Set(allowed);
  return scopes.filter((s) => !ok.has(s));
}

/**
 * client_credentials (RFC 6749 §4.4): the client acts as itself, with its own scopes or fewer,
 * and gets no refresh token (it can always ask again).
 */
export async function issueClientCredentials(
  tx: Tx,
  client: OAuthClientAuth,
  requested: ApiTokenScope[],
  nowMs: number,
  life: OAuthLifetimes,
): Promise<OAuthResult<IssuedTokens>> {
  if (!client.grantTypes.includes('client_credentials'))
    return refuse('unauthorized_client', 'this client may not use client_credentials');
  const scopes = requested.length > 0 ? requested : client.scopes;
  const wider = missingScopes(scopes, client.scopes);
  if (wider.length) return refuse('invalid_scope', `not granted to this client: ${wider.join(' ')}`);
  const expiresMs = nowMs + life.accessSeconds * 1000;
  const grantId = await insertGrant(tx, client.id, null, 'client_credentials', scopes, nowMs, expiresMs);
  return {
    ok: true,
    value: await issuePair(tx, { id: grantId, expiresMs, scopes }, scopes, false, nowMs, life),
  };
}

export async function insertGrant(
  tx: Tx,
  clientRowId: string,
  userId: string | null,
  grantType: 'authorization_code' | 'client_credentials',
  scopes: string[],
  nowMs: number,
  expiresMs: number,
): Promise<string> {
  const r = await tx.query<{ id: string }>(
    `insert into oauth_grants (org_id, client_id, user_id, grant_type, scopes, created_at, expires_at)
     values ($1::uuid, $2::uuid, $3::uuid, $4::text, $5::text[], $6::timestamptz, $7::timestamptz)
     returning id`,
    [tx.orgId, clientRowId, userId, grantType, scopes, at(nowMs), at(expiresMs)],
  );
  return (r.rows[0] as { id: string }).id;
}

/**
 * refresh_token (RFC 6749 §6, RFC 9700 §4.14.2): a refresh token is used once and replaced.
 * Presenting a used one revokes the family, audited, so the access token issued from it stops
 * working at once. `requested` may narrow the access token's scopes, never widen them.
 */
export async function rotateRefreshToken(
  tx: Tx,
  client: OAuthClientAuth,
  refreshToken: string,
  requested: ApiTokenScope[],
  nowMs: number,
  life: OAuthLifetimes,
  actor: Actor,
): Promise<OAuthResult<IssuedTokens>> {
  if (!client.grantTypes.includes('refresh_token'))
    return refuse('unauthorized_client', 'this client may not use refresh_token');
  const invalid = refuse('invalid_grant', 'the refresh token is unknown, used, expired or revoked');
  if (!looksLikeCredential(REFRESH_KIND, refreshToken)) return invalid;
  // The row lock makes two concurrent uses of one token meet here: the second sees it used.
  const r = await tx.query<{
    id: string;
    grant_id: string;
    expires_at: Date;
    used_at: Date | null;
    client_id: string;
    scopes: string[];
    grant_expires_at: Date;
    revoked_at: Date | null;
    member: boolean;
  }>(
    `select t.id, t.grant_id, t.expires_at, t.used_at, g.client_id, g.scopes,
            g.expires_at as grant_expires_at, g.revoked_at,
            g.user_id is null or exists (select 1 from memberships m
                                          join users u on u.id = m.user_id and u.disabled_at is null
                                          where m.org_id = g.org_id and m.user_id = g.user_id) as member
       from oauth_tokens t join oauth_grants g on g.org_id = t.org_id and g.id = t.grant_id
      where t.org_id = $1::uuid and t.token_hash = $2::bytea and t.kind = 'refresh'
      for update of t, g`,
    [tx.orgId, hashCredential(refreshToken)],
  );
  const row = r.rows[0];
  if (!row || row.client_id !== client.id || row.revoked_at) return invalid;
  // Used before: the family is revoked even if this copy has since expired.
  if (row.used_at) {
    await revokeGrant(tx, row.grant_id, 'refresh_reuse', actor);
    return { ...invalid, revokedGrant: row.grant_id };
  }
  if (row.expires_at.getTime() <= nowMs || row.grant_expires_at.getTime() <= nowMs) return invalid;
  // A grant made by a staff member acts for them: once they are no longer a member (or their
  // account is disabled), no new access token (each would be capped to nothing on REST, but the
  // live socket and the token's lifetime would still be theirs to use).
  if (!row.member) return invalid;
  const scopes = requested.length > 0 ? requested : row.scopes;
  const wider = missingScopes(scopes, row.scopes);
  if (wider.length) return refuse('invalid_scope', `not part of this grant: ${wider.join(' ')}`);
  await tx.query(
    'update oauth_tokens set used_at = $3::timestamptz where org_id = $1::uuid and id = $2::uuid',
    [tx.orgId, row.id, at(nowMs)],
  );
  const grant = { id: row.grant_id, expiresMs: row.grant_expires_at.getTime(), scopes: row.scopes };
  return { ok: true, value: await issuePair(tx, grant, scopes, true, nowMs, life) };
}

export type RevokeReason = 'revoked' | 'refresh_reuse' | 'code_reuse' | 'member_removed' | 'account_disabled';

/** Revokes a grant and so every token of it; audited, and heard by every instance's token cache. */
export async function revokeGrant(
  tx: Tx,
  grantId: string,
  reason: RevokeReason,
  actor: Actor,
): Promise<boolean> {
  const r = await tx.query<{ client_id: string; user_id: string | null }>(
    `update oauth_grants set revoked_at = now(), revoked_reason = $3::text
      where org_id = $1::uuid and id = $2::uuid and revoked_at is null returning client_id, user_id`,
    [tx.orgId, grantId, reason],
  );
  const g = r.rows[0];
  if (!g) return false;
  await recordChange(tx, actor, {
    action:
      reason === 'refresh_reuse' || reason === 'code_reuse'
        ? 'oauth_grant.reuse_detected'
        : 'oauth_grant.revoked',
    target: { type: 'oauth_grant', id: grantId },
    data: { reason, clientId: g.client_id, userId: g.user_id },
  });
  await emitGrantRevoked(tx, grantId);
  return true;
}

/**
 * Revokes, for good, every grant a member gave here, and uses up the codes they were issued and
 * not yet redeemed: they are leaving the organization (`member_removed`) or their account is
 * disabled (`account_disabled`), and an app acting for them must not come back if they are added
 * or enabled again (a new consent is needed). Each grant is audited and heard by the token caches
 * as revokeGrant does. Returns the grants' ids.
 */
export async function revokeGrantsOf(
  tx: Tx,
  userId: string,
  actor: Actor,
  reason: Extract<RevokeReason, 'member_removed' | 'account_disabled'> = 'member_removed',
): Promise<string[]> {
  await tx.query(
    `update oauth_codes set used_at = now()
      where org_id = $1::uuid and user_id = $2::uuid and used_at is null`,
    [tx.orgId, userId],
  );
  const r = await tx.query<{ id: string }>(
    `select id from oauth_grants
      where org_id = $1::uuid and user_id = $2::uuid and revoked_at is null order by id`,
    [tx.orgId, userId],
  );
  const revoked: string[] = [];
  for (const g of r.rows) if (await revokeGrant(tx, g.id, reason, actor)) revoked.push(g.id);
  return revoked;
}

interface FoundToken {
  tokenId: string;
  grantId: string;
  kind: 'access' | 'refresh';
  clientId: string;
  userId: string | null;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date;
  active: boolean;
}

/** A token of this organization by its plaintext, whatever its state; null when unknown. */
async function findToken(tx: Tx, plaintext: string, nowMs: number): Promise<FoundToken | null> {
  if (!looksLikeCredential(ACCESS_KIND, plaintext) && !looksLikeCredential(REFRESH_KIND, plaintext))
    return null;
  const r = await tx.query<FoundToken>(
    `select t.id as "tokenId", t.grant_id as "grantId", t.kind, g.client_id as "clientId",
            g.user_id as "userId", t.scopes, t.created_at as "createdAt", t.expires_at as "expiresAt",
            (t.used_at is null and g.revoked_at is null and t.expires_at > $3::timestamptz
              and g.expires_at > $3::timestamptz) as active
       from oauth_tokens t join oauth_grants g on g.org_id = t.org_id and g.id = t.grant_id
      where t.org_id = $1::uuid and t.token_hash = $2::bytea`,
    [tx.orgId, hashCredential(plaintext), at(nowMs)],
  );
  return r.rows[0] ?? null;
}

/**
 * RFC 7009: revoking either token of a family revokes the family (§2.1 lets the server revoke
 * the access tokens of a refresh token; one rule for both is simpler to reason about). A token
 * unknown here or issued to another client changes nothing and is not an error (§2.2).
 */
export async function revokeToken(
  tx: Tx,
  client: OAuthClientAuth,
  plaintext: string,
  actor: Actor,
): Promise<string | null> {
  const t = await findToken(tx, plaintext, Date.now());
  if (!t || t.clientId !== client.id) return null;
  return (await revokeGrant(tx, t.grantId, 'revoked', actor)) ? t.grantId : null;
}

/** RFC 7662's answer; only `active` for a token that is not live or not the asking client's. */
export interface Introspection {
  active: boolean;
  scope?: string;
  client_id?: string;
  token_type?: 'access_token' | 'refresh_token';
  exp?: number;
  iat?: number;
  sub?: string;
}

/** Introspection for the client the token was issued to (RFC 7662 §4: no scanning others'). */
export async function introspectToken(
  tx: Tx,
  client: OAuthClientAuth,
  plaintext: string,
  nowMs: number,
): Promise<Introspection> {
  const t = await findToken(tx, plaintext, nowMs);
  if (!t?.active || t.clientId !== client.id) return { active: false };
  return {
    active: true,
    scope: t.scopes.join(' '),
    client_id: client.clientId,
    token_type: t.kind === 'access' ? 'access_token' : 'refresh_token',
    exp: Math.floor(t.expiresAt.getTime() / 1000),
    iat: Math.floor(t.createdAt.getTime() / 1000),
    sub: t.userId ?? client.clientId,
  };
}

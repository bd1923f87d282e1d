import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { API_TOKEN_REVOKED, type ApiTokenScope, apiTokenScope } from './api-tokens.js';
import { type Actor, emitEvent, recordChange } from './changes.js';
import { hashCredential, issueCredential, looksLikeCredential } from './credentials.js';
import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * OAuth 2.0 clients registered by an organization (RFC 6749 §2). A confidential client (a
 * studio's server) has a secret, shown once and stored as its SHA-256; a public client (a CLI, a
 * mobile PWA) has none and must use PKCE. Redirect URIs are compared exactly (RFC 9700 §4.1.3),
 * never by prefix or pattern.
 */

export const OAUTH_GRANT_TYPES = ['authorization_code', 'client_credentials', 'refresh_token'] as const;
export type OAuthGrantType = (typeof OAUTH_GRANT_TYPES)[number];

export interface OAuthClient {
  id: string;
  clientId: string;
  name: string;
  kind: 'confidential' | 'public';
  /** The visible start of the secret (confidential clients), to tell secrets apart. */
  secretPrefix: string | null;
  redirectUris: string[];
  scopes: ApiTokenScope[];
  grantTypes: OAuthGrantType[];
  createdBy: string | null;
  createdAt: Date;
  revokedAt: Date | null;
}

const COLUMNS = `id, client_id as "clientId", name, kind, secret_prefix as "secretPrefix",
  redirect_uris as "redirectUris", scopes, grant_types as "grantTypes", created_by as "createdBy",
  created_at as "createdAt", revoked_at as "revokedAt"`;

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Where codes may be sent: an absolute https URL, or plain http only to this machine (a native
 * app's loopback listener, RFC 8252 §7.3). No fragment (RFC 6749 §3.1.2), no credentials.
 */
export const redirectUri = z
  .string()
  .max(2000)
  .refine((raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return false;
    }
    if (u.hash || raw.includes('#') || u.username || u.password) return false;
    return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname));
  }, 'an absolute https:// URL (http:// only for localhost), without a fragment');

export const createOAuthClientInput = z
  .object({
    name: z.string().trim().min(1).max(100),
    kind: z.enum(['confidential', 'public']),
    redirectUris: z.array(redirectUri).max(10).default([]),
    scopes: z
      .array(apiTokenScope)
      .min(1, 'a client needs at least one scope')
      .transform((s) => [...new Set(s)].sort()),
    /** Default: what the kind allows (client_credentials for confidential clients only). */
    grantTypes: z
      .array(z.enum(OAUTH_GRANT_TYPES))
      .min(1)
      .transform((g) => [...new Set(g)].sort())
      .optional(),
  })
  .transform((v, ctx) => {
    const grantTypes =
      v.grantTypes ??
      (v.kind === 'confidential'
        ? v.redirectUris.length > 0
          ? ['authorization_code', 'client_credentials', 'refresh_token']
          : ['client_credentials']
        : ['authorization_code', 'refresh_token']);
    if (v.kind === 'public' && grantTypes.includes('client_credentials')) {
      ctx.addIssue({
        code: 'custom',
        path: ['grantTypes'],
        message: 'a public client has no secret, so it cannot use client_credentials',
      });
    }
    if (grantTypes.includes('authorization_code') && v.redirectUris.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['redirectUris'],
        message: 'authorization_code needs at least one redirect URI',
      });
    }
    if (grantTypes.includes('refresh_token') && !grantTypes.includes('authorization_code')) {
      ctx.addIssue({
        code: 'custom',
        path: ['grantTypes'],
        message: 'refresh_token comes with authorization_code (client_credentials gets no refresh token)',
      });
    }
    return { ...v, grantTypes: grantTypes as OAuthGrantType[] };
  });

const CLIENT_ID = /^gmc_[0-9a-f]{32}$/;
const SECRET_KIND = 'gmcs';

/** Registers a client. The secret (confidential clients) is in this answer only. */
export async function createOAuthClient(
  tx: Tx,
  raw: z.input<typeof createOAuthClientInput>,
  actor: Actor,
): Promise<{ client: OAuthClient; clientSecret: string | null }> {
  const input = parseInput(createOAuthClientInput, raw);
  const secret = input.kind === 'confidential' ? issueCredential(SECRET_KIND) : null;
  const r = await tx.query<OAuthClient>(
    `insert into oauth_clients
       (org_id, client_id, name, kind, secret_hash, secret_prefix, redirect_uris, scopes, grant_types, created_by)
     values ($1::uuid, $2::text, $3::text, $4::text, $5::bytea, $6::text, $7::text[], $8::text[], $9::text[], $10::uuid)
     returning ${COLUMNS}`,
    [
      tx.orgId,
      `gmc_${randomBytes(16).toString('hex')}`,
      input.name,
      input.kind,
      secret?.hash ?? null,
      secret?.prefix ?? null,
      input.redirectUris,
      input.scopes,
      input.grantTypes,
      actor.type === 'user' ? actor.id : null,
    ],
  );
  const client = r.rows[0] as OAuthClient;
  await recordChange(tx, actor, {
    action: 'oauth_client.created',
    target: { type: 'oauth_client', id: client.id },
    data: {
      name: client.name,
      clientId: client.clientId,
      kind: client.kind,
      scopes: client.scopes,
      grantTypes: client.grantTypes,
      redirectUris: client.redirectUris,
    },
  });
  return { client, clientSecret: secret?.plaintext ?? null };
}

/** Every client of the organization, newest first, revoked ones included. */
export async function listOAuthClients(tx: Tx): Promise<OAuthClient[]> {
  const r = await tx.query<OAuthClient>(
    `select ${COLUMNS} from oauth_clients where org_id = $1::uuid order by created_at desc, id`,
    [tx.orgId],
  );
  return r.rows;
}

/** One client of the current organization (another organization's id is not found). */
export async function getOAuthClient(tx: Tx, rowId: string): Promise<OAuthClient> {
  const r = await tx.query<OAuthClient>(
    `select ${COLUMNS} from oauth_clients where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, parseInput(id, rowId)],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'OAuth client not found');
  return r.rows[0];
}

/**
 * Revokes a client and every grant issued to it, at once. Returns the ids of the grants that
 * were live, so the caller can drop them from its token cache. Revoking again changes nothing.
 */
export async function revokeOAuthClient(
  tx: Tx,
  rowId: string,
  actor: Actor,
): Promise<{ client: OAuthClient; revokedGrants: string[] }> {
  const cid = parseInput(id, rowId);
  const r = await tx.query<OAuthClient>(
    `update oauth_clients set revoked_at = now()
      where org_id = $1::uuid and id = $2::uuid and revoked_at is null returning ${COLUMNS}`,
    [tx.orgId, cid],
  );
  const client = r.rows[0];
  if (!client) return { client: await getOAuthClient(tx, cid), revokedGrants: [] };
  const g = await tx.query<{ id: string }>(
    `update oauth_grants set revoked_at = now(), revoked_reason = 'client_revoked'
      where org_id = $1::uuid and client_id = $2::uuid and revoked_at is null returning id`,
    [tx.orgId, cid],
  );
  const revokedGrants = g.rows.map((row) => row.id);
  await recordChange(tx, actor, {
    action: 'oauth_client.revoked',
    target: { type: 'oauth_client', id: client.id },
    data: { name: client.name, clientId: client.clientId, grants: revokedGrants.length },
  });
  // Each instance's token cache hears of the grants through the relay (api/token-cache.ts).
  for (const grantId of revokedGrants) await emitGrantRevoked(tx, grantId);
  return { client, revokedGrants };
}

/**
 * Tells every API instance that a grant's access tokens are dead. A grant stands where an API
 * token does in the token cache, so it travels as the same `api_token.revoked` event.
 */
export async function emitGrantRevoked(tx: Tx, grantId: string): Promise<void> {
  await emitEvent(tx, {
    type: API_TOKEN_REVOKED,
    aggregateType: 'oauth_grant',
    aggregateId: grantId,
    payload: {},
  });
}

/** A client as the token endpoint needs it: with its secret's hash, never shown. */
export interface OAuthClientAuth extends OAuthClient {
  orgId: string;
  secretHash: Buffer | null;
}

/**
 * The organization of a client_id, through the one cross-tenant look-up (the token endpoint
 * knows no tenant until then); null for a malformed, unknown or revoked client.
 */
export async function orgOfOAuthClient(
  pool: Pool,
  clientId: string,
): Promise<{ orgId: string; rowId: string } | null> {
  if (!CLIENT_ID.test(clientId)) return null;
  const r = await pool
    .query<{ org_id: string; client_row_id: string }>({
      text: 'select org_id, client_row_id from gm_resolve_oauth_client($1::text)',
      values: [clientId],
    })
    .catch((err) => {
      throw mapDbError(err);
    });
  const row = r.rows[0];
  return row ? { orgId: row.org_id, rowId: row.client_row_id } : null;
}

/** The client with its secret hash, in its organization's transaction. */
export async function clientForAuth(tx: Tx, rowId: string): Promise<OAuthClientAuth | null> {
  const r = await tx.query<OAuthClient & { secretHash: Buffer | null }>(
    `select ${COLUMNS}, secret_hash as "secretHash" from oauth_clients
      where org_id = $1::uuid and id = $2::uuid and revoked_at is null`,
    [tx.orgId, rowId],
  );
  const row = r.rows[0];
  return row ? { ...row, orgId: tx.orgId } : null;
}

/** The SHA-256 a presented client secret must match (compared in constant time by the caller). */
export function clientSecretHash(secret: string): Buffer | null {
  return looksLikeCredential(SECRET_KIND, secret) ? hashCredential(secret) : null;
}

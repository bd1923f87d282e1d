import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import {
  hashCredential,
  issueCredential,
  looksLikeCredential,
  touchLastUsed,
  UsageThrottle,
} from './credentials.js';
import { mapDbError } from './errors.js';
import type { Permission } from './permissions.js';
import type { Pool } from './pool.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * What a studio's token may be allowed to do. Coarser than the permission catalog on purpose:
 * a studio picks a few scopes, and `SCOPE_PERMISSIONS` expands them for the route checks.
 */
export const API_TOKEN_SCOPES = [
  'tickets:read',
  'tickets:write',
  'players:read',
  'players:write',
  'reports:read',
  'reports:write',
  'members:read',
  'games:manage',
  'webhooks:manage',
  'guilds:manage',
  'settings:manage',
  'audit:read',
  'analytics:read',
] as const;
export const apiTokenScope = z.enum(API_TOKEN_SCOPES);
export type ApiTokenScope = z.infer<typeof apiTokenScope>;

/**
 * The permissions each scope grants. No scope reaches `org.manage`, `members.manage`,
 * `roles.manage`, `tokens.manage` or `tickets.delete`: a leaked token must not be able to take
 * over the organization, mint more tokens, or destroy history.
 */
export const SCOPE_PERMISSIONS: Record<ApiTokenScope, readonly Permission[]> = {
  'tickets:read': ['tickets.read'],
  'tickets:write': [
    'tickets.read',
    'tickets.create',
    'tickets.reply',
    'tickets.note',
    'tickets.assign',
    'tickets.update',
    'tickets.close',
    'tickets.merge',
  ],
  'players:read': ['players.read'],
  'players:write': ['players.read', 'players.manage'],
  'reports:read': ['reports.read'],
  'reports:write': ['reports.read', 'reports.manage'],
  'members:read': ['org.read', 'members.read'],
  'games:manage': ['games.manage'],
  'webhooks:manage': ['webhooks.manage'],
  // Link codes and guild settings: what a studio's provisioning script needs to connect a server.
  'guilds:manage': ['org.read', 'guilds.manage'],
  'settings:manage': [
    'org.read',
    'teams.manage',
    'categories.manage',
    'canned.manage',
    'sla.manage',
    'retention.manage',
  ],
  'audit:read': ['audit.read'],
  'analytics:read': ['analytics.read'],
};

/** The permissions a token with these scopes holds (unknown scopes grant nothing). */
export function permissionsForScopes(scopes: readonly string[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const s of scopes) {
    for (const p of SCOPE_PERMISSIONS[s as ApiTokenScope] ?? []) out.add(p);
  }
  return out;
}

/** A token as listed: never its secret or hash. */
export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiTokenScope[];
  createdBy: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

const COLUMNS = `id, name, prefix, scopes, created_by as "createdBy", created_at as "createdAt",
  last_used_at as "lastUsedAt", expires_at as "expiresAt", revoked_at as "revokedAt"`;

const TOKEN_KIND = 'gm';

export const createApiTokenInput = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z
    .array(apiTokenScope)
    .min(1, 'a token needs at least one scope')
    .transform((s) => [...new Set(s)].sort()),
  expiresAt: z.coerce
    .date()
    .refine((d) => d.getTime() > Date.now(), 'must be in the future')
    .optional(),
});

/**
 * Creates a token. The plaintext is returned here and never again: only its SHA-256 is stored.
 * Made by a staff member, the token is theirs: it never does more than they can do at the time
 * of each request, and it is revoked when they leave the organization. Made by the operator or
 * the system (no `created_by`), it belongs to the organization and its scopes alone bound it.
 */
export async function createApiToken(
  tx: Tx,
  raw: z.input<typeof createApiTokenInput>,
  actor: Actor,
): Promise<{ token: ApiToken; plaintext: string }> {
  const input = parseInput(createApiTokenInput, raw);
  const cred = issueCredential(TOKEN_KIND);
  const r = await tx.query<ApiToken>(
    `insert into api_tokens (org_id, name, prefix, token_hash, scopes, created_by, expires_at)
     values ($1::uuid, $2::text, $3::text, $4::bytea, $5::text[], $6::uuid, $7::timestamptz)
     returning ${COLUMNS}`,
    [
      tx.orgId,
      input.name,
      cred.prefix,
      cred.hash,
      input.scopes,
      actor.type === 'user' ? actor.id : null,
      input.expiresAt ?? null,
    ],
  );
  const token = r.rows[0] as ApiToken;
  await recordChange(tx, actor, {
    action: 'api_token.created',
    target: { type: 'api_token', id: token.id },
    data: { name: token.name, prefix: token.prefix, scopes: token.scopes, expiresAt: token.expiresAt },
  });
  return { token, plaintext: cred.plaintext };
}

/** Every token of the organization, newest first, revoked ones included (for the record). */
export async function listApiTokens(tx: Tx): Promise<ApiToken[]> {
  const r = await tx.query<ApiToken>(
    `select ${COLUMNS} from api_tokens where org_id = $1::uuid order by created_at desc, id`,
    [tx.orgId],
  );
  return r.rows;
}

/** One token of the current organization (another organization's id is not found). */
export async function getApiToken(tx: Tx, tokenId: string): Promise<ApiToken> {
  const r = await tx.query<ApiToken>(
    `select ${COLUMNS} from api_tokens where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, parseInput(id, tokenId)],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'API token not found');
  return r.rows[0];
}

/** The outbox event of a revocation; its aggregate id is the token's id. */
export const API_TOKEN_REVOKED = 'api_token.revoked';

/** Revokes a token at once. Revoking an already revoked token changes nothing and keeps the first date. */
export async function revokeApiToken(tx: Tx, tokenId: string, actor: Actor): Promise<ApiToken> {
  const tid = parseInput(id, tokenId);
  const r = await tx.query<ApiToken>(
    `update api_tokens set revoked_at = now()
      where org_id = $1::uuid and id = $2::uuid and revoked_at is null returning ${COLUMNS}`,
    [tx.orgId, tid],
  );
  const token = r.rows[0];
  if (!token) return getApiToken(tx, tid);
  await recordRevocation(tx, token, actor, {});
  return token;
}

/**
 * Revokes, for good, every live token a member made here: they are leaving the organization, and
 * a token acting within their standing must not come back if they are added again. Returns the
 * tokens' ids (the caller drops them from its token cache at once).
 */
export async function revokeApiTokensOf(
  tx: Tx,
  userId: string,
  reason: 'member_removed',
  actor: Actor,
): Promise<string[]> {
  const r = await tx.query<ApiToken>(
    `update api_tokens set revoked_at = now()
      where org_id = $1::uuid and created_by = $2::uuid and revoked_at is null returning ${COLUMNS}`,
    [tx.orgId, parseInput(id, userId)],
  );
  for (const token of r.rows) await recordRevocation(tx, token, actor, { reason });
  return r.rows.map((t) => t.id);
}

async function recordRevocation(tx: Tx, token: ApiToken, actor: Actor, extra: { reason?: string }) {
  // The event is how every API instance hears of it: the relay publishes it live, and each
  // instance's token cache drops the token (api/token-cache.ts). In this transaction, so a
  // revocation is never committed without it.
  await recordChange(tx, actor, {
    action: API_TOKEN_REVOKED,
    target: { type: 'api_token', id: token.id },
    data: { name: token.name, prefix: token.prefix, ...extra },
    event: { type: API_TOKEN_REVOKED, aggregateType: 'api_token', aggregateId: token.id, payload: {} },
  });
}

export interface ResolvedApiToken {
  orgId: string;
  tokenId: string;
  scopes: ApiTokenScope[];
  expiresAt: Date | null;
  /**
   * The staff member who made the token: it acts within what they hold now (their permissions cap
   * its scopes on every request). Null for a token the operator or the system made, an
   * organization token bounded by its scopes alone.
   */
  userId: string | null;
}

const usage = new UsageThrottle();

/**
 * Turns a bearer token into its organization, scopes and maker, or null when it is malformed,
 * unknown, revoked or expired. The look-up is by SHA-256 digest (the definer function), so
 * response time tells an attacker nothing about how close a guess was. Records `last_used_at` at
 * most once a minute per token.
 */
export async function resolveApiToken(
  pool: Pool,
  plaintext: string,
  opts: { throttle?: UsageThrottle } = {},
): Promise<ResolvedApiToken | null> {
  if (!looksLikeCredential(TOKEN_KIND, plaintext)) return null;
  const r = await pool
    .query<{
      org_id: string;
      token_id: string;
      scopes: string[];
      expires_at: Date | null;
      created_by: string | null;
    }>({
      text: 'select org_id, token_id, scopes, expires_at, created_by from gm_resolve_api_token($1::bytea)',
      values: [hashCredential(plaintext)],
    })
    .catch((err) => {
      throw mapDbError(err);
    });
  const row = r.rows[0];
  if (!row) return null;
  if ((opts.throttle ?? usage).due(row.token_id)) {
    await touchLastUsed(pool, row.org_id, 'api_tokens', row.token_id);
  }
  return {
    orgId: row.org_id,
    tokenId: row.token_id,
    // A scope dropped from the catalog since the token was made simply stops granting anything.
    scopes: row.scopes.filter((s): s is ApiTokenScope => apiTokenScope.safeParse(s).success),
    expiresAt: row.expires_at,
    userId: row.created_by,
  };
}

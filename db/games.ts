import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, changedAny, diffChanges, recordChange } from './changes.js';
import {
  hashCredential,
  issueCredential,
  looksLikeCredential,
  touchLastUsed,
  UsageThrottle,
} from './credentials.js';
import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

export interface Game {
  id: string;
  name: string;
  slug: string;
  createdAt: Date;
  updatedAt: Date;
}

const GAME_COLUMNS = 'id, name, slug, created_at as "createdAt", updated_at as "updatedAt"';

const slug = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9-]{1,50}$/, 'letters, digits and -, at most 50');

export const createGameInput = z.object({ name: z.string().trim().min(1).max(100), slug });
export const updateGameInput = createGameInput
  .partial()
  .refine((v) => v.name !== undefined || v.slug !== undefined, 'nothing to change');

const notFound = () => new AppError('not_found', 'game not found');
/** Creates a game; its slug is unique within the organization. */
export async function createGame(tx: Tx, raw: z.input<typeof createGameInput>, actor: Actor): Promise<Game> {
  const input = parseInput(createGameInput, raw);
  const r = await tx.query<Game>(
    `insert into games (org_id, name, slug) values ($1::uuid, $2::text, $3::text) returning ${GAME_COLUMNS}`,
    [tx.orgId, input.name, input.slug],
  );
  const game = r.rows[0] as Game;
  await recordChange(tx, actor, {
    action: 'game.created',
    target: { type: 'game', id: game.id },
    data: { name: game.name, slug: game.slug },
  });
  return game;
}

/** One game of the current organization (another organization's id is not found). */
export async function getGame(tx: Tx, gameId: string): Promise<Game> {
  const r = await tx.query<Game>(
    `select ${GAME_COLUMNS} from games where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, parseInput(id, gameId)],
  );
  if (!r.rows[0]) throw notFound();
  return r.rows[0];
}

/** The organization's games by name. */
export async function listGames(tx: Tx): Promise<Game[]> {
  const r = await tx.query<Game>(
    `select ${GAME_COLUMNS} from games where org_id = $1::uuid order by name, id`,
    [tx.orgId],
  );
  return r.rows;
}

/** Renames a game or changes its slug. */
export async function updateGame(
  tx: Tx,
  gameId: string,
  raw: z.input<typeof updateGameInput>,
  actor: Actor,
): Promise<Game> {
  const gid = parseInput(id, gameId);
  const input = parseInput(updateGameInput, raw);
  const b = await tx.query<Game>(
    `select ${GAME_COLUMNS} from games where org_id = $1::uuid and id = $2::uuid for update`,
    [tx.orgId, gid],
  );
  const before = b.rows[0];
  if (!before) throw notFound();
  const r = await tx.query<Game>(
    `update games set name = coalesce($3::text, name), slug = coalesce($4::text, slug)
      where org_id = $1::uuid and id = $2::uuid returning ${GAME_COLUMNS}`,
    [tx.orgId, gid, input.name ?? null, input.slug ?? null],
  );
  const game = r.rows[0] as Game;
  const changes = diffChanges(before, game, ['name', 'slug']);
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'game.updated',
      target: { type: 'game', id: gid },
      data: { changes },
    });
  }
  return game;
}

/**
 * Deletes a game and its keys (cascade). Tickets and players that named it keep existing; the
 * schema clears or refuses their references as each table declares.
 */
export async function deleteGame(tx: Tx, gameId: string, actor: Actor): Promise<void> {
  const gid = parseInput(id, gameId);
  const r = await tx.query<{ name: string }>(
    'delete from games where org_id = $1::uuid and id = $2::uuid returning name',
    [tx.orgId, gid],
  );
  if (!r.rows[0]) throw notFound();
  await recordChange(tx, actor, {
    action: 'game.deleted',
    target: { type: 'game', id: gid },
    data: { name: r.rows[0].name },
  });
}

/**
 * What a game key may do from inside a game. Keys ship inside game clients, so they are treated
 * as semi-public: scopes only ever let a player act as themselves.
 */
export const GAME_KEY_SCOPES = [
  'tickets:create',
  'tickets:read_own',
  'reports:create',
  'sessions:write',
] as const;
export const gameKeyScope = z.enum(GAME_KEY_SCOPES);
export type GameKeyScope = z.infer<typeof gameKeyScope>;

/** `client`: ships in game clients, player actions only. `server`: game servers, all SDK routes. */
export const GAME_KEY_KINDS = ['client', 'server'] as const;
export type GameKeyKind = (typeof GAME_KEY_KINDS)[number];

export interface GameKey {
  id: string;
  gameId: string;
  name: string;
  kind: GameKeyKind;
  prefix: string;
  scopes: GameKeyScope[];
  createdBy: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** Set when the key was rotated: it keeps working until then. */
  expiresAt: Date | null;
}

const KEY_COLUMNS = `id, game_id as "gameId", name, kind, prefix, scopes, created_by as "createdBy",
  created_at as "createdAt", last_used_at as "lastUsedAt", revoked_at as "revokedAt", expires_at as "expiresAt"`;

/** The plaintext's first letters tell a client key from a server secret before any look-up. */
const KEY_PREFIX: Record<GameKeyKind, string> = { client: 'gmk', server: 'gms' };

export const createGameKeyInput = z.object({
  gameId: id,
  name: z.string().trim().min(1).max(100),
  kind: z.enum(GAME_KEY_KINDS).default('client'),
  scopes: z
    .array(gameKeyScope)
    .min(1, 'a key needs at least one scope')
    .default([...GAME_KEY_SCOPES])
    .transform((s) => [...new Set(s)].sort()),
});

/** Creates a game key. The plaintext is returned here and never again: only its SHA-256 is stored. */
export async function createGameKey(
  tx: Tx,
  raw: z.input<typeof createGameKeyInput>,
  actor: Actor,
): Promise<{ key: GameKey; plaintext: string }> {
  const input = parseInput(createGameKeyInput, raw);
  const cred = issueCredential(KEY_PREFIX[input.kind]);
  const r = await tx
    .query<GameKey>(
      `insert into game_keys (org_id, game_id, name, kind, prefix, key_hash, scopes, created_by)
       values ($1::uuid, $2::uuid, $3::text, $8::text, $4::text, $5::bytea, $6::text[], $7::uuid) returning ${KEY_COLUMNS}`,
      [
        tx.orgId,
        input.gameId,
        input.name,
        cred.prefix,
        cred.hash,
        input.scopes,
        actor.type === 'user' ? actor.id : null,
        input.kind,
      ],
    )
    .catch((err) => {
      // The composite foreign key: another org's game, or none at all.
      const e = mapDbError(err);
      throw e.code === 'not_found' ? notFound() : e;
    });
  const key = r.rows[0] as GameKey;
  await recordChange(tx, actor, {
    action: 'game_key.created',
    target: { type: 'game', id: key.gameId },
    data: { keyId: key.id, name: key.name, kind: key.kind, prefix: key.prefix, scopes: key.scopes },
  });
  return { key, plaintext: cred.plaintext };
}

export const rotateGameKeyInput = z.object({
  /** How long the old key keeps working, so clients already shipped can update. */
  overlapHours: z
    .number()
    .int()
    .min(0)
    .max(24 * 90)
    .default(24),
});

/**
 * Issues a new key of the same game, kind, name and scopes, and gives the old one an expiry
 * (`overlapHours` from now) instead of revoking it. Rotating a revoked or already rotated key is
 * a conflict: rotate its replacement.
 */
export async function rotateGameKey(
  tx: Tx,
  keyId: string,
  raw: z.input<typeof rotateGameKeyInput>,
  actor: Actor,
): Promise<{ key: GameKey; plaintext: string; previous: GameKey }> {
  const kid = parseInput(id, keyId);
  const input = parseInput(rotateGameKeyInput, raw);
  const old = await tx.query<GameKey & { replacedBy: string | null }>(
    `select ${KEY_COLUMNS}, replaced_by as "replacedBy" from game_keys where org_id = $1::uuid and id = $2::uuid for update`,
    [tx.orgId, kid],
  );
  const prev = old.rows[0];
  if (!prev) throw new AppError('not_found', 'game key not found');
  if (prev.revokedAt || prev.replacedBy)
    throw new AppError('conflict', 'this key is revoked or already rotated; rotate its replacement');
  const made = await createGameKey(
    tx,
    { gameId: prev.gameId, name: prev.name, kind: prev.kind, scopes: knownScopes(prev).scopes },
    actor,
  );
  const r = await tx.query<GameKey>(
    `update game_keys set expires_at = now() + make_interval(hours => $3::int), replaced_by = $4::uuid
      where org_id = $1::uuid and id = $2::uuid returning ${KEY_COLUMNS}`,
    [tx.orgId, kid, input.overlapHours, made.key.id],
  );
  const previous = knownScopes(r.rows[0] as GameKey);
  await recordChange(tx, actor, {
    action: 'game_key.rotated',
    target: { type: 'game', id: prev.gameId },
    data: { keyId: kid, replacedBy: made.key.id, expiresAt: previous.expiresAt },
  });
  return { ...made, previous };
}

/** The keys of one game, or of every game, newest first; never their secrets. */
export async function listGameKeys(tx: Tx, gameId?: string): Promise<GameKey[]> {
  const r = await tx.query<GameKey>(
    `select ${KEY_COLUMNS} from game_keys
      where org_id = $1::uuid and ($2::uuid is null or game_id = $2::uuid) order by created_at desc, id`,
    [tx.orgId, gameId === undefined ? null : parseInput(id, gameId)],
  );
  return r.rows.map(knownScopes);
}

/**
 * A scope the catalog doesn't know (stored before the checks, or since dropped) grants nothing
 * and is not shown, as resolveGameKey already treats it.
 */
const knownScopes = (k: GameKey): GameKey => ({
  ...k,
  scopes: k.scopes.filter((s) => gameKeyScope.safeParse(s).success),
});

/** Revokes a key at once; revoking it again changes nothing. */
export async function revokeGameKey(tx: Tx, keyId: string, actor: Actor): Promise<GameKey> {
  const kid = parseInput(id, keyId);
  const r = await tx.query<GameKey>(
    `update game_keys set revoked_at = now()
      where org_id = $1::uuid and id = $2::uuid and revoked_at is null returning ${KEY_COLUMNS}`,
    [tx.orgId, kid],
  );
  const key = r.rows[0];
  if (!key) {
    const existing = await tx.query<GameKey>(
      `select ${KEY_COLUMNS} from game_keys where org_id = $1::uuid and id = $2::uuid`,
      [tx.orgId, kid],
    );
    if (!existing.rows[0]) throw new AppError('not_found', 'game key not found');
    return knownScopes(existing.rows[0]);
  }
  await recordChange(tx, actor, {
    action: 'game_key.revoked',
    target: { type: 'game', id: key.gameId },
    data: { keyId: key.id, name: key.name, prefix: key.prefix },
  });
  return knownScopes(key);
}

export interface ResolvedGameKey {
  orgId: string;
  gameId: string;
  keyId: string;
  kind: GameKeyKind;
  scopes: GameKeyScope[];
}

const usage = new UsageThrottle();

/**
 * Turns a game key into its organization, game and scopes, or null when it is malformed, unknown
 * or revoked. Looked up by SHA-256 digest through the definer function; records `last_used_at`
 * at most once a minute per key.
 */
export async function resolveGameKey(
  pool: Pool,
  plaintext: string,
  opts: { throttle?: UsageThrottle } = {},
): Promise<ResolvedGameKey | null> {
  if (
    !looksLikeCredential(KEY_PREFIX.client, plaintext) &&
    !looksLikeCredential(KEY_PREFIX.server, plaintext)
  )
    return null;
  const r = await pool
    .query<{ org_id: string; game_id: string; key_id: string; scopes: string[]; kind: GameKeyKind }>({
      text: 'select org_id, game_id, key_id, scopes, kind from gm_resolve_game_key($1::bytea)',
      values: [hashCredential(plaintext)],
    })
    .catch((err) => {
      throw mapDbError(err);
    });
  const row = r.rows[0];
  if (!row) return null;
  if ((opts.throttle ?? usage).due(row.key_id))
    await touchLastUsed(pool, row.org_id, 'game_keys', row.key_id);
  return {
    orgId: row.org_id,
    gameId: row.game_id,
    keyId: row.key_id,
    kind: row.kind,
    scopes: row.scopes.filter((s): s is GameKeyScope => gameKeyScope.safeParse(s).success),
  };
}

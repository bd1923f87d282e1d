import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryAudit } from '../../db/audit.js';
import { UsageThrottle } from '../../db/credentials.js';
import {
  createGame,
  createGameKey,
  deleteGame,
  GAME_KEY_SCOPES,
  getGame,
  listGameKeys,
  listGames,
  resolveGameKey,
  revokeGameKey,
  updateGame,
} from '../../db/games.js';
import { type Tx, withTenant } from '../../db/tenant.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb();

describe('games', () => {
  it('creates, renames, lists and deletes games, auditing each change', async () => {
    const org = await makeOrg(db.app);
    const result = await withTenant(db.app, org.orgId, async (tx) => {
      const game = await createGame(tx, { name: 'Star Miners', slug: 'Star-Miners' }, org.owner);
      await createGame(tx, { name: 'Abyss', slug: 'abyss' }, org.owner);
      const renamed = await updateGame(tx, game.id, { name: 'Star Miners 2' }, org.owner);
      return { game, renamed, list: await listGames(tx) };
    });
    expect(result.game).toMatchObject({ name: 'Star Miners', slug: 'star-miners' });
    expect(result.renamed).toMatchObject({ id: result.game.id, name: 'Star Miners 2', slug: 'star-miners' });
    expect(result.list.map((g) => g.name)).toEqual(['Abyss', 'Star Miners 2']);

    await withTenant(db.app, org.orgId, (tx) => deleteGame(tx, result.game.id, org.owner));
    await expect(withTenant(db.app, org.orgId, (tx) => getGame(tx, result.game.id))).rejects.toMatchObject({
      code: 'not_found',
    });
    const audit = await withTenant(db.app, org.orgId, (tx) =>
      queryAudit(tx, { targetType: 'game', targetId: result.game.id }),
    );
    expect(audit.map((a) => a.action)).toEqual(['game.deleted', 'game.updated', 'game.created']);
  });

  it('refuses a duplicate slug with a clear conflict, and bad input', async () => {
    const org = await makeOrg(db.app);
    await withTenant(db.app, org.orgId, (tx) => createGame(tx, { name: 'One', slug: 'one' }, org.owner));
    await expect(
      withTenant(db.app, org.orgId, (tx) => createGame(tx, { name: 'Other', slug: 'one' }, org.owner)),
    ).rejects.toMatchObject({ code: 'conflict', message: 'a game with this slug already exists' });
    for (const bad of [
      { name: '', slug: 'ok' },
      { name: 'ok', slug: 'no spaces' },
      { name: 'ok', slug: 'x'.repeat(51) },
    ]) {
      await expect(
        withTenant(db.app, org.orgId, (tx) => createGame(tx, bad, org.owner)),
      ).rejects.toMatchObject({
        code: 'validation_failed',
      });
    }
    const game = await withTenant(db.app, org.orgId, (tx) =>
      createGame(tx, { name: 'T', slug: 't' }, org.owner),
    );
    await expect(
      withTenant(db.app, org.orgId, (tx) => updateGame(tx, game.id, {}, org.owner)),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('keeps games inside their organization', async () => {
    const a = await makeOrg(db.app, 'Alpha');
    const b = await makeOrg(db.app, 'Beta');
    const game = await withTenant(db.app, a.orgId, (tx) => createGame(tx, { name: 'A', slug: 'a' }, a.owner));
    // The same slug is free in another organization.
    await withTenant(db.app, b.orgId, (tx) => createGame(tx, { name: 'A', slug: 'a' }, b.owner));
    const attempts: Array<(tx: Tx) => Promise<unknown>> = [
      (tx) => getGame(tx, game.id),
      (tx) => updateGame(tx, game.id, { name: 'stolen' }, b.owner),
      (tx) => deleteGame(tx, game.id, b.owner),
      (tx) => createGameKey(tx, { gameId: game.id, name: 'k' }, b.owner),
    ];
    for (const attempt of attempts) {
      await expect(withTenant(db.app, b.orgId, attempt)).rejects.toMatchObject({ code: 'not_found' });
    }
    expect((await withTenant(db.app, a.orgId, (tx) => getGame(tx, game.id))).name).toBe('A');
  });
});

describe('game keys', () => {
  it('are shown once, stored hashed, resolved to org and game, and revocable', async () => {
    const org = await makeOrg(db.app);
    const other = await makeOrg(db.app, 'Other');
    const game = await withTenant(db.app, org.orgId, (tx) =>
      createGame(tx, { name: 'Game', slug: 'game' }, org.owner),
    );
    const { key, plaintext } = await withTenant(db.app, org.orgId, (tx) =>
      createGameKey(tx, { gameId: game.id, name: 'production' }, org.owner),
    );
    expect(plaintext).toMatch(/^gmk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(plaintext.startsWith(`${key.prefix}_`)).toBe(true);
    expect(key.scopes).toEqual([...GAME_KEY_SCOPES].sort());
    const stored = await db.admin.query<{ key_hash: Buffer }>(
      'select key_hash from game_keys where id = $1',
      [key.id],
    );
    expect(stored.rows[0]?.key_hash.equals(createHash('sha256').update(plaintext).digest())).toBe(true);

    const throttle = new UsageThrottle(60_000, () => 0);
    expect(await resolveGameKey(db.app, plaintext, { throttle })).toEqual({
      orgId: org.orgId,
      gameId: game.id,
      keyId: key.id,
      kind: 'client',
      scopes: key.scopes,
    });
    const used = await db.admin.query<{ last_used_at: Date | null }>(
      'select last_used_at from game_keys where id = $1',
      [key.id],
    );
    expect(used.rows[0]?.last_used_at).toBeInstanceOf(Date);
    // An API token's shape is not a game key, and vice versa.
    expect(await resolveGameKey(db.app, plaintext.replace(/^gmk_/, 'gm_'))).toBeNull();

    expect(await withTenant(db.app, other.orgId, (tx) => listGameKeys(tx))).toEqual([]);
    await expect(
      withTenant(db.app, other.orgId, (tx) => revokeGameKey(tx, key.id, other.owner)),
    ).rejects.toMatchObject({ code: 'not_found' });

    const listed = await withTenant(db.app, org.orgId, (tx) => listGameKeys(tx, game.id));
    expect(listed.map((k) => k.id)).toEqual([key.id]);
    expect(listed[0]).not.toHaveProperty('keyHash');
    await withTenant(db.app, org.orgId, (tx) => revokeGameKey(tx, key.id, org.owner));
    await withTenant(db.app, org.orgId, (tx) => revokeGameKey(tx, key.id, org.owner));
    expect(await resolveGameKey(db.app, plaintext)).toBeNull();
    const audit = await withTenant(db.app, org.orgId, (tx) =>
      queryAudit(tx, { targetType: 'game', targetId: game.id }),
    );
    expect(audit.map((a) => a.action)).toEqual(['game_key.revoked', 'game_key.created', 'game.created']);
  });

  it('validates scopes and drops with their game', async () => {
    const org = await makeOrg(db.app);
    const game = await withTenant(db.app, org.orgId, (tx) =>
      createGame(tx, { name: 'G', slug: 'g' }, org.owner),
    );
    await expect(
      withTenant(db.app, org.orgId, (tx) =>
        createGameKey(tx, { gameId: game.id, name: 'k', scopes: ['tickets:delete' as never] }, org.owner),
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    const { plaintext } = await withTenant(db.app, org.orgId, (tx) =>
      createGameKey(tx, { gameId: game.id, name: 'k', scopes: ['tickets:create'] }, org.owner),
    );
    expect((await resolveGameKey(db.app, plaintext))?.scopes).toEqual(['tickets:create']);
    await withTenant(db.app, org.orgId, (tx) => deleteGame(tx, game.id, org.owner));
    expect(await resolveGameKey(db.app, plaintext)).toBeNull();
  });
});

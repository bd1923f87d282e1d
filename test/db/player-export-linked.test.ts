import { describe, expect, it } from 'vitest';
import { gamePlayerInput, upsertGamePlayer } from '../../db/game-players.js';
import { createGame } from '../../db/games.js';
import { createLinkCode, redeemLinkCode } from '../../db/link-codes.js';
import { playerDossier } from '../../db/player-privacy.js';
import { type Tx, withTenant } from '../../db/tenant.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

/**
 * A player who linked accounts of several of the studio's games: the accounts of the further
 * games keep rows of their own pointing at the player (migration 228). They are that person's
 * data, so their export lists them.
 */
const db = useTestDb();

async function link(tx: Tx, gameId: string, account: { id: string; name: string }, discordUserId: string) {
  const player = await upsertGamePlayer(tx, gameId, gamePlayerInput.parse(account));
  const { code } = await createLinkCode(tx, player.id);
  return redeemLinkCode(tx, { code, discordUserId }, { type: 'system' });
}

describe("a linked player's export", () => {
  it('lists every game account linked to the player, the first one first', async () => {
    const org = await makeOrg(db.app, 'Linked export');
    const dossier = await withTenant(db.app, org.orgId, async (tx) => {
      const quest = await createGame(tx, { name: 'Quest', slug: 'quest' }, org.owner);
      const arena = await createGame(tx, { name: 'Arena', slug: 'arena' }, org.owner);
      const { playerId } = await link(tx, quest.id, { id: 'steam:9101', name: 'Ida' }, '888000000000000001');
      await link(tx, arena.id, { id: 'arena:9101', name: 'Ida A' }, '888000000000000001');
      return playerDossier(tx, playerId);
    });
    expect(dossier.player_profiles?.map((p) => [p.game_account_id, p.display_name])).toEqual([
      ['steam:9101', 'Ida'],
      ['arena:9101', 'Ida A'],
    ]);
  });
});

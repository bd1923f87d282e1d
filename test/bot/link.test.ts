import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertGamePlayer } from '../../db/game-players.js';
import { createGame } from '../../db/games.js';
import { createLinkCode } from '../../db/link-codes.js';
import { withTenant } from '../../db/tenant.js';
import { type Harness, interact, startHarness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const linkWith = (code: string) =>
  interact(h, {
    kind: 'chatInput',
    name: 'link',
    guildId: h.guild.id,
    channelId: h.guild.channels['support'] ?? '',
    userId: h.users.player,
    options: [{ name: 'code', value: code }],
  });

describe('/link', () => {
  it('links the game account that asked for the code to the Discord user, once', async () => {
    const { code, playerId } = await withTenant(h.db.app, h.org.orgId, async (tx) => {
      const game = await createGame(tx, { name: 'Quest', slug: 'quest' }, h.org.owner);
      const p = await upsertGamePlayer(tx, game.id, { id: 'steam:42', name: 'Hero' });
      return { ...(await createLinkCode(tx, p.id)), playerId: p.id };
    });
    const a = await linkWith(code.toLowerCase().replace(/(....)/, '$1-'));
    expect(a.content).toMatch(/^Linked/);
    expect(a.handle.record.callback?.data).toMatchObject({ flags: 64 });
    const r = await h.db.admin.query(`select discord_user_id from player_profiles where id = $1`, [playerId]);
    expect(r.rows[0].discord_user_id).toBe(h.users.player);

    const again = await linkWith(code);
    expect(again.content).toMatch(/unknown, used or expired/);
  });

  it('refuses a malformed code with a message, not a failure', async () => {
    const a = await linkWith('nope');
    expect(a.content).toMatch(/link code/);
  });
});

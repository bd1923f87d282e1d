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

  it('refuses, in a message only the player sees, a code that would replace a linked account', async () => {
    // Runs after the first test: this Discord user is linked to steam:42 in Quest already.
    const { mine, theirs, saga } = await withTenant(h.db.app, h.org.orgId, async (tx) => {
      const quest = (await tx.query<{ id: string }>(`select id from games where slug = 'quest'`)).rows[0];
      const game = await createGame(tx, { name: 'Saga', slug: 'saga' }, h.org.owner);
      const other = await upsertGamePlayer(tx, quest?.id as string, { id: 'steam:43', name: 'Other' });
      const sagaAccount = await upsertGamePlayer(tx, game.id, { id: 'saga:42', name: 'Hero' });
      const taken = await upsertGamePlayer(tx, game.id, { id: 'steam:44', name: 'Taken' });
      await tx.query(`update player_profiles set discord_user_id = '999999999999999999' where id = $1`, [
        taken.id,
      ]);
      return {
        mine: await createLinkCode(tx, other.id),
        theirs: await createLinkCode(tx, taken.id),
        saga: await createLinkCode(tx, sagaAccount.id),
      };
    });
    const a = await linkWith(mine.code);
    expect(a.content).toMatch(/already linked to another game account/);
    expect(a.handle.record.callback?.data).toMatchObject({ flags: 64 });
    const b = await linkWith(theirs.code);
    expect(b.content).toMatch(/already linked to another Discord account/);
    expect(b.handle.record.callback?.data).toMatchObject({ flags: 64 });
    const r = await h.db.admin.query(
      `select game_account_id, discord_user_id from player_profiles where game_account_id in ('steam:43', 'steam:44') order by 1`,
    );
    expect(r.rows).toEqual([
      { game_account_id: 'steam:43', discord_user_id: null },
      { game_account_id: 'steam:44', discord_user_id: '999999999999999999' },
    ]);
    // An account of another of the studio's games joins the same history.
    const c = await linkWith(saga.code);
    expect(c.content).toMatch(
      /^Linked: your game account and your Discord account now share one support history/,
    );
  });

  it('refuses a malformed code with a message, not a failure', async () => {
    const a = await linkWith('nope');
    expect(a.content).toMatch(/link code/);
  });
});

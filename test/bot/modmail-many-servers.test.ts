import { ChannelType } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPending } from '../../bot/dm-store.js';
import { SYSTEM } from '../../db/changes.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../../db/guild-links.js';
import { discordStaffAccess } from '../../db/guild-roles.js';
import { updateGuildSettings } from '../../db/guilds.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { upsertDiscordUser } from '../../db/users.js';
import { READ_ONLY_EVERYONE } from '../support/fake-discord/index.js';
import { makeOrg } from '../support/fixtures.js';
import { type Harness, settle, startHarness } from './harness.js';
import { modmail } from './modmail-support.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function linkedGuild(name: string, members: string[]) {
  const g = h.fake.addGuild({
    name,
    ownerId: h.users.owner,
    everyonePermissions: READ_ONLY_EVERYONE,
    channels: [{ name: 'support', type: ChannelType.GuildText }],
    members,
  });
  const org = await makeOrg(h.db.app, name.replace(/\W/g, ''));
  const { code } = await withTenant(h.db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
  await redeemGuildLinkCode(h.db.app, { code, guildId: g.id, guildName: name }, org.owner);
  await withTenant(h.db.app, org.orgId, (tx) =>
    updateGuildSettings(tx, g.id, { supportChannelId: g.channels['support'], cooldownSeconds: 0 }, SYSTEM),
  );
  return { guild: g, org };
}

/** The guilds the bot asked Discord about this user's membership in, in the order asked. */
const memberLookups = (userId: string) =>
  h.fake
    .requests({ method: 'GET' })
    .filter((r) => r.route === '/guilds/:guild_id/members/:user_id' && r.path.endsWith(`/${userId}`))
    .map((r) => r.path.split('/').at(-3));

describe('modmail on a bot that serves many studios', () => {
  it('finds the one linked server the player shares with the bot, whatever the other studios', async () => {
    for (let n = 0; n < 25; n++) await linkedGuild(`Studio ${n}`, []);
    // The 26th linked server: the one a first DM used to be cut off before.
    const fan = h.fake.addUser({ username: 'fan' }).id;
    await linkedGuild('Zeta Games', [fan]);
    await settle(h, async () => h.bot.client.guilds.cache.size >= 27, 10_000);
    h.fake.userDm(fan, 'My purchase never arrived');
    const m = modmail(h);
    await settle(h, async () => m.botDms(fan).length > 0, 10_000);
    expect(m.botDms(fan)[0]?.content).not.toMatch(/share|server/i);
    expect(m.botDms(fan)[0]?.content).toMatch(/^Your ticket #1 with \*\*Zeta Games\*\* is open/);
    expect(memberLookups(fan)).toHaveLength(h.bot.client.guilds.cache.size);
  });

  it('asks first in the servers of studios that already know the player, then in the others', async () => {
    const regular = h.fake.addUser({ username: 'regular' }).id;
    const { guild, org } = await linkedGuild('Omega Works', [regular]);
    await withTenant(h.db.app, org.orgId, (tx) =>
      upsertPlayer(tx, { displayName: 'Regular', discordUserId: regular }),
    );
    await settle(h, async () => h.bot.client.guilds.cache.has(guild.id), 10_000);
    h.fake.userDm(regular, 'Where is my order?');
    const m = modmail(h);
    await settle(h, async () => m.botDms(regular).length > 0, 10_000);
    expect(m.botDms(regular)[0]?.content).toMatch(/^Your ticket #1 with \*\*Omega Works\*\* is open/);
    const asked = memberLookups(regular);
    expect(asked[0]).toBe(guild.id);
    // Still every other linked server after it, so a studio new to the player is offered too.
    expect(asked).toHaveLength(h.bot.client.guilds.cache.size);
  });

  it('a moderator who left the server and writes to the bot loses the membership its mapped role made', async () => {
    const mod = h.users.moderator;
    const userId = (await upsertDiscordUser(h.db.app, { discordUserId: mod, username: 'mod' })).id;
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      discordStaffAccess(tx, h.guild.id, userId, [h.guild.roles['Moderator'] ?? ''], true),
    );
    const isMember = async () =>
      (
        await h.db.admin.query('select 1 from memberships where org_id = $1 and user_id = $2', [
          h.org.orgId,
          userId,
        ])
      ).rowCount === 1;
    expect(await isMember()).toBe(true);
    // Left the server: the bot is never told (no GuildMembers intent), but the first DM's search
    // hears Unknown Member for them there. (A server not linked to any studio is still shared.)
    h.fake.removeMember(h.guild.id, mod);
    const elsewhere = h.fake.addGuild({ name: 'Elsewhere', ownerId: h.users.owner, members: [mod] });
    await settle(h, async () => h.bot.client.guilds.cache.has(elsewhere.id), 10_000);
    h.fake.userDm(mod, 'Hello again');
    const m = modmail(h);
    await settle(h, async () => m.botDms(mod).length > 0, 10_000);
    expect(memberLookups(mod)).toContain(h.guild.id);
    expect(await isMember()).toBe(false);
  });

  it('a burst of first DMs: who would wait too long for the search is told to write again, and nothing is kept', async () => {
    const m = modmail(h);
    const busy = 'Lots of players are writing right now, please send your message again in a minute.';
    const deps = h.bot.deps;
    const before = deps.dmSearchMaxWaitMs;
    deps.dmSearchMaxWaitMs = 300;
    try {
      // Six players at once, each searched through every linked server (about 30 look-ups each
      // at 25 a second): the later searches would wait seconds for their turn.
      const players = Array.from({ length: 6 }, (_, n) => h.fake.addUser({ username: `burst${n}` }).id);
      // A server the bot shares with them (Discord delivers no DM otherwise) that no studio linked.
      const lobby = h.fake.addGuild({ name: 'Lobby', ownerId: h.users.owner, members: players });
      await settle(h, async () => h.bot.client.guilds.cache.has(lobby.id), 10_000);
      for (const p of players) h.fake.userDm(p, 'Is the server down?');
      await settle(h, async () => players.every((p) => m.botDms(p).length > 0), 20_000);
      const answers = players.map((p) => m.botDms(p).map((d) => d.content));
      for (const a of answers) expect(a).toHaveLength(1);
      const told = players.filter((_, n) => answers[n]?.[0] === busy);
      expect(told.length, JSON.stringify(answers)).toBeGreaterThan(0);
      for (const p of told) expect(await readPending(h.bot.deps, p)).toEqual([]);

      // Written again once it is quiet, the message starts afresh: this time the ticket opens.
      const again = told[0] as string;
      const { guild } = await linkedGuild('Burst Games', [again]);
      await settle(h, async () => h.bot.client.guilds.cache.has(guild.id), 10_000);
      await new Promise((r) => setTimeout(r, 1_500));
      h.fake.userDm(again, 'Is the server down? (again)');
      await settle(h, async () => m.botDms(again).length > 1, 15_000);
      expect(m.botDms(again)[1]?.content).toMatch(/^Your ticket #1 with \*\*Burst Games\*\* is open/);
      const ticket = await m.dmTicket(again);
      expect((await m.messages(ticket?.id as string)).map((x) => x.body)).toEqual([
        'Is the server down? (again)',
      ]);
    } finally {
      deps.dmSearchMaxWaitMs = before;
    }
  });
});

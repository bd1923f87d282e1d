import { ChannelType } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../../db/guild-links.js';
import { updateGuildSettings } from '../../db/guilds.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
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
});

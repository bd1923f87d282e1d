import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { addMember } from '../../db/memberships.js';
import { addTeamMember, createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { assign } from '../../db/tickets.js';
import { createUser, userIdForDiscord } from '../../db/users.js';
import { setWorkingHours } from '../../db/working-hours.js';
import { choosePresence, touchPresence } from '../../lib/presence.js';
import { type Harness, interact, openThroughPanel, settle, startHarness, theTicket } from './harness.js';

/** `/team`: who of each team is around, on shift and how loaded, for staff only. */

interface Embed {
  title: string;
  fields: { name: string; value: string }[];
  footer?: { text: string };
}

let h: Harness;
let support: string;
let moderation: { id: string };
const ids: Record<'ana' | 'bo' | 'cy', string> = { ana: '', bo: '', cy: '' };

beforeAll(async () => {
  h = await startHarness();
  support = h.guild.channels['support'] ?? '';
  for (const name of ['ana', 'bo', 'cy'] as const)
    ids[name] = (await createUser(h.db.app, { displayName: name[0]?.toUpperCase() + name.slice(1) })).id;
  moderation = await withTenant(h.db.app, h.org.orgId, async (tx) => {
    const team = await createTeam(tx, { name: 'Moderation' }, SYSTEM);
    await createTeam(tx, { name: 'Billing' }, SYSTEM);
    for (const id of Object.values(ids)) {
      await addMember(tx, { userId: id, role: 'agent' }, h.org.owner);
      await addTeamMember(tx, { teamId: team.id, userId: id }, SYSTEM);
    }
    // Ana has hours set but no shift on any day: off shift whenever this runs.
    await setWorkingHours(tx, ids.ana, { workingHours: { timeZone: 'UTC', week: {} } }, SYSTEM);
    return team;
  });
  await h.db.admin.query(
    'update team_members set max_open_tickets = 3 where team_id = $1 and user_id = any($2::uuid[])',
    [moderation.id, [ids.bo, ids.cy]],
  );
  await openThroughPanel(h);
  const { ticketId } = await theTicket(h);
  await withTenant(h.db.app, h.org.orgId, (tx) => assign(tx, { ticketId, assigneeId: ids.bo }, h.org.owner));
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const team = (userId: string, name?: string) =>
  interact(h, {
    kind: 'chatInput',
    name: 'team',
    guildId: h.guild.id,
    channelId: support,
    userId,
    ...(name ? { options: [{ name: 'name', value: name }] } : {}),
  });
const embedOf = (a: { data: unknown }) => (a.data as { embeds: Embed[] }).embeds[0] as Embed;

describe('/team', () => {
  it("shows each member's presence, shift and load, with another member's Discord activity", async () => {
    // The agent works from Discord: any command of theirs keeps them online.
    await interact(h, {
      kind: 'chatInput',
      name: 'stats',
      guildId: h.guild.id,
      channelId: support,
      userId: h.users.agent,
    });
    const agentId = await userIdForDiscord(h.db.app, h.users.agent);
    if (!agentId) throw new Error('the agent did not become a member');
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      addTeamMember(tx, { teamId: moderation.id, userId: agentId }, SYSTEM),
    );
    await h.db.admin.query('update users set display_name = $2 where id = $1', [agentId, 'Agent Smith']);
    await settle(h, async () => (await h.redis.hexists(`gm:staff-presence:${h.org.orgId}`, agentId)) === 1);
    await touchPresence(h.redis, h.org.orgId, ids.bo, 'panel', new Date(Date.now() - 40 * 60_000));
    await touchPresence(h.redis, h.org.orgId, ids.cy, 'panel');
    await choosePresence(h.redis, h.org.orgId, ids.cy, 'away');

    const a = await team(h.users.moderator, 'moderation');
    const embed = embedOf(a);
    expect(embed.title).toBe('Team presence');
    expect(embed.fields.map((f) => f.name)).toEqual(['Moderation · 1 of 4 online']);
    expect((embed.fields[0]?.value ?? '').split('\n')).toEqual([
      '🟢 **Agent Smith** · online · in working hours · 0 open',
      '⚫ **Ana** · offline, never seen · outside working hours · 0 open',
      '⚫ **Bo** · offline, last seen 40 minutes ago · in working hours · 1/3 open',
      '🌙 **Cy** · away · in working hours · 0/3 open',
    ]);

    const all = embedOf(await team(h.users.moderator));
    expect(all.fields.map((f) => f.name)).toEqual(['Billing · 0 of 0 online', 'Moderation · 1 of 4 online']);
    expect(all.fields[0]?.value).toBe('No members yet.');

    expect((await team(h.users.moderator, 'Nope')).content).toBe('There is no team called “Nope”.');
  });

  it('refuses a player, ephemerally, and offers them no team names', async () => {
    const a = await team(h.users.player);
    expect(a.content).toContain('You need the `tickets.read` permission');
    expect(a.data).not.toHaveProperty('embeds.0');
    const suggest = (userId: string) =>
      h.fake.sendInteraction({
        kind: 'autocomplete',
        name: 'team',
        focused: 'name',
        guildId: h.guild.id,
        channelId: support,
        userId,
        options: [{ name: 'name', value: 'mod' }],
      }).response;
    expect((await suggest(h.users.player))?.data).toEqual({ choices: [] });
    expect((await suggest(h.users.moderator))?.data).toEqual({
      choices: [{ name: 'Moderation', value: 'Moderation' }],
    });
  });

  it("cuts a large team and many teams to Discord's limits with what is left counted", async () => {
    // 150 members with long names in one team, and 30 more teams: far past one message.
    await h.db.admin.query(
      `with u as (
         insert into users (display_name)
         select 'Member with a rather long display name number ' || n from generate_series(1, 150) n
         returning id)
       , m as (
         insert into memberships (org_id, user_id, role_id)
         select $1::uuid, u.id, (select id from roles where org_id = $1::uuid and key = 'agent') from u
         returning user_id)
       , t as (insert into teams (org_id, name) values ($1::uuid, 'Everyone') returning id)
       insert into team_members (org_id, team_id, user_id) select $1::uuid, t.id, m.user_id from t, m`,
      [h.org.orgId],
    );
    await h.db.admin.query(
      `insert into teams (org_id, name) select $1::uuid, 'Squad ' || lpad(n::text, 2, '0') from generate_series(1, 30) n`,
      [h.org.orgId],
    );
    const one = embedOf(await team(h.users.moderator, 'Everyone'));
    const value = one.fields[0]?.value ?? '';
    expect(value.length).toBeLessThanOrEqual(1024);
    expect(value).toMatch(/\n… and \d+ more$/);
    const shown = value.split('\n').length - 1;
    expect(value).toContain(`… and ${150 - shown} more`);

    const all = embedOf(await team(h.users.moderator));
    expect(all.fields.length).toBeLessThanOrEqual(25);
    const total =
      all.title.length +
      (all.footer?.text.length ?? 0) +
      all.fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(6000);
    expect(all.footer?.text).toBe(`… and ${33 - all.fields.length} more teams`);
  });
});

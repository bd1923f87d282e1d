import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discordStaffAccess } from '../../db/guild-roles.js';
import { addMember } from '../../db/memberships.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let owner: Caller;
const u = (p: string) => `/v1/orgs/${org.orgId}${p}`;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Resources');
  owner = await api.sessionFor(org.ownerId);
});
afterAll(() => api.close());

async function newMember(role: string) {
  const user = await createUser(db.app, { displayName: `A ${role}` });
  await withTenant(db.app, org.orgId, (tx) => addMember(tx, { userId: user.id, role }, org.owner));
  return { user, caller: await api.sessionFor(user.id) };
}

describe('organization, members and invites', () => {
  it('changes settings and keeps them in the audit log', async () => {
    const res = await api.call(owner, {
      method: 'PATCH',
      url: u(''),
      payload: { name: 'Resources Inc', inactivityCloseHours: 72, settings: { locale: 'en' } },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'Resources Inc',
      inactivityCloseHours: 72,
      settings: { locale: 'en' },
    });
    const audit = await api.call(owner, { method: 'GET', url: u('/audit?action=organization.updated') });
    expect(audit.json().entries[0]).toMatchObject({ action: 'organization.updated', actorId: org.ownerId });
  });

  it('sets how long a solved ticket waits for the player before it closes, and refuses a bad value by name', async () => {
    const set = await api.call(owner, { method: 'PATCH', url: u(''), payload: { solvedCloseHours: 96 } });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ solvedCloseHours: 96 });
    const audit = await api.call(owner, { method: 'GET', url: u('/audit?action=organization.updated') });
    expect(audit.json().entries[0].data.changes).toMatchObject({ solvedCloseHours: { to: 96 } });
    const bad = await api.call(owner, { method: 'PATCH', url: u(''), payload: { solvedCloseHours: 0 } });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('solvedCloseHours');
    const off = await api.call(owner, { method: 'PATCH', url: u(''), payload: { solvedCloseHours: null } });
    expect(off.json()).toMatchObject({ solvedCloseHours: null });
  });

  it('sets after how long an offline assignee has their tickets handed on, and refuses a bad value by name', async () => {
    const set = await api.call(owner, {
      method: 'PATCH',
      url: u(''),
      payload: { reassignOfflineMinutes: 30 },
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ reassignOfflineMinutes: 30 });
    const audit = await api.call(owner, { method: 'GET', url: u('/audit?action=organization.updated') });
    expect(audit.json().entries[0].data.changes).toMatchObject({ reassignOfflineMinutes: { to: 30 } });
    const bad = await api.call(owner, {
      method: 'PATCH',
      url: u(''),
      payload: { reassignOfflineMinutes: 1 },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('reassignOfflineMinutes');
    const off = await api.call(owner, {
      method: 'PATCH',
      url: u(''),
      payload: { reassignOfflineMinutes: null },
    });
    expect(off.json()).toMatchObject({ reassignOfflineMinutes: null });
  });

  it('lets a member set their own working hours, and only members.manage set anyone else’s', async () => {
    const agent = await newMember('agent');
    const other = await newMember('agent');
    const hours = { timeZone: 'Europe/Berlin', week: { mon: [[540, 1020]], tue: [[540, 1020]] } };
    const path = (id: string) => u(`/members/${id}/working-hours`);
    const own = await api.call(agent.caller, {
      method: 'PUT',
      url: path(agent.user.id),
      payload: { workingHours: hours },
    });
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json()).toEqual({ workingHours: hours });
    const read = await api.call(other.caller, { method: 'GET', url: path(agent.user.id) });
    expect(read.json()).toEqual({ workingHours: hours });
    const theirs = await api.call(agent.caller, {
      method: 'PUT',
      url: path(other.user.id),
      payload: { workingHours: null },
    });
    expect(theirs.statusCode).toBe(403);
    const bad = await api.call(owner, {
      method: 'PUT',
      url: path(other.user.id),
      payload: { workingHours: { timeZone: 'UTC', week: { mon: [[600, 500]] } } },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('workingHours.week.mon');
    const cleared = await api.call(owner, {
      method: 'PUT',
      url: path(agent.user.id),
      payload: { workingHours: null },
    });
    expect(cleared.json()).toEqual({ workingHours: null });
    const audit = await api.call(owner, { method: 'GET', url: u('/audit?action=member.working_hours_set') });
    expect(audit.json().entries[0]).toMatchObject({ actorId: org.ownerId, data: { to: null } });
  });

  it('makes an invite link that joins a signed-in user once, with the invite role', async () => {
    const made = await api.call(owner, { method: 'POST', url: u('/invites'), payload: { role: 'agent' } });
    expect(made.statusCode, made.body).toBe(201);
    const { code, invite, url } = made.json();
    expect(code).toMatch(/^gminv_/);
    // A panel path the page is served for (not /panel/#/..., which answered a JSON 404).
    expect(url).toBe(`${api.app.settings.publicUrl}/invite/${code}`);
    const page = await api.call(null, { method: 'GET', url: new URL(url).pathname });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const listed = await api.call(owner, { method: 'GET', url: u('/invites') });
    expect(JSON.stringify(listed.json())).not.toContain(code);
    // The code is a secret kept only hashed: not even a request with an Idempotency-Key leaves it
    // in the database (a replayed answer would have to keep it in clear).
    const keyed = await api.call(owner, {
      method: 'POST',
      url: u('/invites'),
      payload: { role: 'agent' },
      headers: { 'idempotency-key': 'invite-once' },
    });
    expect(keyed.statusCode, keyed.body).toBe(201);
    const kept = await db.admin.query(
      `select count(*)::int as n from idempotency_keys where response_body::text like $1`,
      [`%${keyed.json().code}%`],
    );
    expect(kept.rows[0].n).toBe(0);

    const joiner = await createUser(db.app, { displayName: 'Joiner' });
    const session = await api.sessionFor(joiner.id);
    const redeemed = await api.call(session, {
      method: 'POST',
      url: '/v1/invites/redeem',
      payload: { code },
    });
    expect(redeemed.statusCode, redeemed.body).toBe(200);
    expect(redeemed.json().orgId).toBe(org.orgId);
    const members = (await api.call(owner, { method: 'GET', url: u('/members') })).json().members;
    expect(members.find((m: { userId: string }) => m.userId === joiner.id)?.roleKey).toBe('agent');

    const late = await createUser(db.app, { displayName: 'Late' });
    const used = await api.call(await api.sessionFor(late.id), {
      method: 'POST',
      url: '/v1/invites/redeem',
      payload: { code },
    });
    expect(used.statusCode).toBe(404);
    const revoked = await api.call(owner, { method: 'DELETE', url: u(`/invites/${invite.id}`) });
    expect(revoked.json().revokedAt).not.toBeNull();
  });

  it("tells a signed-in user an invite link's org and role before redeeming, and nothing for a bad code", async () => {
    const made = await api.call(owner, {
      method: 'POST',
      url: u('/invites'),
      payload: { role: 'moderator' },
    });
    const { code } = made.json() as { code: string };
    const joiner = await createUser(db.app, { displayName: 'Looker' });
    const session = await api.sessionFor(joiner.id);
    const lookup = (who: Caller | null, c: string) =>
      api.call(who, { method: 'POST', url: '/v1/invites/lookup', payload: { code: c } });
    const seen = await lookup(session, code);
    expect(seen.statusCode, seen.body).toBe(200);
    expect(seen.json()).toMatchObject({
      orgId: org.orgId,
      orgName: 'Resources Inc',
      role: { key: 'moderator', name: 'Moderator' },
      alreadyMember: false,
    });
    // Looking does not use the link: it still joins.
    const redeemed = await api.call(session, {
      method: 'POST',
      url: '/v1/invites/redeem',
      payload: { code },
    });
    expect(redeemed.statusCode, redeemed.body).toBe(200);
    expect((await lookup(owner, code)).statusCode).toBe(404);
    const bad = await lookup(session, 'gminv_nothing');
    expect(bad.statusCode).toBe(404);
    expect(bad.json().error.message).toMatch(/unknown, used up, revoked or expired/);
    expect((await lookup(session, '')).statusCode).toBe(422);
    expect((await lookup(null, code)).statusCode).toBe(401);
  });

  it('changes a role and removes a member, but never the last owner', async () => {
    const { user } = await newMember('viewer');
    const up = await api.call(owner, {
      method: 'PATCH',
      url: u(`/members/${user.id}`),
      payload: { role: 'moderator' },
    });
    expect(up.statusCode, up.body).toBe(200);
    const last = await api.call(owner, {
      method: 'PATCH',
      url: u(`/members/${org.ownerId}`),
      payload: { role: 'agent' },
    });
    expect(last.statusCode).toBe(409);
    expect((await api.call(owner, { method: 'DELETE', url: u(`/members/${user.id}`) })).statusCode).toBe(200);
    const members = (await api.call(owner, { method: 'GET', url: u('/members') })).json().members;
    expect(members.some((m: { userId: string }) => m.userId === user.id)).toBe(false);
  });
});

describe('members made by the bot from Discord roles', () => {
  it('get no panel access of their own until an admin gives them a role in the panel', async () => {
    const guildId = '423456789012345678';
    const discordRole = '523456789012345678';
    await db.admin.query("insert into discord_guilds (org_id, guild_id, name) values ($1, $2, 'Guild')", [
      org.orgId,
      guildId,
    ]);
    await db.admin.query(
      `insert into discord_role_mappings (org_id, guild_id, discord_role_id, role_id)
       select $1, $2, $3, id from roles where org_id = $1 and key = 'moderator'`,
      [org.orgId, guildId, discordRole],
    );
    const mod = await createUser(db.app, { displayName: 'Discord mod' });
    // What the bot does on a mapped member's first action: a marked membership.
    await withTenant(db.app, org.orgId, (tx) => discordStaffAccess(tx, guildId, mod.id, [discordRole], true));
    const session = await api.sessionFor(mod.id);
    expect((await api.call(session, { method: 'GET', url: u('/tickets') })).statusCode).toBe(404);

    const promoted = await api.call(owner, {
      method: 'PATCH',
      url: u(`/members/${mod.id}`),
      payload: { role: 'agent' },
    });
    expect(promoted.statusCode, promoted.body).toBe(200);
    expect((await api.call(session, { method: 'GET', url: u('/tickets') })).statusCode).toBe(200);
  });
});

describe('roles and teams', () => {
  it('creates a custom role, grants it to a member who then holds exactly its permissions, and deletes it once unused', async () => {
    const created = await api.call(owner, {
      method: 'POST',
      url: u('/roles'),
      payload: { key: 'triage', name: 'Triage', permissions: ['tickets.read', 'tickets.assign', 'org.read'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const role = created.json();
    const { user, caller } = await newMember('viewer');
    await api.call(owner, { method: 'PATCH', url: u(`/members/${user.id}`), payload: { role: 'triage' } });
    expect((await api.call(caller, { method: 'GET', url: u('/tickets') })).statusCode).toBe(200);
    expect(
      (await api.call(caller, { method: 'POST', url: u('/tickets'), payload: { subject: 'x' } })).statusCode,
    ).toBe(403);

    const inUse = await api.call(owner, { method: 'DELETE', url: u(`/roles/${role.id}`) });
    expect(inUse.statusCode).toBe(409);
    const owners = (await api.call(owner, { method: 'GET', url: u('/roles') })).json().roles;
    const ownerRole = owners.find((r: { key: string }) => r.key === 'owner');
    const locked = await api.call(owner, {
      method: 'PATCH',
      url: u(`/roles/${ownerRole.id}`),
      payload: { permissions: [] },
    });
    expect(locked.statusCode).toBe(409);
    const bad = await api.call(owner, {
      method: 'POST',
      url: u('/roles'),
      payload: { key: 'x', name: 'X', permissions: ['root.all'] },
    });
    expect(bad.statusCode).toBe(422);

    await api.call(owner, { method: 'PATCH', url: u(`/members/${user.id}`), payload: { role: 'viewer' } });
    expect((await api.call(owner, { method: 'DELETE', url: u(`/roles/${role.id}`) })).statusCode).toBe(200);
  });

  it('builds a team from org members only', async () => {
    const team = (
      await api.call(owner, { method: 'POST', url: u('/teams'), payload: { name: 'Anti-cheat' } })
    ).json();
    const { user } = await newMember('agent');
    const added = await api.call(owner, { method: 'PUT', url: u(`/teams/${team.id}/members/${user.id}`) });
    expect(added.json().memberIds).toEqual([user.id]);
    const stranger = await createUser(db.app, { displayName: 'Stranger' });
    const refused = await api.call(owner, {
      method: 'PUT',
      url: u(`/teams/${team.id}/members/${stranger.id}`),
    });
    expect(refused.statusCode).toBe(404);
    const renamed = await api.call(owner, {
      method: 'PATCH',
      url: u(`/teams/${team.id}`),
      payload: { name: 'Fair play' },
    });
    expect(renamed.json().name).toBe('Fair play');
    expect((await api.call(owner, { method: 'DELETE', url: u(`/teams/${team.id}`) })).statusCode).toBe(200);
  });
});

describe('players and the inbox', () => {
  it("shows a player's identities and history, and finds players by name or id", async () => {
    const player = await withTenant(db.app, org.orgId, async (tx) => {
      const p = await upsertPlayer(tx, { displayName: 'Raider Rex', discordUserId: '323456789012345678' });
      await openTicket(
        tx,
        { subject: 'Lost my loot', origin: 'discord', requesterId: p.id },
        { type: 'player', id: p.id },
      );
      return p;
    });
    const found = await api.call(owner, { method: 'GET', url: u('/players?q=raider') });
    expect(found.json().players.map((p: { id: string }) => p.id)).toEqual([player.id]);
    const byDiscord = await api.call(owner, { method: 'GET', url: u('/players?q=323456789012345678') });
    expect(byDiscord.json().players).toHaveLength(1);
    const profile = await api.call(owner, { method: 'GET', url: u(`/players/${player.id}`) });
    expect(profile.json().player.discordUserId).toBe('323456789012345678');
    expect(profile.json().history.tickets.map((t: { subject: string }) => t.subject)).toEqual([
      'Lost my loot',
    ]);
  });

  it('runs a staff room with unread counts per member, read marks and reactions', async () => {
    const { caller: colleague, user } = await newMember('agent');
    const room = (
      await api.call(owner, {
        method: 'POST',
        url: u('/channels'),
        payload: { kind: 'staff_room', name: 'Mods' },
      })
    ).json();
    for (const text of ['raid tonight?', 'bring snacks']) {
      const r = await api.call(owner, {
        method: 'POST',
        url: u(`/channels/${room.id}/messages`),
        payload: { body: text },
      });
      expect(r.statusCode, r.body).toBe(201);
    }
    const unread = async (who: Caller) =>
      (await api.call(who, { method: 'GET', url: u('/channels?kind=staff_room') }))
        .json()
        .channels.find((c: { id: string }) => c.id === room.id).unread;
    expect(await unread(colleague)).toBe(2);
    expect(await unread(owner)).toBe(0);
    await api.call(colleague, { method: 'POST', url: u(`/channels/${room.id}/read`) });
    expect(await unread(colleague)).toBe(0);

    const msgs = (
      await api.call(colleague, { method: 'GET', url: u(`/channels/${room.id}/messages`) })
    ).json().messages;
    const first = msgs[0].id;
    const thumbs = encodeURIComponent('👍');
    await api.call(colleague, { method: 'PUT', url: u(`/messages/${first}/reactions/${thumbs}`) });
    await api.call(colleague, { method: 'PUT', url: u(`/messages/${first}/reactions/${thumbs}`) });
    await api.call(owner, { method: 'PUT', url: u(`/messages/${first}/reactions/${thumbs}`) });
    let after = (await api.call(owner, { method: 'GET', url: u(`/channels/${room.id}/messages`) })).json()
      .messages;
    expect(after[0].reactions).toEqual([
      { emoji: '👍', count: 2, userIds: expect.arrayContaining([user.id, org.ownerId]) },
    ]);
    await api.call(colleague, { method: 'DELETE', url: u(`/messages/${first}/reactions/${thumbs}`) });
    after = (await api.call(owner, { method: 'GET', url: u(`/channels/${room.id}/messages`) })).json()
      .messages;
    expect(after[0].reactions[0].count).toBe(1);
    const events = await db.admin.query(
      "select event_type from outbox where org_id = $1 and event_type like 'message.reaction%' order by id",
      [org.orgId],
    );
    expect(events.rows.map((r) => r.event_type)).toEqual([
      'message.reaction_added',
      'message.reaction_added',
      'message.reaction_removed',
    ]);
  });

  it('refuses a ticket conversation as a DM target and unread marks from tokens', async () => {
    const token = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
    const room = (
      await api.call(owner, {
        method: 'POST',
        url: u('/channels'),
        payload: { kind: 'staff_room', name: 'Tokens' },
      })
    ).json();
    const res = await api.call(token, { method: 'POST', url: u(`/channels/${room.id}/read`) });
    expect(res.statusCode).toBe(403);
    expect(errorCode(res)).toBe('forbidden');
  });
});

import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../db/changes.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../../db/guild-links.js';
import { setRoleMapping } from '../../db/guild-roles.js';
import { addMember, changeRole, removeMember } from '../../db/memberships.js';
import type { Permission } from '../../db/permissions.js';
import { createRole } from '../../db/roles.js';
import { type Tx, withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/**
 * "Grant at most what you hold" on every path that hands out or takes away org permissions:
 * member role changes and removals, invites (made and accepted), role create/edit/delete and
 * Discord role mappings. Every refusal is checked in the database too: nothing changed and no
 * audit row was written.
 */

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
const GUILD = '512345678901234567';
/** The users of `org`, by what they are. */
const u: Record<string, string> = {};
const as: Record<string, Caller> = {};

/** A custom role that may manage members, roles and guilds but holds little else. */
const CLERK_PERMISSIONS: Permission[] = [
  'org.read',
  'members.read',
  'members.manage',
  'roles.manage',
  'guilds.manage',
];

async function member(orgId: string, owner: Actor, name: string, role: string): Promise<string> {
  const user = await createUser(db.app, { displayName: name });
  await withTenant(db.app, orgId, (tx) => addMember(tx, { userId: user.id, role }, owner));
  return user.id;
}

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Grants');
  await withTenant(db.app, org.orgId, async (tx) => {
    await createRole(tx, { key: 'clerk', name: 'Clerk', permissions: CLERK_PERMISSIONS }, org.owner);
    // Made by the owner: a role carrying what neither admins nor clerks hold.
    await createRole(
      tx,
      { key: 'steward', name: 'Steward', permissions: ['org.manage', 'org.read'] },
      org.owner,
    );
    await createRole(
      tx,
      { key: 'rookie', name: 'Rookie', permissions: ['org.read', 'members.read'] },
      org.owner,
    );
    await createRole(
      tx,
      { key: 'hooks', name: 'Hooks', permissions: ['webhooks.manage', 'org.read'] },
      org.owner,
    );
  });
  u.owner = org.ownerId;
  u.owner2 = await member(org.orgId, org.owner, 'Second owner', 'owner');
  u.admin = await member(org.orgId, org.owner, 'Admin', 'admin');
  u.admin2 = await member(org.orgId, org.owner, 'Other admin', 'admin');
  u.clerk = await member(org.orgId, org.owner, 'Clerk', 'clerk');
  u.viewer = await member(org.orgId, org.owner, 'Viewer', 'viewer');
  u.viewer2 = await member(org.orgId, org.owner, 'Viewer two', 'viewer');
  u.rookie = await member(org.orgId, org.owner, 'Rookie', 'rookie');
  for (const k of ['owner', 'owner2', 'admin', 'clerk']) as[k] = await api.sessionFor(u[k] as string);
  const { code } = await withTenant(db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
  await redeemGuildLinkCode(db.app, { code, guildId: GUILD, guildName: 'Grants guild' }, org.owner);
});
afterAll(() => api.close());

async function roleOf(orgId: string, userId: string): Promise<string | null> {
  const r = await db.admin.query(
    'select r.key from memberships m join roles r on r.id = m.role_id where m.org_id = $1 and m.user_id = $2',
    [orgId, userId],
  );
  return r.rows[0]?.key ?? null;
}

async function auditRows(orgId: string = org.orgId): Promise<number> {
  const r = await db.admin.query('select count(*)::int as n from audit_logs where org_id = $1', [orgId]);
  return r.rows[0].n;
}

async function rolePermissions(key: string): Promise<string[] | null> {
  const r = await db.admin.query(
    `select r.name, coalesce(array_agg(rp.permission_key order by rp.permission_key)
              filter (where rp.permission_key is not null), '{}') as perms
     from roles r left join role_permissions rp on rp.role_id = r.id
     where r.org_id = $1 and r.key = $2 group by r.id`,
    [org.orgId, key],
  );
  return r.rows[0] ? r.rows[0].perms : null;
}

async function mapping(discordRoleId: string): Promise<string | null> {
  const r = await db.admin.query(
    `select r.key from discord_role_mappings m join roles r on r.id = m.role_id
     where m.guild_id = $1 and m.discord_role_id = $2`,
    [GUILD, discordRoleId],
  );
  return r.rows[0]?.key ?? null;
}

/** A 403 `forbidden` whose message names every one of `named`. */
function expectRefused(res: LightMyRequestResponse, named: string[]) {
  expect(res.statusCode, res.body).toBe(403);
  const body = res.json() as { error: { code: string; message: string } };
  expect(body.error.code).toBe('forbidden');
  for (const n of named) expect(body.error.message).toContain(n);
}

/** Runs `act`, expects it refused naming `named`, and checks no audit row was written. */
async function refusedWithoutTrace(
  act: () => Promise<LightMyRequestResponse>,
  named: string[],
  orgId: string = org.orgId,
) {
  const before = await auditRows(orgId);
  expectRefused(await act(), named);
  expect(await auditRows(orgId)).toBe(before);
}

const url = (path: string, orgId = org.orgId) => `/v1/orgs/${orgId}${path}`;
const patchMember = (who: Caller, userId: string, role: string) =>
  api.call(who, { method: 'PATCH', url: url(`/members/${userId}`), payload: { role } });
const deleteMember = (who: Caller, userId: string) =>
  api.call(who, { method: 'DELETE', url: url(`/members/${userId}`) });
const invite = (who: Caller, payload: Record<string, unknown>) =>
  api.call(who, { method: 'POST', url: url('/invites'), payload });
const inviteRows = async () =>
  (await db.admin.query('select count(*)::int as n from member_invites where org_id = $1', [org.orgId]))
    .rows[0].n as number;
const roleId = async (key: string) =>
  (await db.admin.query('select id from roles where org_id = $1 and key = $2', [org.orgId, key])).rows[0]
    ?.id as string;
const putMapping = (who: Caller, discordRoleId: string, roleKey: string) =>
  api.call(who, {
    method: 'PUT',
    url: url(`/guilds/${GUILD}/role-mappings/${discordRoleId}`),
    payload: { roleKey },
  });

describe('member roles', () => {
  it('an admin cannot make anyone an owner', async () => {
    await refusedWithoutTrace(() => patchMember(as.admin as Caller, u.viewer as string, 'owner'), ['owner']);
    expect(await roleOf(org.orgId, u.viewer as string)).toBe('viewer');
    // Not even themselves.
    await refusedWithoutTrace(() => patchMember(as.admin as Caller, u.admin as string, 'owner'), ['owner']);
    expect(await roleOf(org.orgId, u.admin as string)).toBe('admin');
  });

  it('an admin cannot demote or remove an owner', async () => {
    await refusedWithoutTrace(() => patchMember(as.admin as Caller, u.owner2 as string, 'viewer'), ['owner']);
    await refusedWithoutTrace(() => deleteMember(as.admin as Caller, u.owner2 as string), ['owner']);
    expect(await roleOf(org.orgId, u.owner2 as string)).toBe('owner');
  });

  it('a role holding members.manage cannot hand out a role with permissions it lacks', async () => {
    await refusedWithoutTrace(
      () => patchMember(as.clerk as Caller, u.rookie as string, 'admin'),
      ['webhooks.manage', 'tokens.manage', "you don't hold"],
    );
    await refusedWithoutTrace(
      () => patchMember(as.clerk as Caller, u.rookie as string, 'hooks'),
      ["you can't grant webhooks.manage: you don't hold it"],
    );
    expect(await roleOf(org.orgId, u.rookie as string)).toBe('rookie');
  });

  it('nor change the role of, or remove, a member whose role holds more than it does', async () => {
    await refusedWithoutTrace(
      () => patchMember(as.clerk as Caller, u.admin2 as string, 'viewer'),
      ['webhooks.manage', "this member's role"],
    );
    await refusedWithoutTrace(
      () => deleteMember(as.clerk as Caller, u.admin2 as string),
      ['webhooks.manage'],
    );
    expect(await roleOf(org.orgId, u.admin2 as string)).toBe('admin');
    // An admin lacks org.manage, which the steward role carries.
    await refusedWithoutTrace(
      () => patchMember(as.admin as Caller, u.viewer as string, 'steward'),
      ["you can't grant org.manage"],
    );
  });

  it('an admin changes roles within what it holds (audited)', async () => {
    const before = await auditRows();
    const res = await patchMember(as.admin as Caller, u.viewer2 as string, 'moderator');
    expect(res.statusCode, res.body).toBe(200);
    expect(await roleOf(org.orgId, u.viewer2 as string)).toBe('moderator');
    expect(await auditRows()).toBe(before + 1);
    // A clerk may not move that moderator: a moderator holds ticket permissions a clerk lacks.
    await refusedWithoutTrace(
      () => patchMember(as.clerk as Caller, u.viewer2 as string, 'clerk'),
      ['tickets.read'],
    );
    expect(await roleOf(org.orgId, u.viewer2 as string)).toBe('moderator');
    // ...but may hand out its own role to a member whose role it covers.
    const mine = await patchMember(as.clerk as Caller, u.rookie as string, 'clerk');
    expect(mine.statusCode, mine.body).toBe(200);
    expect(await roleOf(org.orgId, u.rookie as string)).toBe('clerk');
  });

  it('an owner makes an owner, and demotes one while another owner is left', async () => {
    const up = await patchMember(as.owner as Caller, u.admin2 as string, 'owner');
    expect(up.statusCode, up.body).toBe(200);
    expect(await roleOf(org.orgId, u.admin2 as string)).toBe('owner');
    const down = await patchMember(as.owner as Caller, u.admin2 as string, 'admin');
    expect(down.statusCode, down.body).toBe(200);
    expect(await roleOf(org.orgId, u.admin2 as string)).toBe('admin');
  });
});

describe('the last owner', () => {
  it('cannot be demoted or removed, not even by themselves', async () => {
    const solo = await makeOrg(db.app, 'Solo');
    const me = await api.sessionFor(solo.ownerId);
    for (const res of [
      await api.call(me, {
        method: 'PATCH',
        url: url(`/members/${solo.ownerId}`, solo.orgId),
        payload: { role: 'admin' },
      }),
      await api.call(me, { method: 'DELETE', url: url(`/members/${solo.ownerId}`, solo.orgId) }),
    ]) {
      expect(res.statusCode, res.body).toBe(409);
      expect((res.json() as { error: { message: string } }).error.message).toMatch(/last owner/);
    }
    expect(await roleOf(solo.orgId, solo.ownerId)).toBe('owner');
    // With a second owner, the first may step down.
    const other = await member(solo.orgId, solo.owner, 'Co-owner', 'owner');
    const res = await api.call(me, {
      method: 'PATCH',
      url: url(`/members/${solo.ownerId}`, solo.orgId),
      payload: { role: 'admin' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(await roleOf(solo.orgId, other)).toBe('owner');
  });

  /** An org with owners a and b, and a barrier both transactions wait at before acting. */
  async function race(
    act: (who: { a: string; b: string }) => [(tx: Tx) => Promise<unknown>, (tx: Tx) => Promise<unknown>],
  ) {
    const o = await makeOrg(db.app, 'Race');
    const b = await member(o.orgId, o.owner, 'Owner B', 'owner');
    const [first, second] = act({ a: o.ownerId, b });
    let arrived = 0;
    let release!: () => void;
    const bothIn = new Promise<void>((r) => {
      release = r;
    });
    const enter = async () => {
      arrived += 1;
      if (arrived === 2) release();
      await bothIn;
    };
    const results = await Promise.allSettled([
      withTenant(db.app, o.orgId, async (tx) => {
        await enter();
        await first(tx);
      }),
      withTenant(db.app, o.orgId, async (tx) => {
        await enter();
        await second(tx);
      }),
    ]);
    const owners = await db.admin.query(
      `select count(*)::int as n from memberships m join roles r on r.id = m.role_id
       where m.org_id = $1 and r.key = 'owner'`,
      [o.orgId],
    );
    return { owners: owners.rows[0].n as number, results };
  }

  it('two owners demoting each other at once leave one owner', async () => {
    for (let round = 0; round < 5; round++) {
      const { owners, results } = await race(({ a, b }) => [
        (tx) => changeRole(tx, { userId: b, role: 'admin' }, { type: 'user', id: a }),
        (tx) => changeRole(tx, { userId: a, role: 'admin' }, { type: 'user', id: b }),
      ]);
      expect(owners).toBe(1);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      // The loser is no longer an owner by the time its turn comes.
      expect(String(refused.reason.message)).toMatch(/only an owner/);
    }
  });

  it('two owners stepping down at once leave one owner', async () => {
    for (let round = 0; round < 5; round++) {
      const { owners, results } = await race(({ a, b }) => [
        (tx) => changeRole(tx, { userId: a, role: 'admin' }, { type: 'user', id: a }),
        (tx) => removeMember(tx, b, { type: 'user', id: b }),
      ]);
      expect(owners).toBe(1);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(refused?.reason?.code).toBe('conflict');
      expect(String(refused.reason.message)).toMatch(/last owner/);
    }
  });
});

describe('invites', () => {
  it('an admin cannot invite an owner, by link or by Discord account', async () => {
    const rows = await inviteRows();
    await refusedWithoutTrace(() => invite(as.admin as Caller, { role: 'owner' }), ['owner']);
    await refusedWithoutTrace(
      () => invite(as.admin as Caller, { role: 'owner', discordUserId: '612345678901234567' }),
      ['owner'],
    );
    expect(await inviteRows()).toBe(rows);
  });

  it('nor invite into a role carrying permissions it lacks', async () => {
    const rows = await inviteRows();
    await refusedWithoutTrace(() => invite(as.clerk as Caller, { role: 'admin' }), ['webhooks.manage']);
    await refusedWithoutTrace(() => invite(as.admin as Caller, { role: 'steward' }), ['org.manage']);
    expect(await inviteRows()).toBe(rows);
  });

  it('an owner invites owners; an admin invites into what it holds', async () => {
    const owner = await invite(as.owner as Caller, { role: 'owner' });
    expect(owner.statusCode, owner.body).toBe(201);
    const mod = await invite(as.admin as Caller, { role: 'moderator', discordUserId: '712345678901234567' });
    expect(mod.statusCode, mod.body).toBe(201);
  });

  it('an invite stops granting once its maker can no longer grant its role', async () => {
    const maker = await member(org.orgId, org.owner, 'Inviting admin', 'admin');
    const made = await invite(await api.sessionFor(maker), { role: 'moderator' });
    expect(made.statusCode, made.body).toBe(201);
    const { code } = made.json() as { code: string };
    // The maker is demoted before the link is used.
    expect((await patchMember(as.owner as Caller, maker, 'viewer')).statusCode).toBe(200);
    const joiner = await createUser(db.app, { displayName: 'Joiner' });
    const before = await auditRows();
    const res = await api.call(await api.sessionFor(joiner.id), {
      method: 'POST',
      url: '/v1/invites/redeem',
      payload: { code },
    });
    expectRefused(res, ['no longer valid', 'moderator']);
    expect(await roleOf(org.orgId, joiner.id)).toBeNull();
    expect(await auditRows()).toBe(before);
    // A link made by someone who still holds the role works.
    const good = await invite(as.admin as Caller, { role: 'agent' });
    const ok = await api.call(await api.sessionFor(joiner.id), {
      method: 'POST',
      url: '/v1/invites/redeem',
      payload: { code: (good.json() as { code: string }).code },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await roleOf(org.orgId, joiner.id)).toBe('agent');
  });
});

describe('roles', () => {
  const create = (who: Caller, permissions: string[], key = 'made') =>
    api.call(who, { method: 'POST', url: url('/roles'), payload: { key, name: key, permissions } });
  const edit = (who: Caller, key: string, payload: Record<string, unknown>) =>
    roleId(key).then((id) => api.call(who, { method: 'PATCH', url: url(`/roles/${id}`), payload }));

  it('nobody creates a role carrying a permission they lack', async () => {
    await refusedWithoutTrace(
      () => create(as.clerk as Caller, ['members.read', 'webhooks.manage']),
      ["you can't grant webhooks.manage: you don't hold it"],
    );
    await refusedWithoutTrace(() => create(as.admin as Caller, ['org.manage']), ['org.manage']);
    expect(await rolePermissions('made')).toBeNull();
  });

  it('nobody gives an existing role a permission they lack', async () => {
    await refusedWithoutTrace(
      () => edit(as.admin as Caller, 'admin', { permissions: [...CLERK_PERMISSIONS, 'org.manage'] }),
      ['org.manage'],
    );
    await refusedWithoutTrace(
      () => edit(as.clerk as Caller, 'clerk', { permissions: [...CLERK_PERMISSIONS, 'tokens.manage'] }),
      ['tokens.manage'],
    );
    expect(await rolePermissions('clerk')).toEqual([...CLERK_PERMISSIONS].sort());
    expect(await rolePermissions('admin')).not.toContain('org.manage');
  });

  it('nobody edits or deletes a role carrying more than they hold', async () => {
    await refusedWithoutTrace(
      () => edit(as.clerk as Caller, 'hooks', { name: 'Renamed' }),
      ['webhooks.manage'],
    );
    await refusedWithoutTrace(
      () => edit(as.clerk as Caller, 'hooks', { permissions: ['org.read'] }),
      ['webhooks.manage'],
    );
    await refusedWithoutTrace(() => edit(as.admin as Caller, 'owner', { name: 'Boss' }), ['owner']);
    await refusedWithoutTrace(
      async () =>
        api.call(as.admin as Caller, { method: 'DELETE', url: url(`/roles/${await roleId('steward')}`) }),
      ['org.manage'],
    );
    expect(await rolePermissions('hooks')).toEqual(['org.read', 'webhooks.manage']);
    expect(await rolePermissions('steward')).toEqual(['org.manage', 'org.read']);
    const names = await db.admin.query(
      "select name from roles where org_id = $1 and key in ('hooks', 'owner') order by key",
      [org.orgId],
    );
    expect(names.rows.map((r) => r.name)).toEqual(['Hooks', 'Owner']);
  });

  it('an admin creates, edits and deletes roles within what it holds', async () => {
    const made = await create(as.admin as Caller, ['tickets.read', 'webhooks.manage'], 'helper');
    expect(made.statusCode, made.body).toBe(201);
    const edited = await edit(as.admin as Caller, 'helper', { permissions: ['tickets.read'] });
    expect(edited.statusCode, edited.body).toBe(200);
    const gone = await api.call(as.admin as Caller, {
      method: 'DELETE',
      url: url(`/roles/${await roleId('helper')}`),
    });
    expect(gone.statusCode, gone.body).toBe(200);
    const owner = await create(as.owner as Caller, ['org.manage'], 'trustee');
    expect(owner.statusCode, owner.body).toBe(201);
  });
});

describe('Discord role mappings through the API', () => {
  it('a guilds.manage token cannot map a Discord role onto a role beyond its scopes', async () => {
    const token = await api.tokenFor(db.app, org.orgId, ['guilds:manage']);
    await refusedWithoutTrace(() => putMapping(token, '812345678901234561', 'admin'), ['members.manage']);
    await refusedWithoutTrace(() => putMapping(token, '812345678901234561', 'viewer'), ['tickets.read']);
    expect(await mapping('812345678901234561')).toBeNull();
  });

  it('a clerk cannot map onto a role above its own, nor onto owner', async () => {
    await refusedWithoutTrace(
      () => putMapping(as.clerk as Caller, '812345678901234562', 'admin'),
      ['webhooks.manage'],
    );
    await refusedWithoutTrace(() => putMapping(as.clerk as Caller, '812345678901234562', 'owner'), ['owner']);
    await refusedWithoutTrace(() => putMapping(as.owner as Caller, '812345678901234562', 'owner'), ['owner']);
    expect(await mapping('812345678901234562')).toBeNull();
  });

  it('nor replace or remove a mapping onto a role above its own', async () => {
    await withTenant(db.app, org.orgId, (tx) =>
      setRoleMapping(
        tx,
        { guildId: GUILD, discordRoleId: '812345678901234563', roleKey: 'admin' },
        org.owner,
      ),
    );
    await refusedWithoutTrace(
      () => putMapping(as.clerk as Caller, '812345678901234563', 'clerk'),
      ['webhooks.manage'],
    );
    await refusedWithoutTrace(
      () =>
        api.call(as.clerk as Caller, {
          method: 'DELETE',
          url: url(`/guilds/${GUILD}/role-mappings/812345678901234563`),
        }),
      ['webhooks.manage'],
    );
    expect(await mapping('812345678901234563')).toBe('admin');
  });

  it('an admin maps onto roles it holds; a clerk onto its own role', async () => {
    const res = await putMapping(as.admin as Caller, '812345678901234564', 'moderator');
    expect(res.statusCode, res.body).toBe(200);
    expect(await mapping('812345678901234564')).toBe('moderator');
    const clerk = await putMapping(as.clerk as Caller, '812345678901234565', 'clerk');
    expect(clerk.statusCode, clerk.body).toBe(200);
    expect(await mapping('812345678901234565')).toBe('clerk');
  });
});

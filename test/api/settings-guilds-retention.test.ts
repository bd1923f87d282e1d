import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { redeemGuildLinkCode } from '../../db/guild-links.js';
import { auditActions, expectBadBodiesRefused, expectError, useSettingsApi } from './settings-support.js';
import type { Caller } from './support.js';

const { db, api, w } = useSettingsApi('Guilds');

const guilds = (path = '', orgId = w.a.orgId) => `/v1/orgs/${orgId}/guilds${path}`;
const retention = (path = '', orgId = w.a.orgId) => `/v1/orgs/${orgId}/retention-policies${path}`;
let nextSnowflake = 100_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e9));
const snowflake = () => String(nextSnowflake++);

/** Makes a link code through the API and redeems it the way the bot's /setup does. */
async function linkGuild(who: Caller, orgId: string, name: string) {
  const res = await api.call(who, { method: 'POST', url: guilds('/link-codes', orgId), payload: {} });
  expect(res.statusCode, res.body).toBe(201);
  const guildId = snowflake();
  await redeemGuildLinkCode(db.app, { code: res.json().code, guildId, guildName: name });
  return guildId;
}

describe('guild routes', () => {
  it('gives a one-time link code (stored hashed), lists, shows, configures and unlinks the guild', async () => {
    const res = await api.call(w.owner, {
      method: 'POST',
      url: guilds('/link-codes'),
      payload: { ttlMinutes: 30 },
    });
    expect(res.statusCode, res.body).toBe(201);
    const { code, expiresAt } = res.json() as { code: string; expiresAt: string };
    expect(code).toMatch(/^GM-[A-Z0-9]{10}$/);
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);
    const stored = await db.admin.query('select code_hash from guild_link_codes where org_id = $1', [
      w.a.orgId,
    ]);
    expect(stored.rows.map((r) => Buffer.from(r.code_hash).toString('hex'))).toContain(
      createHash('sha256').update(code).digest('hex'),
    );
    expect(JSON.stringify(stored.rows)).not.toContain(code);

    const guildId = snowflake();
    await redeemGuildLinkCode(db.app, { code, guildId, guildName: 'Studio Discord' });
    await expect(
      redeemGuildLinkCode(db.app, { code, guildId: snowflake(), guildName: 'Again' }),
    ).rejects.toThrow();

    const listed = await api.call(w.owner, { method: 'GET', url: guilds() });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().guilds.map((g: { guildId: string }) => g.guildId)).toEqual([guildId]);

    const channel = snowflake();
    const patched = await api.call(w.owner, {
      method: 'PATCH',
      url: guilds(`/${guildId}/settings`),
      payload: { supportChannelId: channel, maxOpenPerPlayer: 2 },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().settings).toMatchObject({ supportChannelId: channel, maxOpenPerPlayer: 2 });

    const discordRole = snowflake();
    const mapped = await api.call(w.owner, {
      method: 'PUT',
      url: guilds(`/${guildId}/role-mappings/${discordRole}`),
      payload: { roleKey: 'agent' },
    });
    expect(mapped.statusCode, mapped.body).toBe(200);
    const shown = await api.call(w.owner, { method: 'GET', url: guilds(`/${guildId}`) });
    expect(shown.json().roleMappings).toEqual([
      expect.objectContaining({ discordRoleId: discordRole, roleKey: 'agent' }),
    ]);
    expectError(
      await api.call(w.owner, {
        method: 'PUT',
        url: guilds(`/${guildId}/role-mappings/${discordRole}`),
        payload: { roleKey: 'nope' },
      }),
      404,
    );
    expect(
      (await api.call(w.owner, { method: 'DELETE', url: guilds(`/${guildId}/role-mappings/${discordRole}`) }))
        .statusCode,
    ).toBe(200);
    expectError(
      await api.call(w.owner, { method: 'DELETE', url: guilds(`/${guildId}/role-mappings/${discordRole}`) }),
      404,
    );

    expect((await api.call(w.owner, { method: 'DELETE', url: guilds(`/${guildId}`) })).json()).toEqual({
      ok: true,
    });
    expect((await api.call(w.owner, { method: 'GET', url: guilds() })).json().guilds).toEqual([]);
    expect(await auditActions(db.admin, w.a.orgId, guildId)).toEqual([
      'guild.linked',
      'guild.settings_updated',
      'guild.role_mapped',
      'guild.role_unmapped',
      'guild.unlinked',
    ]);
    expect(await auditActions(db.admin, w.a.orgId)).toContain('guild.link_code_created');
  });

  it("clears a channel and a category's Discord settings with null, sets others, and keeps what is not named", async () => {
    const guildId = await linkGuild(w.owner, w.a.orgId, 'Clearing');
    const [support, alert, forum, tag] = [snowflake(), snowflake(), snowflake(), snowflake()];
    const category = '00000000-0000-4000-8000-000000000001';
    const patch = (payload: object) =>
      api.call(w.owner, { method: 'PATCH', url: guilds(`/${guildId}/settings`), payload });
    const set = await patch({
      supportChannelId: support,
      alertChannelId: alert,
      categories: { [category]: { mode: 'forum', channelId: forum, forumTagId: tag } },
    });
    expect(set.statusCode, set.body).toBe(200);
    // The alert channel back to none and the forum tag off; the rest stays.
    const cleared = await patch({ alertChannelId: null, categories: { [category]: { forumTagId: null } } });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json().settings).toEqual({
      supportChannelId: support,
      categories: { [category]: { mode: 'forum', channelId: forum } },
    });
    // A category's whole entry removed with null.
    const gone = await patch({ categories: { [category]: null } });
    expect(gone.json().settings).toEqual({ supportChannelId: support });
    // The audit log says what each setting was and became, a category's setting by setting.
    const c = `categories.${category}`;
    const audit = await db.admin.query(
      `select data from audit_logs where target_id = $1 and action = 'guild.settings_updated' order by id`,
      [guildId],
    );
    expect(audit.rows.map((r) => r.data)).toEqual([
      {
        changes: {
          supportChannelId: { from: null, to: support },
          alertChannelId: { from: null, to: alert },
          [`${c}.mode`]: { from: null, to: 'forum' },
          [`${c}.channelId`]: { from: null, to: forum },
          [`${c}.forumTagId`]: { from: null, to: tag },
        },
      },
      {
        changes: { alertChannelId: { from: alert, to: null }, [`${c}.forumTagId`]: { from: tag, to: null } },
      },
      {
        changes: {
          [`${c}.mode`]: { from: 'forum', to: null },
          [`${c}.channelId`]: { from: forum, to: null },
        },
      },
    ]);
    const row = await db.admin.query('select settings from discord_guilds where guild_id = $1', [guildId]);
    expect(row.rows[0].settings).toEqual({ supportChannelId: support });
    // Unknown keys and a bad id are refused, not dropped; nothing changes.
    expectError(await patch({ supportChannel: null }), 422);
    expectError(await patch({ categories: { [category]: { channelId: 'general' } } }), 422);
    expect(
      (await db.admin.query('select settings from discord_guilds where guild_id = $1', [guildId])).rows[0]
        .settings,
    ).toEqual({
      supportChannelId: support,
    });
  });

  it('takes a bare POST for a link code (default lifetime of an hour)', async () => {
    const res = await api.call(w.owner, { method: 'POST', url: guilds('/link-codes') });
    expect(res.statusCode, res.body).toBe(201);
    const ttl = new Date(res.json().expiresAt).getTime() - Date.now();
    expect(ttl).toBeGreaterThan(55 * 60_000);
    expect(ttl).toBeLessThanOrEqual(60 * 60_000);
  });

  it('refuses agents and tokens (no scope manages guilds)', async () => {
    expectError(await api.call(w.agent, { method: 'GET', url: guilds() }), 403, 'forbidden');
    expectError(await api.call(w.agent, { method: 'POST', url: guilds('/link-codes'), payload: {} }), 403);
    const token = await api.tokenFor(db.app, w.a.orgId, ['settings:manage']);
    expectError(await api.call(token, { method: 'POST', url: guilds('/link-codes'), payload: {} }), 403);
  });

  it("answers 404 for another org's guild and leaves it linked", async () => {
    const theirs = await linkGuild(w.ownerB, w.b.orgId, 'B server');
    expectError(await api.call(w.owner, { method: 'GET', url: guilds(`/${theirs}`) }), 404, 'not_found');
    expectError(await api.call(w.owner, { method: 'DELETE', url: guilds(`/${theirs}`) }), 404);
    expectError(
      await api.call(w.owner, {
        method: 'PATCH',
        url: guilds(`/${theirs}/settings`),
        payload: { maxOpenPerPlayer: 9 },
      }),
      404,
    );
    expectError(
      await api.call(w.owner, {
        method: 'PUT',
        url: guilds(`/${theirs}/role-mappings/${snowflake()}`),
        payload: { roleKey: 'agent' },
      }),
      404,
    );
    const row = await db.admin.query('select org_id, settings from discord_guilds where guild_id = $1', [
      theirs,
    ]);
    expect(row.rows[0]).toEqual({ org_id: w.b.orgId, settings: {} });
    expect(await auditActions(db.admin, w.a.orgId, theirs)).toEqual([]);
  });

  it('refuses bad input with the error shape', async () => {
    const guildId = await linkGuild(w.owner, w.a.orgId, 'Input server');
    await expectBadBodiesRefused(api, w.owner, 'POST', guilds('/link-codes'), { ttlMinutes: 'soon' });
    await expectBadBodiesRefused(api, w.owner, 'PATCH', guilds(`/${guildId}/settings`), {
      maxOpenPerPlayer: 'two',
    });
    expectError(
      await api.call(w.owner, { method: 'POST', url: guilds('/link-codes'), payload: { ttlMinutes: 1 } }),
      422,
    );
    expectError(
      await api.call(w.owner, { method: 'PATCH', url: guilds(`/${guildId}/settings`), payload: {} }),
      422,
    );
    expectError(
      await api.call(w.owner, {
        method: 'PATCH',
        url: guilds(`/${guildId}/settings`),
        payload: { supportChannelId: 'general' },
      }),
      422,
    );
    expectError(await api.call(w.owner, { method: 'GET', url: guilds('/not-a-snowflake') }), 422);
  });
});

describe('retention routes', () => {
  it('sets, replaces, lists and removes a policy per target, auditing each change', async () => {
    const set = await api.call(w.owner, {
      method: 'PUT',
      url: retention('/messages'),
      payload: { days: 365, action: 'anonymise' },
    });
    expect(set.statusCode, set.body).toBe(200);
    const id = set.json().id as string;
    const replaced = await api.call(w.owner, {
      method: 'PUT',
      url: retention('/messages'),
      payload: { days: 90, action: 'purge' },
    });
    expect(replaced.json()).toMatchObject({ id, target: 'messages', days: 90, action: 'purge' });
    const listed = await api.call(w.owner, { method: 'GET', url: retention() });
    expect(listed.json().policies).toEqual([expect.objectContaining({ target: 'messages', days: 90 })]);
    expect((await api.call(w.owner, { method: 'DELETE', url: retention('/messages') })).json()).toEqual({
      ok: true,
    });
    expectError(await api.call(w.owner, { method: 'DELETE', url: retention('/messages') }), 404);
    expect(await auditActions(db.admin, w.a.orgId, id)).toEqual([
      'retention.set',
      'retention.set',
      'retention.deleted',
    ]);
  });

  it('refuses agents; a settings:manage token may, a tickets token may not', async () => {
    expectError(await api.call(w.agent, { method: 'GET', url: retention() }), 403, 'forbidden');
    const settings = await api.tokenFor(db.app, w.a.orgId, ['settings:manage']);
    const ok = await api.call(settings, {
      method: 'PUT',
      url: retention('/tickets'),
      payload: { days: 30, action: 'purge' },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    const tickets = await api.call(await api.tokenFor(db.app, w.a.orgId, ['tickets:write']), {
      method: 'DELETE',
      url: retention('/tickets'),
    });
    expectError(tickets, 403);
    expect(
      (await db.admin.query('select 1 from retention_policies where org_id = $1', [w.a.orgId])).rowCount,
    ).toBe(1);
  });

  it("keeps another org's policies out of reach", async () => {
    await api.call(w.ownerB, {
      method: 'PUT',
      url: retention('/attachments', w.b.orgId),
      payload: { days: 7, action: 'purge' },
    });
    expect(
      (await api.call(w.owner, { method: 'GET', url: retention() }))
        .json()
        .policies.map((p: { target: string }) => p.target),
    ).not.toContain('attachments');
    expectError(await api.call(w.owner, { method: 'DELETE', url: retention('/attachments') }), 404);
    expectError(await api.call(w.owner, { method: 'GET', url: retention('', w.b.orgId) }), 404);
    expect(
      (
        await db.admin.query(
          "select 1 from retention_policies where org_id = $1 and target = 'attachments'",
          [w.b.orgId],
        )
      ).rowCount,
    ).toBe(1);
  });

  it('refuses bad input with the error shape', async () => {
    await expectBadBodiesRefused(api, w.owner, 'PUT', retention('/messages'));
    expectError(
      await api.call(w.owner, {
        method: 'PUT',
        url: retention('/everything'),
        payload: { days: 1, action: 'purge' },
      }),
      422,
    );
    expectError(
      await api.call(w.owner, {
        method: 'PUT',
        url: retention('/messages'),
        payload: { days: 0, action: 'purge' },
      }),
      422,
    );
    expectError(
      await api.call(w.owner, {
        method: 'PUT',
        url: retention('/messages'),
        payload: { days: '30', action: 'purge' },
      }),
      422,
    );
    const audit = await api.call(w.owner, {
      method: 'PUT',
      url: retention('/audit_logs'),
      payload: { days: 30, action: 'anonymise' },
    });
    expectError(audit, 422, 'validation_failed');
  });
});

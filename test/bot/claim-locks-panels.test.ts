import { PermissionFlagsBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, startTestApi, type TestApi } from '../api/support.js';
import { channelPermissions } from '../support/fake-discord/access.js';
import { type Harness, interact, openThroughPanel, settle, startHarness, theTicket } from './harness.js';

// Claim locks in channel mode and panels edited in place, against the strict fake Discord (the
// bot holds only its documented permissions, so every overwrite it sets is one it may set), with
// the workers doing the Discord side after each commit and the real API changing a category.

const SEND = PermissionFlagsBits.SendMessages;
const VIEW = PermissionFlagsBits.ViewChannel;

let h: Harness;
let api: TestApi;
let owner: Caller;

beforeAll(async () => {
  h = await startHarness({ workers: true });
  api = await startTestApi(h.db.app);
  owner = await api.sessionFor(h.org.ownerId);
}, 60_000);

afterAll(async () => {
  await api?.close();
  await h?.close();
});

describe('claim locks (channel mode)', () => {
  let channelId: string;
  const perms = (userId: string) => {
    const channel = h.fake.state.channels.get(channelId);
    if (!channel) throw new Error('no ticket channel');
    return channelPermissions(h.fake.state, channel, userId);
  };
  const canWrite = (userId: string) => (perms(userId) & SEND) === SEND && (perms(userId) & VIEW) === VIEW;
  const overwrites = () =>
    [
      ...((h.fake.state.channels.get(channelId)?.permission_overwrites ?? []) as {
        id: string;
        type: number;
        allow: string;
        deny: string;
      }[]),
    ]
      .map((o) => ({ id: o.id, type: o.type, allow: String(o.allow), deny: String(o.deny) }))
      .sort((a, b) => a.id.localeCompare(b.id));
  const lockedInDb = async () =>
    (
      await h.db.admin.query(
        'select s.claim_lock_locked as l from discord_ticket_sides s join tickets t on t.id = s.ticket_id where t.discord_channel_id = $1',
        [channelId],
      )
    ).rows[0]?.l as boolean | undefined;
  const claimAs = (userId: string, subcommand = 'claim') =>
    interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand,
      guildId: h.guild.id,
      channelId,
      userId,
    });

  beforeAll(async () => {
    // The settings through the API, as an admin sets them: bad values are refused, naming the field.
    const url = `/v1/orgs/${h.org.orgId}/guilds/${h.guild.id}/settings`;
    const bad = await api.call(owner, {
      method: 'PATCH',
      url,
      payload: { claimLocks: 'yes', closeRequestMinutes: 0 },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('claimLocks');
    expect(bad.body).toContain('closeRequestMinutes');
    const ok = await api.call(owner, {
      method: 'PATCH',
      url,
      payload: {
        claimLocks: true,
        categories: { [h.category.id]: { mode: 'channel', channelId: h.guild.channels['Tickets'] ?? '' } },
      },
    });
    expect(ok.statusCode).toBe(200);
    await openThroughPanel(h);
    ({ thread: channelId } = await theTicket(h));
  });

  it('a claim leaves only the claimer and the player able to write; an unclaim restores the channel', async () => {
    const before = overwrites();
    expect(canWrite(h.users.agent)).toBe(true);
    expect(canWrite(h.users.moderator)).toBe(true);
    expect(canWrite(h.users.player)).toBe(true);

    expect((await claimAs(h.users.moderator)).content).toBe('You claimed ticket #1.');
    await settle(h, async () => (await lockedInDb()) === true, 15_000);
    expect(canWrite(h.users.agent)).toBe(false);
    expect(canWrite(h.users.moderator)).toBe(true);
    expect(canWrite(h.users.player)).toBe(true);
    // Other staff still read along.
    expect(perms(h.users.agent) & VIEW).toBe(VIEW);
    const agentRole = overwrites().find((o) => o.id === h.guild.roles['Agent']);
    expect(BigInt(agentRole?.deny ?? 0) & SEND).toBe(SEND);
    const put = h.fake
      .requests({ method: 'PUT', route: '/channels/:channel_id/permissions/:overwrite_id' })
      .filter((r) => r.path.includes(channelId) && r.status < 300);
    expect(put.length).toBeGreaterThan(0);
    expect(put.at(-1)?.headers['x-audit-log-reason']).toBe(
      'GameMod: ticket #1 claimed; only the claimer and the player write',
    );

    expect((await claimAs(h.users.moderator, 'unclaim')).content).toBe('Ticket #1 is unassigned again.');
    await settle(h, async () => (await lockedInDb()) === false, 15_000);
    expect(canWrite(h.users.agent)).toBe(true);
    // Exactly the channel as it was before the claim (the claimer's added overwrite removed).
    expect(overwrites()).toEqual(before);
  });

  it('a transfer moves the lock to the new claimer', async () => {
    await claimAs(h.users.moderator);
    await settle(h, async () => (await lockedInDb()) === true, 15_000);
    expect(canWrite(h.users.agent)).toBe(false);
    expect((await claimAs(h.users.agent)).content).toBe('You claimed ticket #1.');
    const holder = async () =>
      (
        await h.db.admin.query(
          'select s.claim_lock_holder as h from discord_ticket_sides s join tickets t on t.id = s.ticket_id where t.discord_channel_id = $1',
          [channelId],
        )
      ).rows[0]?.h;
    await settle(h, async () => (await holder()) === h.users.agent, 15_000);
    expect(canWrite(h.users.agent)).toBe(true);
    expect(canWrite(h.users.moderator)).toBe(false);
    expect(canWrite(h.users.player)).toBe(true);
    // A replayed sync (the same state) changes nothing more.
    const puts = h.fake.requests({ method: 'PUT' }).length;
    await h.workers?.queues.enqueue(
      'discord.ticket_sync',
      {
        orgId: h.org.orgId,
        ticketId: (await theTicket(h)).ticketId,
        outboxId: 1,
      },
      { jobId: 'replayed-sync' },
    );
    await settle(
      h,
      async () => (await h.workers?.queues.get('discord').getJob('replayed-sync'))?.finishedOn !== undefined,
    );
    expect(h.fake.requests({ method: 'PUT' }).length).toBe(puts);
  });
});

describe('panels updated in place', () => {
  const supportChannel = () => h.guild.channels['support'] ?? '';
  const postPanel = async () => {
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'panel',
      guildId: h.guild.id,
      channelId: supportChannel(),
      userId: h.users.owner,
    });
    expect(a.content).toBe('Panel posted.');
    const r = await h.db.admin.query(
      'select id, message_id from discord_panels where org_id = $1 order by created_at desc limit 1',
      [h.org.orgId],
    );
    return r.rows[0] as { id: string; message_id: string };
  };
  const edits = (messageId: string) =>
    h.fake.requests({ method: 'PATCH', path: `/channels/${supportChannel()}/messages/${messageId}` });
  const lastJobDone = async () => {
    const o = await h.db.admin.query(
      `select id from outbox where org_id = $1 and event_type = 'category.changed' order by id desc limit 1`,
      [h.org.orgId],
    );
    const job = await h.workers?.queues.get('discord').getJob(`ps-${o.rows[0].id}`);
    return job?.finishedOn !== undefined;
  };
  const patchCategory = (body: Record<string, unknown>) =>
    api.call(owner, {
      method: 'PATCH',
      url: `/v1/orgs/${h.org.orgId}/categories/${h.category.id}`,
      payload: body,
    });

  it('a category renamed through the API edits the panel once', async () => {
    const panel = await postPanel();
    const res = await patchCategory({ name: 'Crash report' });
    expect(res.statusCode).toBe(200);
    await settle(h, async () => edits(panel.message_id).length === 1, 15_000);
    await settle(h, lastJobDone, 15_000);
    const shown = h.fake.state.messages.get(supportChannel())?.get(panel.message_id);
    expect(JSON.stringify(shown?.components)).toContain('"label":"Crash report"');
    expect(edits(panel.message_id)).toHaveLength(1);

    // A change that does not show on a panel (the form's questions) edits nothing.
    const q = await patchCategory({ questions: [{ key: 'what', label: 'What happened?' }] });
    expect(q.statusCode).toBe(200);
    await settle(h, lastJobDone, 15_000);
    expect(edits(panel.message_id)).toHaveLength(1);
  });

  it('a panel deleted on Discord is recorded once and never retried', async () => {
    const first = (
      await h.db.admin.query('select message_id from discord_panels where org_id = $1 order by created_at', [
        h.org.orgId,
      ])
    ).rows[0].message_id as string;
    const gone = await postPanel();
    h.fake.userDelete(supportChannel(), gone.message_id);
    expect((await patchCategory({ name: 'Crashes' })).statusCode).toBe(200);
    await settle(h, lastJobDone, 15_000);
    const row = await h.db.admin.query('select gone_at, gone_code from discord_panels where id = $1', [
      gone.id,
    ]);
    expect(row.rows[0].gone_code).toBe(10008);
    expect(row.rows[0].gone_at).not.toBeNull();
    expect(edits(gone.message_id)).toHaveLength(1);
    // The other panel still follows.
    expect(edits(first)).toHaveLength(2);

    expect((await patchCategory({ name: 'Crash reports' })).statusCode).toBe(200);
    await settle(h, lastJobDone, 15_000);
    expect(edits(first)).toHaveLength(3);
    expect(edits(gone.message_id)).toHaveLength(1);
  });

  it('an archived category leaves the panel', async () => {
    const panel = (
      await h.db.admin.query('select message_id from discord_panels where org_id = $1 order by created_at', [
        h.org.orgId,
      ])
    ).rows[0].message_id as string;
    const res = await api.call(owner, {
      method: 'DELETE',
      url: `/v1/orgs/${h.org.orgId}/categories/${h.category.id}`,
    });
    expect(res.statusCode).toBeLessThan(300);
    await settle(h, lastJobDone, 15_000);
    const shown = h.fake.state.messages.get(supportChannel())?.get(panel);
    expect(shown?.components).toEqual([]);
  });
});

import { ChannelType } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMirror, type DiscordMirror } from '../../db/discord-mirrors.js';
import type { OutboxRow } from '../../db/outbox.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { impliedJobs } from '../../workers/event-jobs.js';
import { type Harness, interact, settle, startHarness } from './harness.js';

/**
 * Discord channel mirroring from the bot's side, with the workers running: what is written in a
 * mirrored channel and its threads lands in the inbox, nothing goes back to Discord, no ticket
 * opens unless a moderator asks with the context menu (once per message).
 */

let h: Harness;
let staffChat: string;
let mirror: DiscordMirror;

beforeAll(async () => {
  h = await startHarness({ workers: true });
  const channel = h.fake.state.createChannel(h.guild.id, { name: 'staff-chat', type: ChannelType.GuildText });
  h.fake.dispatch(h.guild.id, 'CHANNEL_CREATE', h.fake.state.channelPayload(channel));
  staffChat = channel.id;
  mirror = await withTenant(h.db.app, h.org.orgId, (tx) =>
    addMirror(tx, { guildId: h.guild.id, discordChannelId: staffChat, name: 'staff-chat' }, h.org.owner),
  );
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const row = async (discordId: string) =>
  (
    await h.db.admin.query(
      `select m.id, m.channel_id, m.ticket_id, m.author_type, m.author_user_id, m.author_player_id, m.origin, m.body,
         m.edited_at, m.deleted_at, c.kind, c.name, c.discord_mirror_id
       from messages m join message_channels c on c.id = m.channel_id
       where m.org_id = $1 and m.external_id = $2`,
      [h.org.orgId, discordId],
    )
  ).rows;
const recorded = (discordId: string) => async () => (await row(discordId)).length === 1;
const ticketCount = async () =>
  Number(
    (await h.db.admin.query('select count(*) from tickets where org_id = $1', [h.org.orgId])).rows[0].count,
  );

describe('mirrored channels', () => {
  it('records player and staff messages with files in the conversation, once per Discord id', async () => {
    const p = h.fake.userMessage(staffChat, h.users.player, 'The patch broke my save', {
      attachments: [{ filename: 'save.png', size: 1024, contentType: 'image/png' }],
    });
    const s = h.fake.userMessage(staffChat, h.users.moderator, 'Looking into the save bug');
    await settle(h, recorded(p.id));
    await settle(h, recorded(s.id));
    // A gateway replay of the same MESSAGE_CREATE is a no-op.
    h.fake.dispatch(h.guild.id, 'MESSAGE_CREATE', h.fake.state.messagePayload(p));
    const marker = h.fake.userMessage(staffChat, h.users.player, 'marker 1');
    await settle(h, recorded(marker.id));
    expect(await row(p.id)).toEqual([
      expect.objectContaining({
        channel_id: mirror.channelId,
        ticket_id: null,
        author_type: 'player',
        origin: 'discord',
        body: 'The patch broke my save',
        kind: 'discord_mirror',
        name: 'staff-chat',
      }),
    ]);
    expect((await row(s.id))[0]).toMatchObject({ author_type: 'user', body: 'Looking into the save bug' });
    const [msg] = await row(p.id);
    const files = await h.db.admin.query(
      'select filename, content_type, size_bytes, ticket_id, external_url from attachments where message_id = $1',
      [msg.id],
    );
    expect(files.rows).toEqual([
      expect.objectContaining({
        filename: 'save.png',
        content_type: 'image/png',
        size_bytes: 1024,
        ticket_id: null,
      }),
    ]);
    expect(files.rows[0].external_url).toMatch(/\/cdn\/attachments\/.+\/save\.png$/);
    // The workers are asked to copy the file into storage, as for a ticket thread's files.
    await settle(h, async () => [...h.objects.keys()].some((k) => k.includes('/attachments/')), 10_000);
  });

  it('follows edits and deletes', async () => {
    const m = h.fake.userMessage(staffChat, h.users.moderator, 'server down at 5');
    await settle(h, recorded(m.id));
    h.fake.userEdit(staffChat, m.id, 'server down at 6');
    await settle(h, async () => (await row(m.id))[0]?.body === 'server down at 6');
    expect((await row(m.id))[0].edited_at).not.toBeNull();
    h.fake.userDelete(staffChat, m.id);
    await settle(h, async () => (await row(m.id))[0]?.deleted_at !== null);
    const listed = await h.db.admin.query(
      'select id from messages where channel_id = $1 and deleted_at is null',
      [mirror.channelId],
    );
    expect(listed.rows.map((r) => r.id)).not.toContain((await row(m.id))[0].id);
  });

  it('gives a thread of a mirrored channel a conversation of its own', async () => {
    const thread = h.fake.userThread(staffChat, h.users.moderator, 'Patch 1.2 plan');
    await settle(h, async () => h.bot.client.channels.cache.has(thread.id));
    const m = h.fake.userMessage(thread.id, h.users.agent, 'I take the release notes');
    await settle(h, recorded(m.id));
    const again = h.fake.userMessage(thread.id, h.users.moderator, 'thanks');
    await settle(h, recorded(again.id));
    const [a] = await row(m.id);
    const [b] = await row(again.id);
    expect(a).toMatchObject({ kind: 'discord_mirror', name: 'Patch 1.2 plan', discord_mirror_id: mirror.id });
    expect(a.channel_id).not.toBe(mirror.channelId);
    expect(b.channel_id).toBe(a.channel_id);
  });

  it('never posts mirrored messages back to Discord, and opens no ticket by itself', async () => {
    const marker = h.fake.userMessage(staffChat, h.users.player, 'marker 2');
    await settle(h, recorded(marker.id));
    expect(await ticketCount()).toBe(0);
    // What the relay would enqueue for every event mirroring wrote: no delivery of any kind.
    const events = await h.db.admin.query(
      `select id, org_id as "orgId", event_type as "eventType", aggregate_type as "aggregateType",
         aggregate_id as "aggregateId", payload
       from outbox where org_id = $1 and event_type like 'message.%' order by id`,
      [h.org.orgId],
    );
    expect(events.rows.map((e) => e.eventType)).toEqual(
      expect.arrayContaining([
        'message.created',
        'message.updated',
        'message.deleted',
        'message.attachments_added',
      ]),
    );
    const jobs = events.rows.flatMap((e) =>
      impliedJobs({ ...e, id: Number(e.id) } as OutboxRow).map((j) => j.name),
    );
    expect(jobs).toContain('attachment.copy');
    for (const egress of [
      'discord.message',
      'discord.dm_relay',
      'email.reply',
      'discord.ticket_sync',
      'rules.run',
    ])
      expect(jobs).not.toContain(egress);
    // And Discord saw no post or edit from us in the mirrored channel or its threads.
    const ours = h.fake
      .requests({})
      .filter((r) => r.method !== 'GET' && r.path.includes(`/channels/${staffChat}`));
    expect(ours).toEqual([]);
  });

  it('"Create ticket from message" is for staff, opens one ticket per message, and says so', async () => {
    const bug = h.fake.userMessage(staffChat, h.users.player, 'Crash when opening the map\nsteps: press M');
    await settle(h, recorded(bug.id));
    const asPlayer = await interact(h, {
      kind: 'messageContextMenu',
      name: 'Create ticket from message',
      guildId: h.guild.id,
      channelId: staffChat,
      userId: h.users.player,
      targetMessageId: bug.id,
    });
    expect(asPlayer.content).toMatch(/You need the `tickets.create` permission/);
    expect(await ticketCount()).toBe(0);
    const first = await interact(h, {
      kind: 'messageContextMenu',
      name: 'Create ticket from message',
      guildId: h.guild.id,
      channelId: staffChat,
      userId: h.users.moderator,
      targetMessageId: bug.id,
    });
    expect(first.content).toMatch(/^Opened ticket #1 from this message/);
    const second = await interact(h, {
      kind: 'messageContextMenu',
      name: 'Create ticket from message',
      guildId: h.guild.id,
      channelId: staffChat,
      userId: h.users.agent,
      targetMessageId: bug.id,
    });
    expect(second.content).toBe('This message is already ticket #1.');
    const t = await h.db.admin.query(
      `select t.id, t.subject, t.origin, p.discord_user_id from tickets t
       left join player_profiles p on p.id = t.requester_id where t.org_id = $1`,
      [h.org.orgId],
    );
    expect(t.rows).toEqual([
      expect.objectContaining({
        subject: '#staff-chat: Crash when opening the map',
        origin: 'discord',
        discord_user_id: h.users.player,
      }),
    ]);
    const conv = await h.db.admin.query(
      'select author_type, body from messages where ticket_id = $1 order by created_at',
      [t.rows[0].id],
    );
    expect(conv.rows).toEqual([
      {
        author_type: 'player',
        body: `Crash when opening the map\nsteps: press M\n\n(from Discord: https://discord.com/channels/${h.guild.id}/${staffChat}/${bug.id})`,
      },
    ]);
    const audit = await h.db.admin.query(
      "select actor_type from audit_logs where org_id = $1 and action = 'ticket.created_from_message'",
      [h.org.orgId],
    );
    expect(audit.rows).toEqual([{ actor_type: 'user' }]);
  });

  it('tells staff a channel that is not mirrored is not, and points to the report menu', async () => {
    const support = h.guild.channels['support'] ?? '';
    const m = h.fake.userMessage(support, h.users.player, 'hello');
    const a = await interact(h, {
      kind: 'messageContextMenu',
      name: 'Create ticket from message',
      guildId: h.guild.id,
      channelId: support,
      userId: h.users.moderator,
      targetMessageId: m.id,
    });
    expect(a.content).toMatch(/not mirrored into GameMod.*Open a ticket about this message/);
    expect(await ticketCount()).toBe(1);
  });

  it('leaves a ticket’s thread under a mirrored channel to its ticket', async () => {
    const thread = h.fake.userThread(staffChat, h.users.moderator, 'ticket 0007');
    await settle(h, async () => h.bot.client.channels.cache.has(thread.id));
    const { ticket } = await withTenant(h.db.app, h.org.orgId, (tx) =>
      openTicket(tx, { subject: 'Lost items', body: 'My sword is gone', origin: 'discord' }, h.org.owner),
    );
    await h.db.admin.query('update tickets set discord_channel_id = $2 where id = $1', [
      ticket.id,
      thread.id,
    ]);
    const m = h.fake.userMessage(thread.id, h.users.moderator, 'Restoring your sword now');
    await settle(h, recorded(m.id));
    const [r] = await row(m.id);
    expect(r).toMatchObject({ ticket_id: ticket.id, kind: 'ticket', author_type: 'user' });
  });
});

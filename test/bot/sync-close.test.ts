import { Routes } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, interact, openThroughPanel, settle, startHarness, theTicket } from './harness.js';

let h: Harness;
let ticketId: string;
let thread: string;

beforeAll(async () => {
  h = await startHarness({ workers: true });
  await openThroughPanel(h);
  ({ ticketId, thread } = await theTicket(h));
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const messages = async () =>
  (
    await h.db.admin.query(
      `select id, author_type, origin, external_id, body, edited_at, deleted_at from messages
       where ticket_id = $1 order by created_at, id`,
      [ticketId],
    )
  ).rows;

const recorded = (externalId: string) => async () =>
  (await h.db.admin.query('select 1 from messages where external_id = $1', [externalId])).rowCount === 1;

describe('conversation sync', () => {
  it('records player and staff messages with attachments, idempotent on the Discord id', async () => {
    const p = h.fake.userMessage(thread, h.users.player, 'Here is a screenshot', {
      attachments: [{ filename: 'crash.png', size: 2048, contentType: 'image/png' }],
    });
    await settle(h, recorded(p.id));
    const s = h.fake.userMessage(thread, h.users.moderator, 'Thanks, looking');
    await settle(h, recorded(s.id));
    // The same MESSAGE_CREATE delivered again (a gateway replay) is a no-op.
    h.fake.dispatch(h.guild.id, 'MESSAGE_CREATE', h.fake.state.messagePayload(p));
    const marker = h.fake.userMessage(thread, h.users.player, 'marker 1');
    await settle(h, recorded(marker.id));
    const rows = await messages();
    expect(rows.filter((m) => m.external_id === p.id)).toHaveLength(1);
    expect(rows.find((m) => m.external_id === p.id)).toMatchObject({
      author_type: 'player',
      origin: 'discord',
    });
    expect(rows.find((m) => m.external_id === s.id)).toMatchObject({
      author_type: 'user',
      body: 'Thanks, looking',
    });
    const att = await h.db.admin.query(
      'select id, filename, content_type, size_bytes, external_url from attachments where ticket_id = $1',
      [ticketId],
    );
    expect(att.rows).toEqual([
      expect.objectContaining({ filename: 'crash.png', content_type: 'image/png', size_bytes: 2048 }),
    ]);
    // The fake's CDN link, as Discord gives one; the workers are asked to copy the file.
    expect(att.rows[0].external_url).toMatch(/\/cdn\/attachments\/.+\/crash\.png$/);
    const copy = await h.db.admin.query(
      "select payload from outbox where org_id = $1 and event_type = 'message.attachments_added'",
      [h.org.orgId],
    );
    expect(copy.rows.map((r) => r.payload.attachmentIds)).toEqual([[att.rows[0].id]]);
    const t = await h.db.admin.query('select first_response_at from tickets where id = $1', [ticketId]);
    expect(t.rows[0].first_response_at).not.toBeNull();
  });

  it('never records the bot’s own posts or posts made through our webhook (no echoes)', async () => {
    const before = (await messages()).length;
    // What the workers do for a panel reply: post through the ticket's webhook, and as the bot.
    const row = await h.db.admin.query(
      'select discord_webhook_id, discord_webhook_token from tickets where id = $1',
      [ticketId],
    );
    const token = h.box.open(row.rows[0].discord_webhook_token);
    await h.bot.client.rest.post(Routes.webhook(row.rows[0].discord_webhook_id, token), {
      body: { content: 'Reply from the panel', username: 'Staff (panel)' },
      query: new URLSearchParams({ wait: 'true', thread_id: thread }),
      auth: false,
    });
    await h.bot.client.rest.post(Routes.channelMessages(thread), { body: { content: 'Bot notice' } });
    const marker = h.fake.userMessage(thread, h.users.player, 'marker 2');
    await settle(h, recorded(marker.id));
    const rows = await messages();
    expect(rows.length).toBe(before + 1);
    expect(rows.map((m) => m.body)).not.toContain('Reply from the panel');
    expect(rows.map((m) => m.body)).not.toContain('Bot notice');
  });

  it('remembers old channels without a ticket, never new ones', async () => {
    const old = String(BigInt(Date.now() - 3_600_000 - 1_420_070_400_000) << 22n);
    const oldChannel = h.fake.state.createChannel(h.guild.id, { id: old, name: 'general', type: 0 });
    h.fake.dispatch(h.guild.id, 'CHANNEL_CREATE', h.fake.state.channelPayload(oldChannel));
    h.fake.userMessage(old, h.users.player, 'chatter');
    await settle(h, async () => h.bot.deps.nonTicketChannels.get(old) === true);
    const fresh = h.fake.state.createChannel(h.guild.id, { name: 'new-channel', type: 0 });
    h.fake.dispatch(h.guild.id, 'CHANNEL_CREATE', h.fake.state.channelPayload(fresh));
    h.fake.userMessage(fresh.id, h.users.player, 'chatter');
    const marker = h.fake.userMessage(thread, h.users.player, 'marker 3');
    await settle(h, recorded(marker.id));
    expect(h.bot.deps.nonTicketChannels.get(fresh.id)).toBeUndefined();
  });

  it('records edits and deletions as events', async () => {
    const m = h.fake.userMessage(thread, h.users.player, 'typo hree');
    await settle(h, recorded(m.id));
    h.fake.userEdit(thread, m.id, 'typo here');
    await settle(h, async () => (await messages()).find((x) => x.external_id === m.id)?.body === 'typo here');
    h.fake.userDelete(thread, m.id);
    await settle(h, async () => (await messages()).find((x) => x.external_id === m.id)?.deleted_at !== null);
    const ev = await h.db.admin.query(
      `select type from ticket_events where ticket_id = $1 and type in ('message.edited', 'message.deleted') order by id`,
      [ticketId],
    );
    expect(ev.rows.map((r) => r.type)).toEqual(['message.edited', 'message.deleted']);
  });

  it('keeps working through an op 7 reconnect in the middle of a flow', async () => {
    const resumed = h.fake.waitForFrame((f) => f.direction === 'out' && f.t === 'RESUMED', 10_000);
    const before = h.fake.frames({ direction: 'in', op: 2 }).length;
    h.fake.reconnectShard(0);
    // Sent while the shard is reconnecting: Discord replays missed dispatches after RESUME.
    const during = h.fake.userMessage(thread, h.users.player, 'sent during the reconnect');
    await resumed;
    await settle(h, recorded(during.id), 10_000);
    expect(h.fake.frames({ direction: 'in', op: 2 }).length).toBe(before);
    const after = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'claim',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
    });
    expect(after.content).toBe('You claimed ticket #1.');
  });

  it('a form submitted while the shard reconnects is delivered after the resume and opens its ticket once', async () => {
    const channelId = h.guild.channels['support'] ?? '';
    const click = await interact(h, {
      kind: 'button',
      guildId: h.guild.id,
      channelId,
      userId: h.users.other,
      customId: `gm:open:${h.category.id}`,
    });
    expect(click.type).toBe(9);
    const resumed = h.fake.waitForFrame((f) => f.direction === 'out' && f.t === 'RESUMED', 10_000);
    h.fake.reconnectShard(0);
    const submit = await interact(h, {
      kind: 'modalSubmit',
      guildId: h.guild.id,
      channelId,
      userId: h.users.other,
      customId: `gm:form:${h.category.id}`,
      fields: { summary: 'Sent mid-reconnect' },
    });
    await resumed;
    expect(submit.content).toMatch(/^Your ticket #\d+ is open/);
    const rows = await h.db.admin.query('select count(*)::int as n from tickets where external_id = $1', [
      submit.handle.id,
    ]);
    expect(rows.rows[0].n).toBe(1);
  });
});

describe('closing', () => {
  it('close button asks for a reason, then closes with a transcript, a rating offer, lock and archive', async () => {
    const click = await interact(h, {
      kind: 'button',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.player,
      customId: `gm:close:${ticketId}`,
    });
    expect(click.type).toBe(9);
    expect((click.data as { custom_id: string }).custom_id).toBe(`gm:closeform:${ticketId}`);
    const done = await interact(h, {
      kind: 'modalSubmit',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.player,
      customId: `gm:closeform:${ticketId}`,
      fields: { reason: 'fixed <b>after</b> update' },
    });
    expect(done.content).toBe('Ticket #1 closed.');
    // The bot only answers; the workers' discord.ticket_sync job does the Discord side.
    await settle(h, async () => h.fake.state.channels.get(thread)?.thread_metadata?.locked === true, 15_000);
    const t = (await h.db.admin.query('select status, close_reason from tickets where id = $1', [ticketId]))
      .rows[0];
    expect(t).toEqual({ status: 'closed', close_reason: 'fixed <b>after</b> update' });
    const html = h.objects.get(`orgs/${h.org.orgId}/transcripts/${ticketId}.html`)?.toString() ?? '';
    expect(html).toContain('<title>Ticket #1: Bug report: The game crashes on start</title>');
    expect(html).toContain('Here is a screenshot');
    expect(html).toContain('crash.png');
    expect(html).toContain('fixed &lt;b&gt;after&lt;/b&gt; update');
    expect(html).not.toContain('<b>after</b>');
    const posted = h.fake.requests({
      method: 'POST',
      path: `/channels/${h.guild.channels['transcripts']}/messages`,
    });
    expect(posted).toHaveLength(1);
    const files = [...(h.fake.state.messages.get(h.guild.channels['transcripts'] ?? '')?.values() ?? [])][0]
      ?.attachments;
    expect(files).toEqual([expect.objectContaining({ filename: 'ticket-1.html' })]);
    const sid = (
      await h.db.admin.query('select discord_summary_message_id as s from tickets where id = $1', [ticketId])
    ).rows[0].s;
    const summary = h.fake.state.messages.get(thread)?.get(sid);
    expect(summary?.components).toEqual([]);
    expect(summary?.embeds[0]).toMatchObject({ footer: { text: expect.stringMatching(/Status: closed/) } });
    const meta = h.fake.state.channels.get(thread)?.thread_metadata;
    expect(meta).toMatchObject({ archived: true, locked: true });
    const lock = h.fake.requests({ method: 'PATCH', path: `/channels/${thread}` }).at(-1);
    expect(lock?.headers['x-audit-log-reason']).toMatch(/^GameMod: ticket #1 closed by Player One/);
    const outbox = await h.db.admin.query(
      `select event_type from outbox where aggregate_id = $1 order by id`,
      [ticketId],
    );
    expect(outbox.rows.map((r) => r.event_type)).toContain('ticket.closed');
  });

  it('rating: the star buttons by DM, no link in the thread; only the requester, 1 to 5, once', async () => {
    // Discord disables ordinary buttons in a locked thread (the fake refuses a press there), and
    // a web rating link rates as the player for whoever sees it: the thread's closing message
    // points the player at their DM and carries neither.
    const closing = [...(h.fake.state.messages.get(thread)?.values() ?? [])].find((m) =>
      /How did we do\?/.test(m.content),
    );
    expect(closing?.content).toBe(
      `<@${h.users.player}> This ticket was closed: fixed <b>after</b> update How did we do? The bot sent you a message to rate it, once, from 1 to 5 stars.`,
    );
    expect(JSON.stringify(closing?.components), 'the thread’s closing message').not.toContain('/rate/');
    expect(JSON.stringify(closing?.components)).not.toContain('gm:rate:');
    // The DM: the player's own channel with the bot, once, buttons naming the server.
    const dms = [...h.fake.state.channels.values()].filter(
      (c) => c.type === 1 && c.recipients?.[0] === h.users.player,
    );
    expect(dms).toHaveLength(1);
    const dm = dms[0]?.id ?? '';
    const prompt = [...(h.fake.state.messages.get(dm)?.values() ?? [])];
    expect(prompt).toHaveLength(1);
    expect(prompt[0]?.content).toBe(
      'Your ticket #1 “Bug report: The game crashes on start” was closed. How did we do? Rate it once, from 1 to 5 stars.',
    );
    expect(JSON.stringify(prompt[0]?.components)).toContain(`gm:rate:${ticketId}:4:${h.guild.id}`);
    const click = await interact(h, {
      kind: 'button',
      channelId: dm,
      userId: h.users.player,
      customId: `gm:rate:${ticketId}:4:${h.guild.id}`,
      messageId: prompt[0]?.id ?? '',
    });
    expect(click.type).toBe(9);
    expect((click.data as { custom_id: string }).custom_id).toBe(`gm:rateform:${ticketId}:4:${h.guild.id}`);
    const rate = (userId: string, n: number) =>
      interact(h, {
        kind: 'modalSubmit',
        channelId: dm,
        userId,
        customId: `gm:rateform:${ticketId}:${n}:${h.guild.id}`,
        fields: { comment: 'quick fix' },
      });
    expect((await rate(h.users.other, 4)).content).toBe(
      'Only the player who opened this ticket can rate it.',
    );
    expect((await rate(h.users.player, 9)).content).toBe('A rating is from 1 to 5.');
    expect((await rate(h.users.player, 4)).content).toBe('Thanks for rating ticket #1 ★★★★.');
    expect((await rate(h.users.player, 5)).content).toBe('ticket #1 was already rated');
    const t = (await h.db.admin.query('select rating, rating_comment from tickets where id = $1', [ticketId]))
      .rows[0];
    expect(t).toEqual({ rating: 4, rating_comment: 'quick fix' });
  });

  it("transcript: the DM's button hands the player a fresh link to their conversation, nobody else", async () => {
    const dm = [...h.fake.state.channels.values()].find(
      (c) => c.type === 1 && c.recipients?.[0] === h.users.player,
    )?.id;
    const prompt = [...(h.fake.state.messages.get(dm ?? '')?.values() ?? [])][0];
    const customId = `gm:transcript:${ticketId}:${h.guild.id}`;
    expect(JSON.stringify(prompt?.components)).toContain(customId);
    const press = (userId: string) =>
      interact(h, { kind: 'button', channelId: dm ?? '', userId, customId, messageId: prompt?.id ?? '' });

    const mine = await press(h.users.player);
    expect(mine.content).toMatch(/^The transcript of ticket #1\. The link works for 60 minutes/);
    const rows = (mine.data as { components: { components: { style: number; url: string }[] }[] }).components;
    const button = rows[0]?.components[0];
    expect(button?.style).toBe(5);
    const url = new URL(button?.url ?? '');
    expect(url.origin).toBe('http://panel.test');
    expect(h.ticketPages.transcript.verify(url.pathname.replace('/transcripts/', ''))).toEqual({
      orgId: h.org.orgId,
      ticketId,
    });
    // Another player pressing a forwarded button learns nothing.
    const theirs = await press(h.users.other);
    expect(theirs.content).toBe('This ticket no longer exists.');
    expect(JSON.stringify(theirs.data)).not.toContain('/transcripts/');
  });

  it('reopen unarchives and unlocks the thread', async () => {
    const refused = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'reopen',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.player,
    });
    expect(refused.content).toContain('`tickets.close`');
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'reopen',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
    });
    expect(a.content).toBe('Ticket #1 reopened.');
    await settle(h, async () => h.fake.state.channels.get(thread)?.thread_metadata?.locked === false, 15_000);
    expect(h.fake.state.channels.get(thread)?.thread_metadata).toMatchObject({
      archived: false,
      locked: false,
    });
    const t = (await h.db.admin.query('select status from tickets where id = $1', [ticketId])).rows[0];
    expect(t.status).toBe('open');
  });

  it('/ticket close with a reason closes directly; closing twice is refused', async () => {
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'close',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
      options: [{ name: 'reason', value: 'done' }],
    });
    expect(a.content).toBe('Ticket #1 closed.');
    const b = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'close',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
      options: [{ name: 'reason', value: 'again' }],
    });
    expect(b.content).toBe('Ticket #1 is already closed.');
  });

  it('a player who takes no DMs: the DM is tried once, the close goes on, the link stays', async () => {
    const dmOf = () =>
      [...h.fake.state.channels.values()].find((c) => c.type === 1 && c.recipients?.[0] === h.users.player);
    const dmsBefore = h.fake.state.messages.get(dmOf()?.id ?? '')?.size ?? 0;
    h.fake.state.dmsClosed.add(h.users.player);
    await openThroughPanel(h, { summary: 'Second problem', steps: 'None' });
    const second = (
      await h.db.admin.query(
        'select id, number, discord_channel_id as c from tickets where org_id = $1 order by number desc limit 1',
        [h.org.orgId],
      )
    ).rows[0];
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'close',
      guildId: h.guild.id,
      channelId: second.c,
      userId: h.users.moderator,
      options: [{ name: 'reason', value: 'done' }],
    });
    expect(a.content).toBe(`Ticket #${second.number} closed.`);
    await settle(
      h,
      async () => h.fake.state.channels.get(second.c)?.thread_metadata?.locked === true,
      15_000,
    );
    const dm = [...h.fake.state.channels.values()].find(
      (c) => c.type === 1 && c.recipients?.[0] === h.users.player,
    );
    const refusals = h.fake
      .requests({ method: 'POST', path: `/channels/${dm?.id}/messages` })
      // The earlier ticket's second close DMs too (its Transcript button), maybe while these are closed.
      .filter((r) => r.status === 403 && JSON.stringify(r.body).includes(second.id));
    expect(refusals).toHaveLength(1);
    const sent = [...(h.fake.state.messages.get(dm?.id ?? '')?.values() ?? [])];
    expect(sent.length).toBeGreaterThanOrEqual(dmsBefore);
    expect(JSON.stringify(sent)).not.toContain(second.id);
    const side = await h.db.admin.query('select rating_dm from discord_ticket_sides where ticket_id = $1', [
      second.id,
    ]);
    expect(side.rows[0].rating_dm).toBe('refused');
    const closing = [...(h.fake.state.messages.get(second.c)?.values() ?? [])].find((m) =>
      /Rate it once/.test(m.content),
    );
    expect(JSON.stringify(closing?.components)).toContain('http://panel.test/rate/');
    h.fake.state.dmsClosed.delete(h.users.player);
  });

  it('records it when the ticket’s thread is deleted on Discord', async () => {
    h.fake.deleteChannel(thread);
    await settle(
      h,
      async () =>
        (
          await h.db.admin.query(
            `select 1 from ticket_events where ticket_id = $1 and type = 'ticket.discord_channel_deleted'`,
            [ticketId],
          )
        ).rowCount === 1,
    );
    const audit = await h.db.admin.query(
      `select actor_type from audit_logs where action = 'ticket.discord_channel_deleted' and target_id = $1`,
      [ticketId],
    );
    expect(audit.rows).toEqual([{ actor_type: 'system' }]);
    // The ticket forgets the channel (so nothing posts into it any more) and the outbox hears of it.
    const t = await h.db.admin.query(
      'select discord_channel_id, discord_summary_message_id from tickets where id = $1',
      [ticketId],
    );
    expect(t.rows[0]).toEqual({ discord_channel_id: null, discord_summary_message_id: null });
    const outbox = await h.db.admin.query(
      `select payload from outbox where aggregate_id = $1 and event_type = 'ticket.discord_channel_deleted'`,
      [ticketId],
    );
    expect(outbox.rows).toHaveLength(1);
    expect(outbox.rows[0].payload).toMatchObject({ ticketId, discordChannelId: thread });
  });
});

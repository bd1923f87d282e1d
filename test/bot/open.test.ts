import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TtlCache } from '../../bot/cache.js';
import { openFromDiscord, openWithoutLock } from '../../bot/tickets.js';
import { type Category, createCategory } from '../../db/categories.js';
import { SYSTEM } from '../../db/changes.js';
import { ensureStaffMember } from '../../db/guild-roles.js';
import { updateGuildSettings } from '../../db/guilds.js';
import { addTeamMember, createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { upsertDiscordUser } from '../../db/users.js';
import type { OptionInput } from '../support/fake-discord/index.js';
import { answerOf, type Harness, interact, openThroughPanel, settle, startHarness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function ticketRows() {
  const r = await h.db.admin.query(
    `select id, number, subject, origin, external_id, discord_channel_id, discord_mode, discord_summary_message_id,
       discord_webhook_id, discord_webhook_token, custom_fields, requester_id from tickets where org_id = $1 order by number`,
    [h.org.orgId],
  );
  return r.rows;
}

/** `/ticket open` with these options, by `userId` in `channelId` (of the harness guild unless given). */
const ticketOpen = (channelId: string, userId: string, options: OptionInput[], guildId = h.guild.id) =>
  interact(h, { kind: 'chatInput', name: 'ticket', subcommand: 'open', guildId, channelId, userId, options });

describe('opening a ticket from the panel', () => {
  it('posts a panel with a button per category', async () => {
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'panel',
      guildId: h.guild.id,
      channelId: h.guild.channels['support'] ?? '',
      userId: h.users.owner,
    });
    expect(a.content).toBe('Panel posted.');
    const post = h.fake.requests({ method: 'POST', route: '/channels/:channel_id/messages' }).at(-1);
    const body = post?.body as { components: { components: { custom_id: string; label: string }[] }[] };
    const audit = await h.db.admin.query(
      `select actor_type, data->>'messageId' as message from audit_logs where org_id = $1 and action = 'guild.panel_posted'`,
      [h.org.orgId],
    );
    expect(audit.rows).toEqual([
      { actor_type: 'user', message: ((post?.response ?? {}) as { id?: string }).id },
    ]);
    expect(body.components[0]?.components[0]).toMatchObject({
      custom_id: `gm:open:${h.category.id}`,
      label: 'Bug report',
    });
  });

  it('shows the category form, then opens a private thread with the player and staff, DB rows and an outbox event', async () => {
    const { click, submit } = await openThroughPanel(h);
    expect(click.type).toBe(9);
    const modal = click.data as { custom_id: string; components: { components: { custom_id: string }[] }[] };
    expect(modal.custom_id).toBe(`gm:form:${h.category.id}`);
    expect(modal.components.map((r) => r.components[0]?.custom_id)).toEqual(['summary', 'steps']);
    expect(submit.type).toBe(5);
    expect(submit.content).toMatch(/^Your ticket #1 is open: <#\d+>$/);

    const [t] = await ticketRows();
    expect(t).toMatchObject({
      number: 1,
      origin: 'discord',
      external_id: submit.handle.id,
      discord_mode: 'thread',
      custom_fields: { summary: 'The game crashes on start', steps: 'Launch it' },
    });
    expect(t.subject).toBe('Bug report: The game crashes on start');
    const thread = h.fake.state.channels.get(t.discord_channel_id);
    expect(thread?.type).toBe(12);
    expect(thread?.parent_id).toBe(h.guild.channels['support']);
    const members = h.fake.state.threadMembers.get(t.discord_channel_id);
    expect(members?.has(h.users.player)).toBe(true);
    // Mentioning the mapped staff roles brings their members into the private thread.
    expect(members?.has(h.users.moderator)).toBe(true);
    expect(members?.has(h.users.agent)).toBe(true);
    expect(members?.has(h.users.other)).toBe(false);

    const summary = h.fake.state.messages.get(t.discord_channel_id)?.get(t.discord_summary_message_id);
    expect(summary?.embeds[0]).toMatchObject({ title: 'Ticket #1 · Bug report: The game crashes on start' });
    const ids = ((summary?.components ?? []) as { components: { custom_id: string }[] }[]).flatMap((r) =>
      r.components.map((c) => c.custom_id),
    );
    expect(ids).toEqual([`gm:claim:${t.id}`, `gm:close:${t.id}`, `gm:prio:${t.id}`]);

    // The ticket carries the channel webhook the workers post through, its token sealed at rest.
    expect(t.discord_webhook_token).toMatch(/^v1\./);
    expect(h.fake.state.webhooks.get(t.discord_webhook_id)?.token).toBe(h.box.open(t.discord_webhook_token));

    const outbox = await h.db.admin.query(
      `select event_type, payload from outbox where org_id = $1 and aggregate_id = $2`,
      [h.org.orgId, t.id],
    );
    expect(outbox.rows.map((r) => r.event_type)).toContain('ticket.created');
    const msgs = await h.db.admin.query(
      'select author_type, origin, body from messages where ticket_id = $1',
      [t.id],
    );
    expect(msgs.rows).toEqual([
      {
        author_type: 'player',
        origin: 'discord',
        body: '**What happened?**\nThe game crashes on start\n\n**How can we reproduce it?**\nLaunch it',
      },
    ]);
    // Moderation calls carry an audit log reason.
    const threadCreate = h.fake.requests({ method: 'POST', route: '/channels/:channel_id/threads' }).at(-1);
    expect(threadCreate?.headers['x-audit-log-reason']).toMatch(/^GameMod: ticket for player/);
  });

  it('a replayed interaction is refused by Discord and makes no second ticket', async () => {
    const before = (await ticketRows()).length;
    const threadsBefore = h.fake.requests({ method: 'POST', route: '/channels/:channel_id/threads' }).length;
    const channelId = h.guild.channels['support'] ?? '';
    const submit = await interact(h, {
      kind: 'modalSubmit',
      guildId: h.guild.id,
      channelId,
      userId: h.users.other,
      customId: `gm:form:${h.category.id}`,
      fields: { summary: 'Replay me' },
    });
    expect(submit.content).toMatch(/Your ticket #\d+ is open/);
    h.fake.replayInteraction(submit.handle);
    await h.fake.waitForRequest(
      (r) => r.route === '/interactions/:interaction_id/:interaction_token/callback' && r.status === 400,
    );
    expect(submit.handle.record.rejectedCallbacks).toEqual([expect.objectContaining({ code: 40060 })]);
    expect((await ticketRows()).length).toBe(before + 1);
    expect(h.fake.requests({ method: 'POST', route: '/channels/:channel_id/threads' }).length).toBe(
      threadsBefore + 1,
    );
  });

  it('the same interaction opened twice at once, past the player lock, makes one ticket and keeps one thread', async () => {
    const threadCreate = { method: 'POST', route: '/channels/:channel_id/threads' } as const;
    const before = (await ticketRows()).length;
    const threadsBefore = h.fake.requests({ ...threadCreate, status: 201 }).length;
    const racer = h.fake.addUser({ username: 'racer' }).id;
    h.fake.addMember(h.guild.id, racer);
    const req = {
      guildId: h.guild.id,
      channelId: h.guild.channels['support'] ?? '',
      interactionId: '1234567890123456789',
      requester: { id: racer, username: 'racer', globalName: null, avatar: null, roleIds: [] },
      categoryId: null,
      subject: 'Twice at once',
      answers: [{ key: 'subject', label: 'Subject', value: 'Twice at once' }],
    };
    const ctx = { deps: h.bot.deps, requestId: randomUUID(), log: h.bot.deps.logger };
    const [a, b] = await Promise.all([openWithoutLock(ctx, req), openWithoutLock(ctx, req)]);
    expect(a.ticket.id).toBe(b.ticket.id);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    const rows = (await ticketRows()).filter((r) => r.external_id === req.interactionId);
    expect(rows).toHaveLength(1);
    expect((await ticketRows()).length).toBe(before + 1);
    // Both made a thread before the database decided; the loser's is deleted again.
    const made = h.fake.requests({ ...threadCreate, status: 201 }).slice(threadsBefore);
    const ids = made.map((r) => (r.response as { id: string }).id);
    expect(ids).toContain(rows[0].discord_channel_id);
    const live = ids.filter((id) => h.fake.state.channels.has(id));
    expect(live).toEqual([rows[0].discord_channel_id]);
    // A later replay (through the lock) finds the ticket and makes no thread.
    const again = await openFromDiscord(ctx, req);
    expect(again).toMatchObject({ created: false, ticket: { id: a.ticket.id } });
    expect(h.fake.requests({ ...threadCreate, status: 201 }).length).toBe(threadsBefore + made.length);
  });

  it('/ticket open with a subject opens a ticket directly; without one it shows the form', async () => {
    const channelId = h.guild.channels['support'] ?? '';
    const form = await ticketOpen(channelId, h.users.other, [{ name: 'category', value: 'bug report' }]);
    expect(form.type).toBe(9);
    expect((form.data as { custom_id: string }).custom_id).toBe(`gm:form:${h.category.id}`);
    const direct = await ticketOpen(channelId, h.users.other, [{ name: 'subject', value: 'Cannot log in' }]);
    expect(direct.content).toMatch(/^Your ticket #\d+ is open/);
    const rows = await ticketRows();
    expect(rows.at(-1)).toMatchObject({ subject: 'Cannot log in', external_id: direct.handle.id });
  });

  it('enforces the open-ticket limit with a clear message and writes nothing', async () => {
    const channelId = h.guild.channels['support'] ?? '';
    // "other" holds two open tickets now; the guild allows three.
    const third = await ticketOpen(channelId, h.users.other, [{ name: 'subject', value: 'Third' }]);
    expect(third.content).toMatch(/is open/);
    const before = (await ticketRows()).length;
    const threads = h.fake.requests({ method: 'POST', route: '/channels/:channel_id/threads' }).length;
    const fourth = await ticketOpen(channelId, h.users.other, [{ name: 'subject', value: 'Fourth' }]);
    expect(fourth.content).toBe(
      'You already have 3 open tickets (the limit here is 3). Please continue in one of them, or wait until staff close one.',
    );
    expect((await ticketRows()).length).toBe(before);
    expect(h.fake.requests({ method: 'POST', route: '/channels/:channel_id/threads' }).length).toBe(threads);
  });

  it('answers malformed and over-long form input with an ephemeral error', async () => {
    const channelId = h.guild.channels['support'] ?? '';
    const before = (await ticketRows()).length;
    const empty = await interact(h, {
      kind: 'modalSubmit',
      guildId: h.guild.id,
      channelId,
      userId: h.users.player,
      customId: `gm:form:${h.category.id}`,
      fields: { summary: '   ' },
    });
    expect(empty.content).toBe('Please answer “What happened?”.');
    const long = await interact(h, {
      kind: 'modalSubmit',
      guildId: h.guild.id,
      channelId,
      userId: h.users.player,
      customId: `gm:form:${h.category.id}`,
      fields: { summary: 'x'.repeat(101) },
    });
    expect(long.content).toBe('“What happened?” is too long: at most 100 characters.');
    const forged = await interact(h, {
      kind: 'modalSubmit',
      guildId: h.guild.id,
      channelId,
      userId: h.users.player,
      customId: 'gm:form:not-a-uuid',
      fields: { summary: 'x' },
    });
    expect(forged.content).toBe('This form is not valid any more.');
    expect((await ticketRows()).length).toBe(before);
    // All three were ephemeral deferrals (flag 64).
    for (const a of [empty, long, forged])
      expect(a.handle.record.callback?.data).toMatchObject({ flags: 64 });
  });

  it('points unlinked guilds to /setup', async () => {
    const g = h.fake.addGuild({
      name: 'Unlinked',
      members: [h.users.player],
      channels: [{ name: 'general' }],
    });
    await settle(h, async () => h.bot.client.guilds.cache.has(g.id));
    const a = await ticketOpen(
      g.channels['general'] ?? '',
      h.users.player,
      [{ name: 'subject', value: 'hi' }],
      g.id,
    );
    expect(a.content).toMatch(/not set up with GameMod yet.*\/setup link/);
  });

  it('the message context menu opens a report quoting the message with a link', async () => {
    const channelId = h.guild.channels['support'] ?? '';
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      updateGuildSettings(tx, h.guild.id, { alertChannelId: h.guild.channels['transcripts'] }, SYSTEM),
    );
    const reported = h.fake.userMessage(channelId, h.users.other, 'buy gold at scam.example');
    const a = await interact(h, {
      kind: 'messageContextMenu',
      name: 'Open a ticket about this message',
      guildId: h.guild.id,
      channelId,
      userId: h.users.player,
      targetMessageId: reported.id,
    });
    expect(a.content).toMatch(/^Thanks, staff will look at it in ticket #\d+/);
    const r = await h.db.admin.query(
      'select number, subject, discord_channel_id from tickets where external_id = $1',
      [a.handle.id],
    );
    expect(r.rows[0].subject).toBe('Report: a message by other');
    const thread = r.rows[0].discord_channel_id;
    const first = [...(h.fake.state.messages.get(thread)?.values() ?? [])].find((m) => m.embeds.length);
    const fields = ((first?.embeds[0] ?? { fields: [] }) as { fields: { name: string; value: string }[] })
      .fields;
    const alert = h.fake
      .requests({ method: 'POST', path: `/channels/${h.guild.channels['transcripts']}/messages` })
      .at(-1);
    expect(((alert?.body ?? {}) as { content?: string }).content).toBe(
      `New report #${r.rows[0].number} by <@${h.users.player}> about a message by <@${h.users.other}>: <#${thread}>`,
    );
    expect(fields.find((f) => f.name === 'Reported message')?.value).toContain(
      `https://discord.com/channels/${h.guild.id}/${channelId}/${reported.id}`,
    );
  });

  it('the user context menu is for staff only', async () => {
    const channelId = h.guild.channels['support'] ?? '';
    const refused = await interact(h, {
      kind: 'userContextMenu',
      name: 'Open a ticket for this user',
      guildId: h.guild.id,
      channelId,
      userId: h.users.player,
      targetUserId: h.users.other,
    });
    expect(refused.content).toMatch(/You need the `tickets.create` permission/);
    const ok = await interact(h, {
      kind: 'userContextMenu',
      name: 'Open a ticket for this user',
      guildId: h.guild.id,
      channelId,
      userId: h.users.moderator,
      targetUserId: h.users.other,
    });
    // Staff are not held to the player's limit ("other" is at it).
    expect(ok.content).toMatch(/^Opened ticket #\d+ for <@\d+>/);
    const audit = await h.db.admin.query(
      `select a.action, a.actor_type from audit_logs a join tickets t on t.id::text = a.target_id
       where t.external_id = $1`,
      [ok.handle.id],
    );
    expect(audit.rows).toContainEqual({ action: 'ticket.created', actor_type: 'user' });
  });

  it('late answers never happen: the wrapper acks before any database work', async () => {
    // Hold a lock the handler's first query needs: the ack must still come, the answer only after.
    const blocker = await h.db.admin.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table discord_accounts in access exclusive mode');
      const handle = h.fake.sendInteraction({
        kind: 'chatInput',
        name: 'stats',
        guildId: h.guild.id,
        channelId: h.guild.channels['support'] ?? '',
        userId: h.users.moderator,
      });
      const ack = await handle.response;
      expect(ack?.type).toBe(5);
      // The handler is really waiting on the lock, and has not answered yet.
      await settle(h, async () => {
        const r = await h.db.admin.query(
          `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%discord_accounts%'`,
        );
        return r.rows[0].n > 0;
      });
      const edit = {
        method: 'PATCH',
        path: `/webhooks/${h.fake.applicationId}/${handle.token}/messages/@original`,
      };
      expect(h.fake.requests(edit)).toHaveLength(0);
      await blocker.query('commit');
      const a = await answerOf(h, handle);
      expect(a.content).toMatch(/^\*\*You\*\*: \d+ open/);
    } finally {
      await blocker.query('rollback').catch(() => {});
      blocker.release();
    }
  });

  it('a category with a team brings in that team’s members instead of every staff role', async () => {
    const mod = await upsertDiscordUser(h.db.app, { discordUserId: h.users.moderator, username: 'mod' });
    const category = await withTenant(h.db.app, h.org.orgId, async (tx) => {
      const role = await tx.query<{ id: string }>(
        `select id from roles where org_id = $1 and key = 'moderator'`,
        [h.org.orgId],
      );
      await ensureStaffMember(tx, mod.id, role.rows[0]?.id ?? '', h.guild.id);
      const team = await createTeam(tx, { name: 'Payments team' }, SYSTEM);
      await addTeamMember(tx, { teamId: team.id, userId: mod.id }, SYSTEM);
      return createCategory(tx, { name: 'Payments', teamId: team.id }, SYSTEM);
    });
    h.bot.deps.categories.delete(h.org.orgId);
    const player = h.fake.addUser({ username: 'payer' }).id;
    h.fake.addMember(h.guild.id, player);
    const a = await interact(h, {
      kind: 'modalSubmit',
      guildId: h.guild.id,
      channelId: h.guild.channels['support'] ?? '',
      userId: player,
      customId: `gm:form:${category.id}`,
      fields: { subject: 'Charged twice', details: 'twice' },
    });
    expect(a.content).toMatch(/is open/);
    const t = (
      await h.db.admin.query('select discord_channel_id, team_id from tickets where external_id = $1', [
        a.handle.id,
      ])
    ).rows[0];
    const members = h.fake.state.threadMembers.get(t.discord_channel_id);
    expect(members?.has(h.users.moderator)).toBe(true);
    expect(members?.has(h.users.agent)).toBe(false);
    expect(t.team_id).toBeTruthy();
  });

  it('a form button answers from stale categories while the database is slow, and refreshes them behind', async () => {
    let offset = 0;
    h.bot.deps.categories = new TtlCache<string, Category[]>(60_000, 100, () => Date.now() + offset);
    const click = () =>
      interact(h, {
        kind: 'button',
        guildId: h.guild.id,
        channelId: h.guild.channels['support'] ?? '',
        userId: h.users.player,
        customId: `gm:open:${h.category.id}`,
      });
    expect((await click()).type).toBe(9);
    offset = 120_000; // the cached list is now past its time to live
    const blocker = await h.db.admin.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table ticket_categories in access exclusive mode');
      const a = await click();
      expect(a.type).toBe(9);
      expect(a.data).toMatchObject({ custom_id: `gm:form:${h.category.id}` });
      await blocker.query('commit');
    } finally {
      await blocker.query('rollback').catch(() => {});
      blocker.release();
    }
    await settle(h, async () => h.bot.deps.categories.get(h.org.orgId) !== undefined);
  });

  it('opened from inside a ticket thread with no support channel set, the new thread goes in its parent', async () => {
    const support = h.guild.channels['support'] ?? '';
    const first = await ticketOpen(support, h.users.agent, [
      { name: 'subject', value: 'First, in the channel' },
    ]);
    expect(first.content).toMatch(/is open/);
    const inside = (
      await h.db.admin.query('select discord_channel_id from tickets where external_id = $1', [
        first.handle.id,
      ])
    ).rows[0].discord_channel_id;
    await h.db.admin.query(
      `update discord_guilds set settings = settings - 'supportChannelId' where guild_id = $1`,
      [h.guild.id],
    );
    try {
      const a = await ticketOpen(inside, h.users.agent, [
        { name: 'subject', value: 'Second, from inside the thread' },
      ]);
      expect(a.content).toMatch(/is open/);
      const made = (
        await h.db.admin.query('select discord_channel_id from tickets where external_id = $1', [a.handle.id])
      ).rows[0].discord_channel_id;
      expect(h.fake.state.channels.get(made)?.parent_id).toBe(support);
    } finally {
      await h.db.admin.query(
        `update discord_guilds set settings = settings || jsonb_build_object('supportChannelId', $2::text) where guild_id = $1`,
        [h.guild.id, support],
      );
    }
  });
});

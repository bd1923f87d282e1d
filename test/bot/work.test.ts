import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCannedReply } from '../../db/canned-replies.js';
import { SYSTEM } from '../../db/changes.js';
import { createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { presenceOf } from '../../lib/presence.js';
import type { InteractionInput } from '../support/fake-discord/index.js';
import { type Harness, interact, openThroughPanel, settle, startHarness, theTicket } from './harness.js';

let h: Harness;
let ticketId: string;
let thread: string;

beforeAll(async () => {
  h = await startHarness({ workers: true });
  await withTenant(h.db.app, h.org.orgId, async (tx) => {
    await createTeam(tx, { name: 'Billing' }, SYSTEM);
    await createCannedReply(
      tx,
      {
        shortcut: 'thanks',
        title: 'Thanks',
        body: 'Hi {player}, thanks for ticket #{ticket}. {agent} here.',
      },
      SYSTEM,
    );
  });
  await openThroughPanel(h);
  ({ ticketId, thread } = await theTicket(h));
}, 60_000);

afterAll(async () => {
  await h?.close();
});

function cmd(
  userId: string,
  subcommand: string,
  options: { name: string; value: string | number | boolean; type?: number }[] = [],
  group?: string,
) {
  const input: InteractionInput = {
    kind: 'chatInput',
    name: 'ticket',
    subcommand,
    ...(group ? { subcommandGroup: group } : {}),
    guildId: h.guild.id,
    channelId: thread,
    userId,
    options,
  };
  return interact(h, input);
}

async function ticket() {
  const r = await h.db.admin.query('select * from tickets where id = $1', [ticketId]);
  return r.rows[0];
}

async function audit(action: string) {
  const r = await h.db.admin.query(
    'select actor_type, actor_id from audit_logs where org_id = $1 and action = $2 and target_id = $3',
    [h.org.orgId, action, ticketId],
  );
  return r.rows;
}

describe('/ticket subcommands', () => {
  it('refuses players every staff subcommand with the permission named', async () => {
    const cases: [string, { name: string; value: string | number | boolean; type?: number }[], string][] = [
      ['claim', [], 'tickets.assign'],
      ['unclaim', [], 'tickets.assign'],
      ['assign', [{ name: 'user', value: h.users.moderator, type: 6 }], 'tickets.assign'],
      ['transfer', [{ name: 'team', value: 'Billing' }], 'tickets.assign'],
      ['priority', [{ name: 'level', value: 'high' }], 'tickets.update'],
      ['note', [{ name: 'text', value: 'secret' }], 'tickets.note'],
      ['add', [{ name: 'user', value: h.users.other, type: 6 }], 'tickets.update'],
      ['remove', [{ name: 'user', value: h.users.other, type: 6 }], 'tickets.update'],
      ['rename', [{ name: 'subject', value: 'x' }], 'tickets.update'],
      ['status', [{ name: 'status', value: 'pending' }], 'tickets.update'],
      ['reopen', [], 'tickets.close'],
    ];
    for (const [sub, options, perm] of cases) {
      const a = await cmd(h.users.player, sub, options);
      expect(a.content, sub).toContain(`You need the \`${perm}\` permission`);
    }
    const tag = await cmd(h.users.player, 'add', [{ name: 'tag', value: 'x' }], 'tag');
    expect(tag.content).toContain('`tickets.update`');
    const other = await cmd(h.users.other, 'close', [{ name: 'reason', value: 'not mine' }]);
    expect(other.content).toMatch(/Only staff with the `tickets.close` permission or the ticket’s owner/);
    const t = await ticket();
    expect(t).toMatchObject({
      status: 'open',
      priority: 'normal',
      assignee_id: null,
      team_id: null,
      tags: [],
    });
  });

  it('refuses players /reply, /tag and /panel, and posts nothing for them', async () => {
    const posts = () => h.fake.requests({ method: 'POST', route: '/channels/:channel_id/messages' }).length;
    const hooks = () =>
      h.fake.requests({ method: 'POST', route: '/webhooks/:webhook_id/:webhook_token' }).length;
    const before = { posts: posts(), hooks: hooks() };
    const run = (name: string, options: { name: string; value: string }[], channelId = thread) =>
      interact(h, {
        kind: 'chatInput',
        name,
        guildId: h.guild.id,
        channelId,
        userId: h.users.player,
        options,
      });
    expect((await run('reply', [{ name: 'text', value: 'I am staff now' }])).content).toContain(
      'You need the `tickets.reply` permission',
    );
    expect((await run('tag', [])).content).toContain('You need the `tickets.reply` permission');
    expect((await run('tag', [{ name: 'name', value: 'thanks' }])).content).toContain(
      'You need the `tickets.reply` permission',
    );
    expect((await run('panel', [], h.guild.channels['support'] ?? '')).content).toBe(
      'You need Manage Server on Discord or the `categories.manage` permission.',
    );
    expect({ posts: posts(), hooks: hooks() }).toEqual(before);
  });

  it('claim, unclaim and assign, audited as the staff member', async () => {
    const claim = await cmd(h.users.moderator, 'claim');
    expect(claim.content).toBe('You claimed ticket #1.');
    const sid = (await ticket()).discord_summary_message_id;
    // The summary follows through the workers' discord.ticket_sync job.
    await settle(h, async () =>
      JSON.stringify(h.fake.state.messages.get(thread)?.get(sid)?.embeds[0] ?? {}).includes(
        'Claimed by Mod Erator',
      ),
    );
    expect(h.fake.state.messages.get(thread)?.get(sid)?.embeds[0]).toMatchObject({
      footer: { text: 'Priority: Normal · Status: open · Claimed by Mod Erator' },
    });
    const mod = (await ticket()).assignee_id;
    expect(mod).toBeTruthy();
    expect(await audit('ticket.assigned')).toEqual([{ actor_type: 'user', actor_id: mod }]);
    const notice = [...(h.fake.state.messages.get(thread)?.values() ?? [])].at(-1);
    expect(notice?.content).toBe(`<@${h.users.moderator}> is taking care of this ticket.`);
    expect((await cmd(h.users.moderator, 'unclaim')).content).toBe('Ticket #1 is unassigned again.');
    expect((await ticket()).assignee_id).toBeNull();
    expect((await cmd(h.users.moderator, 'unclaim')).content).toBe('Nobody has claimed this ticket.');
    const notStaff = await cmd(h.users.moderator, 'assign', [
      { name: 'user', value: h.users.other, type: 6 },
    ]);
    expect(notStaff.content).toBe(`<@${h.users.other}> is not staff here (none of their roles is mapped).`);
    const assigned = await cmd(h.users.moderator, 'assign', [
      { name: 'user', value: h.users.agent, type: 6 },
    ]);
    expect(assigned.content).toBe(`Ticket #1 is assigned to <@${h.users.agent}>.`);
    const agentUser = await h.db.admin.query(
      'select user_id from discord_accounts where discord_user_id = $1',
      [h.users.agent],
    );
    expect((await ticket()).assignee_id).toBe(agentUser.rows[0].user_id);
  });

  it("a staff member's command or message in a ticket keeps them online; a player's touches nobody", async () => {
    const idOf = async (discordId: string) =>
      (await h.db.admin.query('select user_id from discord_accounts where discord_user_id = $1', [discordId]))
        .rows[0]?.user_id as string;
    await cmd(h.users.moderator, 'info');
    const mod = await idOf(h.users.moderator);
    expect((await presenceOf(h.redis, h.org.orgId, [mod])).get(mod)?.state).toBe('online');
    h.fake.userMessage(thread, h.users.agent, 'Looking into it');
    const agent = await idOf(h.users.agent);
    await settle(
      h,
      async () => (await presenceOf(h.redis, h.org.orgId, [agent])).get(agent)?.state === 'online',
    );
    h.fake.userMessage(thread, h.users.player, 'Thanks');
    const player = await idOf(h.users.player);
    await settle(
      h,
      async () =>
        (
          await h.db.admin.query('select 1 from messages where org_id = $1 and body = $2', [
            h.org.orgId,
            'Thanks',
          ])
        ).rowCount === 1,
    );
    if (player) expect((await presenceOf(h.redis, h.org.orgId, [player])).get(player)?.lastSeenAt).toBeNull();
  });

  it('transfer, priority, tags, rename and status', async () => {
    expect((await cmd(h.users.moderator, 'transfer', [{ name: 'team', value: 'Nope' }])).content).toBe(
      'There is no team called “Nope”.',
    );
    expect((await cmd(h.users.moderator, 'transfer', [{ name: 'team', value: 'billing' }])).content).toBe(
      'Ticket #1 moved to billing.',
    );
    expect((await cmd(h.users.moderator, 'priority', [{ name: 'level', value: 'urgent' }])).content).toBe(
      'Priority set to urgent.',
    );
    expect((await cmd(h.users.moderator, 'priority', [{ name: 'level', value: 'extreme' }])).content).toBe(
      'Unknown priority “extreme”.',
    );
    expect((await cmd(h.users.moderator, 'add', [{ name: 'tag', value: 'Crash' }], 'tag')).content).toBe(
      'Tags: crash',
    );
    expect(
      (await cmd(h.users.moderator, 'add', [{ name: 'tag', value: 'bad tag!' }], 'tag')).content,
    ).toMatch(/^That is not accepted: letters, digits/);
    expect((await cmd(h.users.moderator, 'remove', [{ name: 'tag', value: 'crash' }], 'tag')).content).toBe(
      'Tags: none',
    );
    const renamed = await cmd(h.users.moderator, 'rename', [{ name: 'subject', value: 'Crash on start' }]);
    expect(renamed.content).toBe('Renamed to “Crash on start”.');
    // The name follows through the workers' ticket sync, once, with who renamed it.
    await settle(h, async () => h.fake.state.channels.get(thread)?.name === '1-Crash on start');
    const renames = h.fake
      .requests({ method: 'PATCH', path: `/channels/${thread}` })
      .filter((r) => (r.body as { name?: string } | undefined)?.name);
    expect(renames).toHaveLength(1);
    expect(renames[0]?.headers['x-audit-log-reason']).toBe('GameMod: ticket #1 renamed by Mod Erator');
    expect((await cmd(h.users.moderator, 'status', [{ name: 'status', value: 'on_hold' }])).content).toBe(
      'Status set to on hold.',
    );
    const t = await ticket();
    expect(t).toMatchObject({ priority: 'urgent', tags: [], subject: 'Crash on start', status: 'on_hold' });
    await settle(h, async () =>
      JSON.stringify(
        h.fake.state.messages.get(thread)?.get(t.discord_summary_message_id)?.embeds[0] ?? {},
      ).includes('Priority: Urgent · Status: on hold"'),
    );
    const summary = h.fake.state.messages.get(thread)?.get(t.discord_summary_message_id);
    expect(summary?.embeds[0]).toMatchObject({
      title: 'Ticket #1 · Crash on start',
      // The transfer to another team cleared the assignee.
      footer: { text: 'Priority: Urgent · Status: on hold' },
    });
    expect(t.team_id).toBeTruthy();
    const prio = await interact(h, {
      kind: 'stringSelect',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
      customId: `gm:prio:${ticketId}`,
      values: ['low'],
    });
    expect(prio.content).toBe('Priority set to low.');
    expect((await cmd(h.users.moderator, 'status', [{ name: 'status', value: 'open' }])).content).toBe(
      'Status set to open.',
    );
  });

  it('notes stay internal: stored, audited, never posted', async () => {
    const visible = () =>
      [...(h.fake.state.messages.get(thread)?.values() ?? [])].filter((m) => !(m.flags & 64)).length;
    const before = visible();
    const a = await cmd(h.users.agent, 'note', [{ name: 'text', value: 'player is on an old build' }]);
    expect(a.content).toBe('Internal note saved (not shown to the player).');
    const n = await h.db.admin.query('select body from ticket_notes where ticket_id = $1', [ticketId]);
    expect(n.rows).toEqual([{ body: 'player is on an old build' }]);
    expect(visible()).toBe(before);
    expect(await audit('note.created')).toHaveLength(1);
  });

  it('add and remove members of the thread with audit log reasons', async () => {
    expect(
      (await cmd(h.users.moderator, 'add', [{ name: 'user', value: h.users.other, type: 6 }])).content,
    ).toBe(`<@${h.users.other}> was added.`);
    expect(h.fake.state.threadMembers.get(thread)?.has(h.users.other)).toBe(true);
    const put = h.fake
      .requests({ method: 'PUT', path: `/channels/${thread}/thread-members/${h.users.other}` })
      .at(-1);
    expect(put?.headers['x-audit-log-reason']).toBe('GameMod: add on ticket #1 by mod');
    expect(
      (await cmd(h.users.moderator, 'remove', [{ name: 'user', value: h.users.other, type: 6 }])).content,
    ).toBe(`<@${h.users.other}> was removed.`);
    expect(h.fake.state.threadMembers.get(thread)?.has(h.users.other)).toBe(false);
    expect(
      (await cmd(h.users.moderator, 'remove', [{ name: 'user', value: h.users.player, type: 6 }])).content,
    ).toBe('The player who opened the ticket cannot be removed from it.');
    expect(await audit('ticket.member_added')).toHaveLength(1);
    expect(await audit('ticket.member_removed')).toHaveLength(1);
  });

  it('info for staff and the requester, not for others', async () => {
    const staff = await cmd(h.users.agent, 'info');
    expect(staff.content).toMatch(/^\*\*Ticket #1\*\* · Crash on start\nStatus: open · Priority: low/);
    expect((await cmd(h.users.player, 'info')).content).toMatch(/^\*\*Ticket #1\*\*/);
    expect((await cmd(h.users.other, 'info')).content).toBe(
      'You need the `tickets.read` permission for this.',
    );
  });

  it('commands outside a ticket say so', async () => {
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'claim',
      guildId: h.guild.id,
      channelId: h.guild.channels['support'] ?? '',
      userId: h.users.moderator,
    });
    expect(a.content).toBe('This is not a ticket thread or channel. Run it inside a ticket.');
  });

  it('/reply and /tag send a canned reply through the webhook, rendered, recorded once', async () => {
    const list = await interact(h, {
      kind: 'chatInput',
      name: 'tag',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.agent,
    });
    expect(list.content).toBe('`thanks` · Thanks');
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'reply',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
      options: [
        { name: 'canned', value: 'thanks' },
        { name: 'text', value: 'We are on it.' },
      ],
    });
    expect(a.content).toBe('Reply sent.');
    const exec = h.fake.requests({ method: 'POST', route: '/webhooks/:webhook_id/:webhook_token' }).at(-1);
    expect(exec?.query).toMatchObject({ wait: 'true', thread_id: thread });
    expect(exec?.body).toMatchObject({
      content: 'Hi Player One, thanks for ticket #1. Mod Erator here.\n\nWe are on it.',
      username: 'Mod Erator',
    });
    // The echo of the webhook post is skipped without I/O, so once a later message is recorded
    // the echo has been handled.
    const marker = h.fake.userMessage(thread, h.users.player, 'marker');
    await settle(
      h,
      async () =>
        (await h.db.admin.query('select 1 from messages where external_id = $1', [marker.id])).rowCount === 1,
    );
    const msgs = await h.db.admin.query(
      `select author_type, body from messages where ticket_id = $1 and body like 'Hi Player One%'`,
      [ticketId],
    );
    expect(msgs.rows).toEqual([
      { author_type: 'user', body: 'Hi Player One, thanks for ticket #1. Mod Erator here.\n\nWe are on it.' },
    ]);
    expect((await ticket()).first_response_at).not.toBeNull();
    const missing = await interact(h, {
      kind: 'chatInput',
      name: 'tag',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
      options: [{ name: 'name', value: 'nope' }],
    });
    expect(missing.content).toBe('no canned reply "nope"');
  });

  it('/stats gives the staff member and the guild figures', async () => {
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'stats',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
    });
    expect(a.content).toMatch(
      /^\*\*You\*\*: 0 open .*\n\*\*This server\*\*: 1 open · first response median \d+ s/,
    );
    const player = await interact(h, {
      kind: 'chatInput',
      name: 'stats',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.player,
    });
    expect(player.content).toMatch(/^\/stats is for staff/);
  });

  it('autocompletes canned replies and categories within the deadline', async () => {
    const canned = h.fake.sendInteraction({
      kind: 'autocomplete',
      name: 'reply',
      focused: 'canned',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.agent,
      options: [{ name: 'canned', value: 'tha' }],
    });
    const c = await canned.response;
    expect(c?.type).toBe(8);
    expect(c?.data).toEqual({ choices: [{ name: 'thanks · Thanks', value: 'thanks' }] });
    const category = h.fake.sendInteraction({
      kind: 'autocomplete',
      name: 'ticket',
      subcommand: 'open',
      focused: 'category',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.player,
      options: [{ name: 'category', value: 'bug' }],
    });
    expect((await category.response)?.data).toEqual({
      choices: [{ name: 'Bug report', value: 'Bug report' }],
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCannedReply } from '../../db/canned-replies.js';
import { SYSTEM } from '../../db/changes.js';
import { withTenant } from '../../db/tenant.js';
import { type Harness, interact, openThroughPanel, settle, startHarness } from './harness.js';

let h: Harness;
let thread: string;
let ticketId: string;
let dave: string;

beforeAll(async () => {
  h = await startHarness({ workers: true });
  const { submit } = await openThroughPanel(h);
  const r = await h.db.admin.query('select id, discord_channel_id from tickets where external_id = $1', [
    submit.handle.id,
  ]);
  ticketId = r.rows[0].id;
  thread = r.rows[0].discord_channel_id;
  // Discord refuses webhook usernames containing "discord" or "clyde".
  dave = h.fake.addUser({ username: 'dave', globalName: 'Discord Dave' }).id;
  h.fake.addMember(h.guild.id, dave, [h.guild.roles['Moderator'] ?? '']);
  await withTenant(h.db.app, h.org.orgId, (tx) =>
    createCannedReply(
      tx,
      { shortcut: 'cat', title: 'Category', body: 'About your {category} ticket #{ticket}.' },
      SYSTEM,
    ),
  );
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const reply = (userId: string, text: string, canned?: string) =>
  interact(h, {
    kind: 'chatInput',
    name: 'reply',
    guildId: h.guild.id,
    channelId: thread,
    userId,
    options: [{ name: 'text', value: text }, ...(canned ? [{ name: 'canned', value: canned }] : [])],
  });

const recorded = async (body: string) =>
  (
    await h.db.admin.query('select count(*)::int as n from messages where ticket_id = $1 and body = $2', [
      ticketId,
      body,
    ])
  ).rows[0].n;

const botPosts = () =>
  h.fake.requests({
    method: 'POST',
    route: '/channels/:channel_id/messages',
    path: `/channels/${thread}/messages`,
  });

describe('staff replies when the webhook fails', () => {
  it('a name Discord refuses for webhooks (50035) is posted by the bot instead', async () => {
    const before = botPosts().length;
    const a = await reply(dave, 'Hello from Dave');
    expect(a.content).toBe('Reply sent.');
    expect(botPosts().length).toBe(before + 1);
    expect(await recorded('Hello from Dave')).toBe(1);
  });

  it('a deleted webhook (10015): posted by the bot, then a new webhook is made and recorded', async () => {
    const old = (await h.db.admin.query('select discord_webhook_id from tickets where id = $1', [ticketId]))
      .rows[0].discord_webhook_id;
    expect(old).toBeTruthy();
    h.fake.state.webhooks.delete(old);
    const before = botPosts().length;
    const a = await reply(h.users.moderator, 'After the webhook was deleted');
    expect(a.content).toBe('Reply sent.');
    expect(botPosts().length).toBe(before + 1);
    expect(await recorded('After the webhook was deleted')).toBe(1);
    const now = (await h.db.admin.query('select discord_webhook_id from tickets where id = $1', [ticketId]))
      .rows[0].discord_webhook_id;
    expect(now).toBeTruthy();
    expect(now).not.toBe(old);
    expect(h.fake.state.webhooks.has(now)).toBe(true);
    // The next reply goes through the new webhook again.
    const b = await reply(h.users.moderator, 'Through the new webhook');
    expect(b.content).toBe('Reply sent.');
    const exec = h.fake.requests({ method: 'POST', route: '/webhooks/:webhook_id/:webhook_token' }).at(-1);
    expect(exec?.path).toContain(`/webhooks/${now}/`);
    expect(exec?.status).toBe(200);
  });

  it('canned replies fill {category}', async () => {
    const a = await reply(h.users.moderator, 'More soon.', 'cat');
    expect(a.content).toBe('Reply sent.');
    expect(await recorded('About your Bug report ticket #1.\n\nMore soon.')).toBe(1);
  });

  it('a canned reply sent from Discord never shows the player a raw {category} when the ticket has none', async () => {
    await h.db.admin.query('update tickets set category_id = null where id = $1', [ticketId]);
    const a = await reply(h.users.moderator, 'Soon.', 'cat');
    expect(a.content).toBe('Reply sent.');
    expect(await recorded('About your general ticket #1.\n\nSoon.')).toBe(1);
  });
});

describe('/ticket rename while Discord rate-limits channel renames', () => {
  it('answers at once and the channel name follows when the limit lifts, without holding a worker', async () => {
    // Discord allows two renames per channel per 10 minutes; the third waits for minutes. The
    // sync does not sit in that wait: it finishes the rest and comes back when the limit lifts.
    h.fake.rateLimitNext({ method: 'PATCH', path: `/channels/${thread}` }, 6, { count: 1 });
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'rename',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
      options: [{ name: 'subject', value: 'Renamed while limited' }],
    });
    expect(a.content).toBe('Renamed to “Renamed while limited”.');
    const delayed = async () =>
      (await (h.workers as NonNullable<typeof h.workers>).queues.get('discord').getDelayed()).some(
        (j) => j.name === 'discord.ticket_sync',
      );
    await settle(h, delayed);
    expect(h.fake.state.channels.get(thread)?.name).not.toBe('1-Renamed while limited');
    await settle(
      h,
      async () => h.fake.state.channels.get(thread)?.name === '1-Renamed while limited',
      15_000,
    );
    const t = await h.db.admin.query('select subject from tickets where id = $1', [ticketId]);
    expect(t.rows[0].subject).toBe('Renamed while limited');
  });
});

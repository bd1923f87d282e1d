import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { updateGuildSettings } from '../../db/guilds.js';
import { withTenant } from '../../db/tenant.js';
import { type Harness, interact, openThroughPanel, settle, startHarness, theTicket } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await withTenant(h.db.app, h.org.orgId, (tx) =>
    updateGuildSettings(
      tx,
      h.guild.id,
      { categories: { [h.category.id]: { mode: 'forum', channelId: h.guild.channels['help-forum'] ?? '' } } },
      SYSTEM,
    ),
  );
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe('a bystander writing in a public forum ticket', () => {
  it('does not act as the ticket’s player (status, close request)', async () => {
    await openThroughPanel(h);
    const { ticketId, thread } = await theTicket(h);
    const mod = (subcommand: string, options: { name: string; value: string }[] = []) =>
      interact(h, {
        kind: 'chatInput',
        name: 'ticket',
        subcommand,
        guildId: h.guild.id,
        channelId: thread,
        userId: h.users.moderator,
        options,
      });
    expect((await mod('close-request', [{ name: 'reason', value: 'Fixed in 1.2' }])).content).toMatch(
      /^Asked/,
    );
    expect((await mod('status', [{ name: 'status', value: 'pending' }])).content).toMatch(/pending/i);
    const lastPlayerMessageAt = async () =>
      (await h.db.admin.query('select last_player_message_at as at from tickets where id = $1', [ticketId]))
        .rows[0]?.at;
    const before = await lastPlayerMessageAt();
    h.fake.userMessage(thread, h.users.other, 'lol same bug here');
    await settle(
      h,
      async () =>
        ((await h.db.admin.query('select count(*)::int as n from messages where ticket_id = $1', [ticketId]))
          .rows[0]?.n ?? 0) >= 2,
    );
    const t = await h.db.admin.query('select status from tickets where id = $1', [ticketId]);
    const cr = await h.db.admin.query('select status from close_requests where ticket_id = $1', [ticketId]);
    expect({ status: t.rows[0]?.status, closeRequest: cr.rows[0]?.status }).toEqual({
      status: 'pending',
      closeRequest: 'pending',
    });
    // Kept, under the bystander's own name, marked as a participant's; not the player's reply.
    const kept = await h.db.admin.query(
      `select p.discord_user_id as "discordUserId", m.sentiment_label as sentiment, m.author_kind as kind,
         e.data->>'participant' as participant
       from messages m join player_profiles p on p.id = m.author_player_id
       join ticket_events e on e.ticket_id = m.ticket_id and e.type = 'message.created' and e.data->>'messageId' = m.id::text
       where m.ticket_id = $1 and m.body = 'lol same bug here'`,
      [ticketId],
    );
    expect(kept.rows).toEqual([
      { discordUserId: h.users.other, sentiment: null, kind: 'participant', participant: 'true' },
    ]);
    expect(await lastPlayerMessageAt()).toEqual(before);
    // The event says so too, which keeps "player replied" notifications and player-message rules away.
    const event = await h.db.admin.query(
      `select 1 from outbox where org_id = $1 and event_type = 'message.created' and (payload->>'participant')::boolean`,
      [h.org.orgId],
    );
    expect(event.rowCount).toBe(1);
  });

  it('the ticket’s own player writing still reopens it and answers the close request', async () => {
    const { ticketId, thread } = await theTicket(h);
    h.fake.userMessage(thread, h.users.player, 'still broken for me');
    await settle(
      h,
      async () =>
        (await h.db.admin.query('select status from tickets where id = $1', [ticketId])).rows[0]?.status ===
        'open',
    );
    const cr = await h.db.admin.query('select status from close_requests where ticket_id = $1', [ticketId]);
    expect(cr.rows[0]?.status).toBe('cancelled');
  });

  it('someone staff added with /ticket add wakes the ticket, still as a participant', async () => {
    const { ticketId, thread } = await theTicket(h);
    const mod = (subcommand: string, options: { name: string; value: string; type?: number }[]) =>
      interact(h, {
        kind: 'chatInput',
        name: 'ticket',
        subcommand,
        guildId: h.guild.id,
        channelId: thread,
        userId: h.users.moderator,
        options,
      });
    expect((await mod('status', [{ name: 'status', value: 'pending' }])).content).toMatch(/pending/i);
    expect((await mod('add', [{ name: 'user', value: h.users.other, type: 6 }])).content).toMatch(/added/);
    h.fake.userMessage(thread, h.users.other, 'I was there, he lost the sword at 20:10');
    await settle(
      h,
      async () =>
        (await h.db.admin.query('select status from tickets where id = $1', [ticketId])).rows[0]?.status ===
        'open',
    );
    const m = await h.db.admin.query(
      `select author_kind as kind from messages where ticket_id = $1 and body like 'I was there%'`,
      [ticketId],
    );
    expect(m.rows).toEqual([{ kind: 'participant' }]);
  });
});

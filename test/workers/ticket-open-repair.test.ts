import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncTicket } from '../../workers/ticket-sync.js';
import { type Harness, interact, openThroughPanel, settle, startHarness } from '../bot/harness.js';

/**
 * What the bot leaves of a ticket's Discord side after the commit is finished by the workers'
 * `discord.ticket_sync`, from what the ticket's own transaction recorded, not by a timer in the
 * bot: an opening whose summary failed survives the bot stopping, and a claim's notice is posted
 * by the job, once.
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ workers: true });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const latest = async () =>
  (
    await h.db.admin.query<{ id: string; number: number; thread: string; sid: string | null }>(
      `select id, number, discord_channel_id as thread, discord_summary_message_id as sid from tickets
       where org_id = $1 order by created_at desc limit 1`,
      [h.org.orgId],
    )
  ).rows[0];

const summaryPostsIn = (thread: string) =>
  h.fake
    .requests({ method: 'POST', path: `/channels/${thread}/messages` })
    .filter((r) => r.status === 200 && JSON.stringify(r.body).includes('gm:claim:'));

async function replayLatest(ticketId: string, type: string, openingOnly: boolean) {
  const o = await h.db.admin.query<{ id: string }>(
    'select id from outbox where aggregate_id = $1 and event_type = $2 order by id desc limit 1',
    [ticketId, type],
  );
  const deps = h.workers?.deps;
  if (!deps) throw new Error('workers not running');
  await syncTicket(deps, { orgId: h.org.orgId, ticketId, outboxId: Number(o.rows[0]?.id), openingOnly });
}

describe('post-commit Discord work as jobs', () => {
  it('a claim is acknowledged by the bot; the job posts the notice once', async () => {
    await openThroughPanel(h, { summary: 'claim me' }, h.users.other);
    const t = await latest();
    if (!t) throw new Error('no ticket');
    const botPosts = () => h.fake.requests({ method: 'POST', path: `/channels/${t.thread}/messages` }).length;
    const before = botPosts();
    await h.workers?.stop();
    h.workers = undefined;
    const claimed = await interact(h, {
      kind: 'button',
      guildId: h.guild.id,
      channelId: t.thread,
      userId: h.users.moderator,
      customId: `gm:claim:${t.id}`,
    });
    expect(claimed.content).toBe(`You claimed ticket #${t.number}.`);
    // With the workers away, nothing reached the thread: the bot only answered.
    expect(botPosts()).toBe(before);
    await h.startWorkers();
    const notice = `<@${h.users.moderator}> is taking care of this ticket.`;
    const notices = () =>
      [...(h.fake.state.messages.get(t.thread)?.values() ?? [])].filter((m) => m.content === notice);
    // The same job edits the summary after the notice, then lets go of the ticket.
    await settle(
      h,
      async () => {
        const side = await h.db.admin.query(
          'select claim, summary_hash from discord_ticket_sides where ticket_id = $1',
          [t.id],
        );
        return notices().length > 0 && side.rows[0]?.summary_hash != null && side.rows[0]?.claim == null;
      },
      15_000,
    );
    await replayLatest(t.id, 'ticket.assigned', false);
    expect(notices()).toHaveLength(1);
  });

  it('Discord failing after the ticket is saved, then the bot stopping: the job posts the summary once', async () => {
    await h.workers?.stop();
    h.workers = undefined;
    // Every message post into a new thread (the summary) fails; the bot gives up on it.
    h.fake.failNext(
      ((r: { method: string; route: string; path: string }) =>
        r.method === 'POST' &&
        r.route === '/channels/:channel_id/messages' &&
        !r.path.includes(h.guild.channels['support'] ?? '-')) as never,
      500,
      { count: 50 },
    );
    const { submit } = await openThroughPanel(h, { summary: 'summary fails' }, h.users.player);
    h.fake.faults.clear();
    expect(submit.content).toMatch(/Discord had a hiccup/);
    const t = await latest();
    if (!t) throw new Error('no ticket');
    expect(t.sid).toBeNull();
    expect(summaryPostsIn(t.thread)).toHaveLength(0);
    // What a timer in the bot would have lost: the process goes away before any repair.
    await h.bot.stop(2000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(summaryPostsIn(t.thread)).toHaveLength(0);

    await h.startWorkers();
    await settle(
      h,
      async () => {
        const r = await h.db.admin.query('select done_at from discord_ticket_openings where ticket_id = $1', [
          t.id,
        ]);
        return r.rows[0]?.done_at != null;
      },
      20_000,
    );
    const after = await latest();
    expect(summaryPostsIn(t.thread)).toHaveLength(1);
    // Done, the plan keeps no copy of the summary (the player's mention and answers) or reason.
    const plan = await h.db.admin.query(
      'select summary, reason from discord_ticket_openings where ticket_id = $1',
      [t.id],
    );
    expect(plan.rows).toEqual([{ summary: {}, reason: 'done' }]);
    // The summary recorded on the ticket is the one posted, with its buttons.
    const summary = h.fake.state.messages.get(t.thread)?.get(after?.sid ?? '-');
    expect(summary?.embeds[0]).toMatchObject({ title: expect.stringContaining(`Ticket #${t.number}`) });
    expect(JSON.stringify(summary?.components)).toContain(`gm:claim:${t.id}`);
    const hook = await h.db.admin.query(
      'select discord_webhook_id, discord_webhook_token from tickets where id = $1',
      [t.id],
    );
    expect(hook.rows[0].discord_webhook_id).toBeTruthy();

    // Replays of the opening job, and of a later sync, post nothing more.
    const count = h.fake.requests({}).length;
    await replayLatest(t.id, 'ticket.created', true);
    await replayLatest(t.id, 'ticket.created', false);
    expect(summaryPostsIn(t.thread)).toHaveLength(1);
    expect(
      h.fake
        .requests({})
        .slice(count)
        .filter((r) => r.method === 'POST' || r.method === 'PUT'),
    ).toHaveLength(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { updateGuildSettings } from '../../db/guilds.js';
import { erasePlayer } from '../../db/player-privacy.js';
import { withTenant } from '../../db/tenant.js';
import { setStatus } from '../../db/tickets.js';
import { autoCloseSweep } from '../../workers/auto-close.js';
import { syncTicket } from '../../workers/ticket-sync.js';
import { startTestApi, type TestApi } from '../api/support.js';
import { type Harness, interact, openThroughPanel, settle, startHarness } from '../bot/harness.js';

/**
 * Every close reaches Discord through the outbox and one worker job, `discord.ticket_sync`,
 * whoever made it: the bot's own button, the API (a second API instance too), auto-close. The
 * fake Discord's request log shows each step happening exactly once, and a replayed job doing
 * nothing at all.
 */

let h: Harness;
let api: TestApi;
let api2: TestApi;
let token: { token?: string };

beforeAll(async () => {
  h = await startHarness({ workers: true });
  api = await startTestApi(h.db.app);
  api2 = await startTestApi(h.db.app);
  token = await api.tokenFor(h.db.app, h.org.orgId, ['tickets:write']);
}, 60_000);

afterAll(async () => {
  await api2?.close();
  await api?.close();
  await h?.close();
});

/** Opens a ticket through the panel as `userId`; returns its id, number and thread. */
async function openTicket(userId: string) {
  await openThroughPanel(h, { summary: `Crash ${Math.random()}` }, userId);
  const r = await h.db.admin.query<{ id: string; number: number; discord_channel_id: string; sid: string }>(
    `select id, number, discord_channel_id, discord_summary_message_id as sid from tickets
     where org_id = $1 order by created_at desc limit 1`,
    [h.org.orgId],
  );
  const row = r.rows[0];
  if (!row) throw new Error('no ticket');
  return { ticketId: row.id, number: row.number, thread: row.discord_channel_id, summaryId: row.sid };
}

const side = async (ticketId: string) =>
  (
    await h.db.admin.query<{ applied_state: string; rating_prompt_message_id: string | null }>(
      'select applied_state, rating_prompt_message_id from discord_ticket_sides where ticket_id = $1',
      [ticketId],
    )
  ).rows[0];

const appliedState = (ticketId: string, state: 'open' | 'closed') => async () =>
  (await side(ticketId))?.applied_state === state;

/** What the workers sent to Discord about one ticket's thread and the transcript channel. */
function discordSide(thread: string, summaryId: string) {
  const transcripts = h.guild.channels['transcripts'] ?? '';
  return {
    transcriptPosts: h.fake
      .requests({ method: 'POST', path: `/channels/${transcripts}/messages` })
      .filter((r) => JSON.stringify(r.body).includes(`ticket-`)),
    lockPatches: h.fake.requests({ method: 'PATCH', path: `/channels/${thread}` }),
    threadPosts: h.fake.requests({ method: 'POST', path: `/channels/${thread}/messages` }),
    summaryEdits: h.fake.requests({ method: 'PATCH', path: `/channels/${thread}/messages/${summaryId}` }),
  };
}

async function transcriptPostsFor(number: number) {
  const transcripts = h.guild.channels['transcripts'] ?? '';
  return [...(h.fake.state.messages.get(transcripts)?.values() ?? [])].filter((m) =>
    m.content.startsWith(`Ticket #${number} `),
  );
}

/** Runs the job again by hand, as a replay after a lost acknowledgement would. */
async function replay(ticketId: string) {
  const o = await h.db.admin.query<{ id: string }>(
    `select id from outbox where aggregate_id = $1 and event_type = 'ticket.closed' order by id desc limit 1`,
    [ticketId],
  );
  const deps = h.workers?.deps;
  if (!deps) throw new Error('workers not running');
  await syncTicket(deps, {
    orgId: h.org.orgId,
    ticketId,
    outboxId: Number(o.rows[0]?.id),
    openingOnly: false,
  });
}

describe('discord.ticket_sync', () => {
  it('the bot’s own close only answers; the job summarises, posts the transcript and rating, then locks, once', async () => {
    const t = await openTicket(h.users.player);
    const before = h.fake.requests({}).length;
    const done = await interact(h, {
      kind: 'modalSubmit',
      guildId: h.guild.id,
      channelId: t.thread,
      userId: h.users.player,
      customId: `gm:closeform:${t.ticketId}`,
      fields: { reason: 'fixed' },
    });
    expect(done.content).toBe(`Ticket #${t.number} closed.`);
    await settle(h, appliedState(t.ticketId, 'closed'), 15_000);
    const d = discordSide(t.thread, t.summaryId);
    expect(await transcriptPostsFor(t.number)).toHaveLength(1);
    expect(d.lockPatches).toHaveLength(1);
    expect(d.lockPatches[0]?.body).toEqual({ locked: true, archived: true });
    expect(d.summaryEdits).toHaveLength(1);
    // The closing message went out while the thread could still take it, pointing the player at
    // their DM (the star buttons go by DM: Discord disables ordinary buttons in a locked thread).
    const rating = d.threadPosts.find((r) => JSON.stringify(r.body).includes('The bot sent you a message'));
    expect(rating).toBeDefined();
    expect(JSON.stringify(rating?.body)).not.toContain('/rate/');
    expect((rating?.at ?? 0) <= (d.lockPatches[0]?.at ?? 0)).toBe(true);
    expect(
      h.fake
        .requests({})
        .slice(before)
        .indexOf(rating as never),
    ).toBeLessThan(
      h.fake
        .requests({})
        .slice(before)
        .indexOf(d.lockPatches[0] as never),
    );
    const meta = h.fake.state.channels.get(t.thread)?.thread_metadata;
    expect(meta).toMatchObject({ archived: true, locked: true });
    expect(h.objects.get(`orgs/${h.org.orgId}/transcripts/${t.ticketId}.html`)?.toString()).toContain(
      `Ticket #${t.number}`,
    );

    // A replay of the job (and a second close event's job) changes nothing on Discord.
    const count = h.fake.requests({}).length;
    await replay(t.ticketId);
    expect(h.fake.requests({}).length).toBe(count);
  });

  it('posts whose answers are lost on the way back are sent again and land once (Discord’s enforced nonce)', async () => {
    const t = await openTicket(h.users.other);
    const transcripts = h.guild.channels['transcripts'] ?? '';
    // Discord carries out the transcript post and the closing message, but the answers never
    // arrive: the job fails, runs again, and sends the same posts a second time.
    h.fake.loseAnswerNext({ method: 'POST', path: `/api/v10/channels/${transcripts}/messages` });
    h.fake.loseAnswerNext({ method: 'POST', path: `/api/v10/channels/${t.thread}/messages` });
    const close = await api.call(token, {
      method: 'POST',
      url: `/v1/orgs/${h.org.orgId}/tickets/${t.ticketId}/close`,
      payload: {},
    });
    expect(close.statusCode).toBe(200);
    await settle(h, appliedState(t.ticketId, 'closed'), 15_000);
    const d = discordSide(t.thread, t.summaryId);
    expect(d.transcriptPosts.filter((r) => r.answerLost)).toHaveLength(1);
    expect(d.transcriptPosts.length).toBeGreaterThan(1);
    expect(d.threadPosts.filter((r) => r.answerLost)).toHaveLength(1);
    expect(await transcriptPostsFor(t.number)).toHaveLength(1);
    const closing = [...(h.fake.state.messages.get(t.thread)?.values() ?? [])].filter((m) =>
      m.content.includes('This ticket was closed'),
    );
    expect(closing).toHaveLength(1);
    expect(d.lockPatches).toHaveLength(1);
  });

  it('a close from the API reaches the thread; a reopen from the API unlocks it with one notice', async () => {
    const t = await openTicket(h.users.other);
    const close = await api.call(token, {
      method: 'POST',
      url: `/v1/orgs/${h.org.orgId}/tickets/${t.ticketId}/close`,
      payload: { reason: 'answered by mail' },
    });
    expect(close.statusCode).toBe(200);
    await settle(h, appliedState(t.ticketId, 'closed'), 15_000);
    expect(h.fake.state.channels.get(t.thread)?.thread_metadata).toMatchObject({
      archived: true,
      locked: true,
    });
    const closing = discordSide(t.thread, t.summaryId).threadPosts.find((r) =>
      JSON.stringify(r.body).includes('answered by mail'),
    );
    expect(closing).toBeDefined();
    expect(await transcriptPostsFor(t.number)).toHaveLength(1);

    const reopen = await api.call(token, {
      method: 'POST',
      url: `/v1/orgs/${h.org.orgId}/tickets/${t.ticketId}/reopen`,
      payload: {},
    });
    expect(reopen.statusCode).toBe(200);
    await settle(h, appliedState(t.ticketId, 'open'), 15_000);
    expect(h.fake.state.channels.get(t.thread)?.thread_metadata).toMatchObject({
      archived: false,
      locked: false,
    });
    await settle(h, async () =>
      discordSide(t.thread, t.summaryId).threadPosts.some((r) =>
        JSON.stringify(r.body).includes('Ticket reopened'),
      ),
    );
    const summary = h.fake.state.messages.get(t.thread)?.get(t.summaryId);
    await settle(h, async () =>
      JSON.stringify(h.fake.state.messages.get(t.thread)?.get(t.summaryId)?.components ?? []).includes(
        'gm:claim:',
      ),
    );
    expect(summary?.embeds[0]).toMatchObject({ footer: { text: expect.stringMatching(/Status: open/) } });
    // Claiming a closed ticket is refused; this one is open again, so it works.
    const claimed = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'claim',
      guildId: h.guild.id,
      channelId: t.thread,
      userId: h.users.moderator,
    });
    expect(claimed.content).toBe(`You claimed ticket #${t.number}.`);
  });

  it('an auto-close (a system close) reaches the thread the same way', async () => {
    const t = await openTicket(h.users.agent);
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      setStatus(tx, { ticketId: t.ticketId, status: 'closed', reason: 'inactive' }, SYSTEM),
    );
    await settle(h, appliedState(t.ticketId, 'closed'), 15_000);
    const posts = await transcriptPostsFor(t.number);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.content).toContain('Closed automatically: inactive');
    expect(discordSide(t.thread, t.summaryId).lockPatches).toHaveLength(1);
    const refused = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'claim',
      guildId: h.guild.id,
      channelId: t.thread,
      userId: h.users.moderator,
    });
    expect(refused.content).toMatch(/is closed; reopen it before assigning it/);
  });

  it('a job takes back the claim its failed attempt could not give up, instead of waiting it out', async () => {
    const t = await openTicket(h.users.agent);
    // What an attempt that lost the database leaves: its claim, two minutes from lapsing.
    await h.db.admin.query(
      `insert into discord_ticket_sides (org_id, ticket_id, claim, claimed_until)
       values ($1, $2, 'job:sync-retry', now() + interval '2 minutes')
       on conflict (org_id, ticket_id) do update set claim = excluded.claim, claimed_until = excluded.claimed_until`,
      [h.org.orgId, t.ticketId],
    );
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      setStatus(tx, { ticketId: t.ticketId, status: 'closed', reason: 'inactive' }, SYSTEM),
    );
    const o = await h.db.admin.query<{ id: string }>(
      `select id from outbox where aggregate_id = $1 and event_type = 'ticket.closed'`,
      [t.ticketId],
    );
    const deps = h.workers?.deps;
    if (!deps) throw new Error('workers not running');
    const data = {
      orgId: h.org.orgId,
      ticketId: t.ticketId,
      outboxId: Number(o.rows[0]?.id),
      openingOnly: false,
    };
    // Another job finds the ticket claimed and retries later.
    await expect(syncTicket(deps, data, 'another-job')).rejects.toThrow(/another run is syncing/);
    // The claim's own job, on its next attempt, goes ahead.
    await syncTicket(deps, data, 'sync-retry');
    expect((await side(t.ticketId))?.applied_state).toBe('closed');
    expect(discordSide(t.thread, t.summaryId).lockPatches).toHaveLength(1);
  });

  it('a player writing in a closed ticket reopens it within the window, else gets a way to open a new one', async () => {
    const t = await openTicket(h.users.player);
    const closeIt = async () => {
      const r = await api.call(token, {
        method: 'POST',
        url: `/v1/orgs/${h.org.orgId}/tickets/${t.ticketId}/close`,
        payload: {},
      });
      expect(r.statusCode).toBe(200);
      await settle(h, appliedState(t.ticketId, 'closed'), 15_000);
    };
    await closeIt();
    const back = h.fake.userMessage(t.thread, h.users.player, 'still broken after all');
    await settle(h, appliedState(t.ticketId, 'open'), 15_000);
    const status = async () =>
      (await h.db.admin.query('select status from tickets where id = $1', [t.ticketId])).rows[0].status;
    expect(await status()).toBe('open');
    const recorded = await h.db.admin.query('select 1 from messages where external_id = $1', [back.id]);
    expect(recorded.rowCount).toBe(1);

    // Past the window (0: never reopen), the player is answered with a button to open a new ticket.
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      updateGuildSettings(tx, h.guild.id, { reopenWindowHours: 0 }, SYSTEM),
    );
    await closeIt();
    const late = h.fake.userMessage(t.thread, h.users.player, 'hello?');
    const notice = await h.fake.waitForRequest(
      (r) =>
        r.method === 'POST' &&
        r.path.endsWith(`/channels/${t.thread}/messages`) &&
        JSON.stringify(r.body).includes(late.id),
      10_000,
    );
    expect(JSON.stringify(notice.body)).toContain(`gm:open:${h.category.id}`);
    expect(JSON.stringify(notice.body)).toContain('Open a new ticket');
    expect(await status()).toBe('closed');
    expect(
      (await h.db.admin.query('select 1 from messages where external_id = $1', [late.id])).rowCount,
    ).toBe(0);
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      updateGuildSettings(tx, h.guild.id, { reopenWindowHours: 48 }, SYSTEM),
    );
  });

  it('closes from the API, auto-close and a second API instance while the bot is cut off from the gateway land once; the same bot reconnects and changes nothing', async () => {
    const viaApi = await openTicket(h.users.other);
    const viaAutoClose = await openTicket(h.users.agent);
    const viaApi2 = await openTicket(h.users.owner);
    const stillOpen = await openTicket(h.users.player);
    const closed = [viaApi, viaAutoClose, viaApi2];
    const identifies = h.fake.frames({ direction: 'in', op: 2 }).length;
    const resumes = h.fake.frames({ direction: 'in', op: 6 }).length;

    const refusedBefore = h.fake.gateway.refusedConnections;
    h.fake.cutGateway();
    await settle(h, async () => h.fake.gateway.connectedShards().length === 0);
    const close = (app: TestApi, ticketId: string) =>
      app.call(token, {
        method: 'POST',
        url: `/v1/orgs/${h.org.orgId}/tickets/${ticketId}/close`,
        payload: {},
      });
    expect((await close(api, viaApi.ticketId)).statusCode).toBe(200);
    expect((await close(api2, viaApi2.ticketId)).statusCode).toBe(200);
    // Auto-close as the scheduler runs it: a pending ticket past the org's limit is warned, then
    // closed once the grace period is over (its wait moved back in the database instead of waiting:
    // the sweep measures on the database's clock).
    await h.db.admin.query('update organizations set inactivity_close_hours = 1 where id = $1', [
      h.org.orgId,
    ]);
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      setStatus(tx, { ticketId: viaAutoClose.ticketId, status: 'pending' }, h.org.owner),
    );
    const deps = h.workers?.deps;
    if (!deps) throw new Error('workers not running');
    const waitBack = (hours: number) =>
      h.db.admin.query(
        `update tickets set created_at = created_at - $2::interval,
           last_staff_message_at = last_staff_message_at - $2::interval,
           last_player_message_at = last_player_message_at - $2::interval,
           pending_since = pending_since - $2::interval,
           inactivity_warned_at = inactivity_warned_at - $2::interval where id = $1`,
        [viaAutoClose.ticketId, `${hours} hours`],
      );
    await waitBack(2);
    expect(await autoCloseSweep(deps)).toMatchObject({ warned: 1, closed: 0 });
    await waitBack(2);
    expect(await autoCloseSweep(deps)).toMatchObject({ closed: 1 });
    await h.db.admin.query('update organizations set inactivity_close_hours = null where id = $1', [
      h.org.orgId,
    ]);

    // The workers reach Discord over REST while the bot has no gateway connection.
    for (const t of closed) await settle(h, appliedState(t.ticketId, 'closed'), 15_000);
    expect(h.fake.gateway.connectedShards()).toEqual([]);

    // Let one of the bot's reconnect attempts fail first, as in a real outage.
    await settle(h, async () => h.fake.gateway.refusedConnections > refusedBefore, 15_000);
    const back = h.fake.waitForFrame(
      (f) => f.direction === 'out' && (f.t === 'READY' || f.t === 'RESUMED'),
      30_000,
    );
    h.fake.restoreGateway();
    await back;
    // The same process came back on its own: a connection that failed on a network error makes
    // @discordjs/ws drop its session, so it identifies again (a resume, had it got one, counts too).
    expect(
      h.fake.frames({ direction: 'in', op: 2 }).length + h.fake.frames({ direction: 'in', op: 6 }).length,
    ).toBe(identifies + resumes + 1);
    // A message sent after that is recorded only once the bot has worked through what came before.
    const marker = h.fake.userMessage(stillOpen.thread, h.users.player, 'written after the outage');
    await settle(
      h,
      async () =>
        (await h.db.admin.query('select 1 from messages where external_id = $1', [marker.id])).rowCount === 1,
      15_000,
    );

    for (const t of closed) {
      const sent = discordSide(t.thread, t.summaryId);
      expect(h.fake.state.channels.get(t.thread)?.thread_metadata).toMatchObject({
        archived: true,
        locked: true,
      });
      expect(sent.lockPatches).toHaveLength(1);
      // Summarised once as closed. The auto-closed one went pending first: that edit may have
      // been made on its own or folded into the close's, depending on when its job ran.
      const edits = sent.summaryEdits.map((r) => JSON.stringify(r.body));
      expect(edits.filter((b) => b.includes('Status: closed'))).toHaveLength(1);
      const others = edits.filter((b) => !b.includes('Status: closed'));
      expect(others.length).toBeLessThanOrEqual(t === viaAutoClose ? 1 : 0);
      for (const b of others) expect(b).toContain('Status: pending');
      expect(await transcriptPostsFor(t.number)).toHaveLength(1);
      expect(
        sent.threadPosts.filter((r) => JSON.stringify(r.body).includes('This ticket was closed')),
      ).toHaveLength(1);
      expect((await side(t.ticketId))?.applied_state).toBe('closed');
    }
    // Nothing Discord-side moves afterwards either: once the Discord queue is idle (the rating
    // DMs go out after the lock), running the close jobs again sends nothing.
    const discordQueue = deps.queues.get('discord');
    await settle(
      h,
      async () => {
        const c = await discordQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return Object.values(c).every((n) => n === 0);
      },
      15_000,
    );
    const count = h.fake.requests({}).length;
    for (const t of closed) await replay(t.ticketId);
    expect(h.fake.requests({}).length).toBe(count);
  }, 90_000);

  it("erasing a player renames every ticket's thread that named them, the closed one too, and leaves it closed", async () => {
    const erin = h.fake.addUser({ username: 'erin', globalName: 'Erin Erasable' }).id;
    h.fake.addMember(h.guild.id, erin);
    const open = await openTicket(erin);
    const closed = await openTicket(erin);
    const close = await api.call(token, {
      method: 'POST',
      url: `/v1/orgs/${h.org.orgId}/tickets/${closed.ticketId}/close`,
      payload: {},
    });
    expect(close.statusCode).toBe(200);
    await settle(h, appliedState(closed.ticketId, 'closed'), 15_000);
    const name = (thread: string) => h.fake.state.channels.get(thread)?.name ?? '';
    expect(name(open.thread)).toContain('Erin Erasable');
    expect(name(closed.thread)).toContain('Erin Erasable');
    const requester = await h.db.admin.query<{ requester_id: string }>(
      'select requester_id from tickets where id = $1',
      [open.ticketId],
    );
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      erasePlayer(tx, requester.rows[0]?.requester_id as string, h.org.owner),
    );
    await settle(
      h,
      async () => !name(open.thread).includes('Erin') && !name(closed.thread).includes('Erin'),
      15_000,
    ).catch(() => {});
    expect([name(open.thread), name(closed.thread)]).toEqual([
      `${open.number}-Ticket #${open.number}`,
      `${closed.number}-Ticket #${closed.number}`,
    ]);
    expect(h.fake.state.channels.get(closed.thread)?.thread_metadata).toMatchObject({
      archived: true,
      locked: true,
    });
  });

  it('a close from a second API instance while the bot and workers are down lands once they are back', async () => {
    const t = await openTicket(h.users.owner);
    await h.workers?.stop();
    h.workers = undefined;
    await h.bot.stop(2000);
    const close = await api2.call(token, {
      method: 'POST',
      url: `/v1/orgs/${h.org.orgId}/tickets/${t.ticketId}/close`,
      payload: {},
    });
    expect(close.statusCode).toBe(200);
    const before = discordSide(t.thread, t.summaryId);
    expect(before.lockPatches).toHaveLength(0);
    await h.startWorkers();
    await settle(h, appliedState(t.ticketId, 'closed'), 15_000);
    const after = discordSide(t.thread, t.summaryId);
    expect(after.lockPatches).toHaveLength(1);
    expect(after.summaryEdits).toHaveLength(1);
    expect(await transcriptPostsFor(t.number)).toHaveLength(1);
    expect(
      after.threadPosts.filter((r) => JSON.stringify(r.body).includes('This ticket was closed')),
    ).toHaveLength(1);
    const count = h.fake.requests({}).length;
    await replay(t.ticketId);
    expect(h.fake.requests({}).length).toBe(count);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../workers/clock.js';
import type { OptionInput } from '../support/fake-discord/index.js';
import { type Harness, interact, openThroughPanel, settle, startHarness } from './harness.js';

// Close requests and `/ticket notes`, end to end: the real bot and the workers against the
// strict fake Discord, on a real database and Redis. A request's wait is moved in the database
// (its due time), the clock expiries are judged by; the expiry job itself is the delayed job the
// relay put in Redis. The workers' own clock can be set ahead, to show it does not count.

let workerAheadMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + workerAheadMs) };
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ workers: true, clock });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

interface Opened {
  id: string;
  number: number;
  thread: string;
}

async function openTicket(userId = h.users.player, summary = 'The game crashes on start'): Promise<Opened> {
  await openThroughPanel(h, { summary, steps: 'Launch it' }, userId);
  const r = await h.db.admin.query(
    `select id, number, subject, discord_channel_id as thread from tickets where org_id = $1 order by number desc limit 1`,
    [h.org.orgId],
  );
  // The newest ticket is this one (a refused open would leave an older one there).
  expect(r.rows[0].subject).toBe(`Bug report: ${summary}`);
  return r.rows[0];
}

const command = (t: Opened, userId: string, subcommand: string, options?: OptionInput[]) =>
  interact(h, {
    kind: 'chatInput',
    name: 'ticket',
    subcommand,
    guildId: h.guild.id,
    channelId: t.thread,
    userId,
    ...(options ? { options } : {}),
  });

const requestRow = async (ticketId: string) =>
  (
    await h.db.admin.query(
      `select id, status, cancel_reason, discord_message_id, settled_message from close_requests
       where ticket_id = $1 order by created_at desc limit 1`,
      [ticketId],
    )
  ).rows[0];

/** Moves a request's due time to `ago` before the database's now, as if its wait had passed. */
const dueAgo = (requestId: string, ago: string) =>
  h.db.admin.query(`update close_requests set due_at = now() - $2::interval where id = $1`, [requestId, ago]);

const messageIn = (channelId: string, id: string) => h.fake.state.messages.get(channelId)?.get(id);

/** Waits until the workers posted the request message, and returns it. */
async function requestMessage(t: Opened) {
  await settle(h, async () => !!(await requestRow(t.id))?.discord_message_id, 15_000);
  const row = await requestRow(t.id);
  const m = messageIn(t.thread, row.discord_message_id);
  if (!m) throw new Error('the request message is not in the thread');
  return { row, message: m };
}

const press = (t: Opened, messageId: string, customId: string, userId: string) =>
  interact(h, { kind: 'button', guildId: h.guild.id, channelId: t.thread, userId, customId, messageId });

describe('/ticket notes', () => {
  it('shows staff the notes ephemerally, refuses players, never posts them', async () => {
    const t = await openTicket();
    const secret = 'Player was banned before for chargebacks';
    const saved = await command(t, h.users.moderator, 'note', [{ name: 'text', value: secret }]);
    expect(saved.content).toBe('Internal note saved (not shown to the player).');
    await command(t, h.users.agent, 'note', [{ name: 'text', value: 'Second look: logs attached' }]);

    const read = await command(t, h.users.moderator, 'notes');
    // The deferred acknowledgement is ephemeral, so the edit that carries the notes is too.
    const first = await read.handle.response;
    expect((first?.data as { flags?: number } | undefined)?.flags).toBe(64);
    const embed = (
      read.data as { embeds: { title: string; description: string; footer: { text: string } }[] }
    ).embeds[0];
    expect(embed?.title).toBe(`Internal notes · ticket #${t.number}`);
    // Newest first, each with its author.
    expect(embed?.description).toMatch(
      /^\*\*agent\*\* · <t:\d+:f>\nSecond look: logs attached\n\n\*\*Mod Erator\*\*/,
    );
    expect(embed?.description).toContain(secret);
    expect(embed?.footer.text).toBe('Page 1 of 1 · 2 notes, newest first · only you can see this');

    const refused = await command(t, h.users.player, 'notes');
    expect(refused.content).toContain('You need the `tickets.read` permission for this.');
    expect(JSON.stringify(refused.data)).not.toContain(secret);

    const tooFar = await command(t, h.users.moderator, 'notes', [{ name: 'page', value: 3 }]);
    expect(tooFar.content).toBe('There is 1 page of notes; ask for page 1.');

    // Nothing carrying a note ever went to a channel (the thread, the DM, the transcripts).
    const posts = h.fake
      .requests({ method: 'POST' })
      .filter((r) => /\/channels\/\d+\/messages$/.test(r.path));
    expect(posts.length).toBeGreaterThan(0);
    expect(JSON.stringify(posts.map((r) => r.body))).not.toContain('chargebacks');
  });

  it('pages long notes within Discord’s embed limits', async () => {
    const t = await openTicket(h.users.other, 'Many notes');
    for (let n = 1; n <= 4; n++)
      await command(t, h.users.moderator, 'note', [{ name: 'text', value: `${n}: ${'x'.repeat(1_900)}` }]);
    const one = await command(t, h.users.moderator, 'notes');
    const d1 = (one.data as { embeds: { description: string; footer: { text: string } }[] }).embeds[0];
    expect(d1?.footer.text).toMatch(/^Page 1 of 2 · 4 notes/);
    expect(d1?.description.length).toBeLessThanOrEqual(4096);
    expect(d1?.description).toContain('4: xxx');
    expect(d1?.description).toContain('(cut: the whole note is in the panel)');
    const two = await command(t, h.users.moderator, 'notes', [{ name: 'page', value: 2 }]);
    const d2 = (two.data as { embeds: { description: string }[] }).embeds[0];
    expect(d2?.description).toContain('1: xxx');
  });
});

describe('close requests', () => {
  it('confirmed by the player: closes as the player; other people cannot press the buttons', async () => {
    const t = await openTicket();
    const asked = await command(t, h.users.moderator, 'close-request', [
      { name: 'reason', value: 'Fixed in 1.2' },
    ]);
    expect(asked.content).toMatch(
      new RegExp(
        `^Asked <@${h.users.player}> to confirm closing ticket #${t.number}\\. Without an answer it closes <t:\\d+:R>`,
      ),
    );
    const { row, message } = await requestMessage(t);
    expect(message.content).toContain('Mod Erator thinks this ticket can be closed: Fixed in 1.2');
    expect(JSON.stringify(message.components)).toContain(`gm:closereq:${row.id}:yes`);

    // Staff and other players are refused, and nothing changes.
    for (const who of [h.users.other, h.users.moderator]) {
      const no = await press(t, message.id, `gm:closereq:${row.id}:yes`, who);
      expect(no.content).toBe(`Only the player who opened ticket #${t.number} can answer this.`);
    }
    expect((await requestRow(t.id)).status).toBe('pending');

    const yes = await press(t, message.id, `gm:closereq:${row.id}:yes`, h.users.player);
    expect(yes.content).toBe(`Thanks! Ticket #${t.number} is closed.`);
    const ticket = (await h.db.admin.query('select status, close_reason from tickets where id = $1', [t.id]))
      .rows[0];
    expect(ticket).toEqual({ status: 'closed', close_reason: 'Fixed in 1.2' });
    // The message says what happened and loses its buttons before the thread is locked.
    await settle(
      h,
      async () => h.fake.state.channels.get(t.thread)?.thread_metadata?.locked === true,
      15_000,
    );
    expect(messageIn(t.thread, message.id)).toMatchObject({
      content: 'Close request: Player One confirmed, and the ticket was closed.',
      components: [],
    });
    expect(await requestRow(t.id)).toMatchObject({ status: 'confirmed', settled_message: true });
    const history = await h.db.admin.query(
      `select type, actor_type from ticket_events where ticket_id = $1 and type like 'ticket.close%' order by id`,
      [t.id],
    );
    expect(history.rows).toEqual([
      { type: 'ticket.close_requested', actor_type: 'user' },
      { type: 'ticket.close_request_confirmed', actor_type: 'player' },
      { type: 'ticket.closed', actor_type: 'player' },
    ]);
    const audit = await h.db.admin.query(
      `select action from audit_logs where target_id = $1 and action = 'ticket.close_requested'`,
      [t.id],
    );
    expect(audit.rows).toHaveLength(1);
  });

  it('declined: recorded, staff are told, the ticket stays open; a player’s reply withdraws the next one', async () => {
    const t = await openTicket();
    await command(t, h.users.moderator, 'close-request');
    const { row, message } = await requestMessage(t);
    const again = await command(t, h.users.moderator, 'close-request');
    expect(again.content).toBe(
      `A close request for ticket #${t.number} is already waiting for the player's answer.`,
    );
    const no = await press(t, message.id, `gm:closereq:${row.id}:no`, h.users.player);
    expect(no.content).toBe(
      `Got it: ticket #${t.number} stays open, and staff have been told you still need help.`,
    );
    await settle(h, async () => (await requestRow(t.id)).settled_message === true, 15_000);
    const notice = [...(h.fake.state.messages.get(t.thread)?.values() ?? [])].find((m) =>
      m.content.includes('declined the close request'),
    );
    expect(notice?.content).toBe(
      `<@${h.users.moderator}> Player One declined the close request: they still need help.`,
    );
    expect(messageIn(t.thread, message.id)?.components).toEqual([]);
    expect((await h.db.admin.query('select status from tickets where id = $1', [t.id])).rows[0].status).toBe(
      'open',
    );
    // A press after the answer (a stale client, a replay) changes nothing.
    const late = await press(t, message.id, `gm:closereq:${row.id}:yes`, h.users.player);
    expect(late.content).toBe('This close request was already declined.');
    expect((await h.db.admin.query('select status from tickets where id = $1', [t.id])).rows[0].status).toBe(
      'open',
    );

    await command(t, h.users.moderator, 'close-request', [{ name: 'after', value: '2h' }]);
    const second = await requestMessage(t);
    const reply = h.fake.userMessage(t.thread, h.users.player, 'Wait, it crashed again');
    await settle(h, async () => (await requestRow(t.id)).status === 'cancelled', 15_000);
    expect((await requestRow(t.id)).cancel_reason).toBe('player_replied');
    await settle(h, async () => (await requestRow(t.id)).settled_message === true, 15_000);
    expect(messageIn(t.thread, second.message.id)).toMatchObject({
      content: 'Close request withdrawn: Player One replied.',
      components: [],
    });
    expect(reply.id).toBeTruthy();
  });

  it('refuses a bad wait and players asking', async () => {
    const t = await openTicket(h.users.other, 'Refusals');
    const bad = await command(t, h.users.moderator, 'close-request', [{ name: 'after', value: 'soon' }]);
    expect(bad.content).toBe('“after” is a wait like 30m, 2h or 3d: from 1 minute to 30 days.');
    const forged = await interact(h, {
      kind: 'button',
      guildId: h.guild.id,
      channelId: t.thread,
      userId: h.users.other,
      customId: 'gm:closereq:not-a-request:yes',
    });
    expect(forged.content).toBe('This button is not valid any more.');
    const player = await command(t, h.users.other, 'close-request');
    expect(player.content).toContain('You need the `tickets.close` permission for this.');
    expect(await requestRow(t.id)).toBeUndefined();
  });

  it('no answer: the delayed job survives a workers restart and closes the ticket when due', async () => {
    const t = await openTicket(h.users.other, 'Timeout');
    await command(t, h.users.moderator, 'close-request', [{ name: 'after', value: '1m' }]);
    const { row, message } = await requestMessage(t);
    const jobId = `cre-${row.id}`;
    const job = async () => h.workers?.queues.get('timers').getJob(jobId);
    await settle(h, async () => (await (await job())?.getState()) === 'delayed');

    // A restart: the expiry waits in Redis, not in a timer of the process that stopped.
    await h.workers?.stop();
    await h.startWorkers();
    expect(await (await job())?.getState()).toBe('delayed');
    expect((await requestRow(t.id)).status).toBe('pending');

    // Run early (the database says it is not due yet): nothing closes.
    await (await job())?.promote();
    await settle(h, async () => (await (await job())?.getState()) === 'completed');
    expect((await requestRow(t.id)).status).toBe('pending');

    await dueAgo(row.id, '1 second');
    const retry = h.workers?.queues.get('timers');
    const later = (await retry?.getDelayed())?.find((j) => j.id?.startsWith(`${jobId}-`));
    expect(later).toBeDefined();
    await later?.promote();
    await settle(h, async () => (await requestRow(t.id)).status === 'timed_out', 15_000);
    const ticket = (await h.db.admin.query('select status, close_reason from tickets where id = $1', [t.id]))
      .rows[0];
    expect(ticket).toEqual({ status: 'closed', close_reason: 'No answer to the close request' });
    await settle(
      h,
      async () => h.fake.state.channels.get(t.thread)?.thread_metadata?.locked === true,
      15_000,
    );
    expect(messageIn(t.thread, message.id)).toMatchObject({
      content: 'Close request: no answer in time, so the ticket was closed.',
      components: [],
    });
    const closedBy = await h.db.admin.query(
      `select actor_type from ticket_events where ticket_id = $1 and type = 'ticket.closed'`,
      [t.id],
    );
    expect(closedBy.rows).toEqual([{ actor_type: 'system' }]);
  });

  it('a reopen withdraws a pending request on a solved ticket', async () => {
    const t = await openTicket(h.users.other, 'Solved then reopened');
    await command(t, h.users.moderator, 'status', [{ name: 'status', value: 'solved' }]);
    await command(t, h.users.moderator, 'close-request');
    const { message } = await requestMessage(t);
    const reopened = await command(t, h.users.moderator, 'reopen');
    expect(reopened.content).toBe(`Ticket #${t.number} reopened.`);
    await settle(h, async () => (await requestRow(t.id)).settled_message === true, 15_000);
    expect(await requestRow(t.id)).toMatchObject({ status: 'cancelled', cancel_reason: 'reopened' });
    expect(messageIn(t.thread, message.id)?.content).toBe(
      'Close request withdrawn: the ticket was reopened.',
    );
  });

  it('a request whose delayed job Redis lost is closed by the sweep', async () => {
    const t = await openTicket(h.users.player, 'Lost job');
    await command(t, h.users.moderator, 'close-request', [{ name: 'after', value: '1m' }]);
    const { row } = await requestMessage(t);
    const timers = h.workers?.queues.get('timers');
    await settle(h, async () => (await (await timers?.getJob(`cre-${row.id}`))?.getState()) === 'delayed');
    await (await timers?.getJob(`cre-${row.id}`))?.remove();
    // Not overdue yet by more than a minute: the sweep leaves it.
    await dueAgo(row.id, '30 seconds');
    await h.workers?.queues.enqueue('autoclose.sweep', {}, { jobId: 'sweep-early' });
    const maint = h.workers?.queues.get('maintenance');
    await settle(h, async () => (await maint?.getJob('sweep-early'))?.finishedOn !== undefined);
    expect((await requestRow(t.id)).status).toBe('pending');
    await dueAgo(row.id, '2 minutes');
    await h.workers?.queues.enqueue('autoclose.sweep', {}, { jobId: 'sweep-late' });
    await settle(h, async () => (await requestRow(t.id)).status === 'timed_out', 15_000);
    expect((await h.db.admin.query('select status from tickets where id = $1', [t.id])).rows[0].status).toBe(
      'closed',
    );
  });

  it("counts the player's time on the database's clock: a worker 2 h ahead does not expire a request early", async () => {
    const t = await openTicket(h.users.player, 'Clock ahead');
    await command(t, h.users.moderator, 'close-request', [{ name: 'after', value: '1h' }]);
    const { row } = await requestMessage(t);
    const timers = h.workers?.queues.get('timers');
    const jobId = `cre-${row.id}`;
    await settle(h, async () => (await (await timers?.getJob(jobId))?.getState()) === 'delayed');
    // This worker's clock is 2 hours ahead of the database's: the player really has an hour left.
    workerAheadMs = 2 * 3_600_000;
    try {
      await (await timers?.getJob(jobId))?.promote();
      await settle(h, async () => (await (await timers?.getJob(jobId))?.getState()) === 'completed');
      expect((await requestRow(t.id)).status).toBe('pending');
      await h.workers?.queues.enqueue('autoclose.sweep', {}, { jobId: 'sweep-clock-ahead' });
      const maint = h.workers?.queues.get('maintenance');
      await settle(h, async () => (await maint?.getJob('sweep-clock-ahead'))?.finishedOn !== undefined);
      expect((await requestRow(t.id)).status).toBe('pending');
      // The early job came back for the rest of the wait as the database counts it: about an hour.
      const later = (await timers?.getDelayed())?.find((j) => j.id?.startsWith(`${jobId}-`));
      expect(later?.opts.delay).toBeGreaterThan(3_500_000);
      expect(later?.opts.delay).toBeLessThanOrEqual(3_600_000);
      await later?.remove();
    } finally {
      workerAheadMs = 0;
    }
  });

  it('a request withdrawn and asked again while the workers were down: both messages come right', async () => {
    const t = await openTicket(h.users.owner, 'Asked twice');
    await command(t, h.users.moderator, 'close-request');
    const first = await requestMessage(t);
    await h.workers?.stop();
    h.fake.userMessage(t.thread, h.users.owner, 'Still broken');
    await settle(h, async () => (await requestRow(t.id)).status === 'cancelled', 15_000);
    await command(t, h.users.moderator, 'close-request', [{ name: 'reason', value: 'Patched again' }]);
    expect((await requestRow(t.id)).id).not.toBe(first.row.id);
    await h.startWorkers();
    await settle(h, async () => !!(await requestRow(t.id)).discord_message_id, 15_000);
    const settled = async () =>
      (await h.db.admin.query('select settled_message from close_requests where id = $1', [first.row.id]))
        .rows[0].settled_message === true;
    await settle(h, settled, 15_000);
    expect(messageIn(t.thread, first.message.id)).toMatchObject({
      content: 'Close request withdrawn: owner replied.',
      components: [],
    });
    const posted = messageIn(t.thread, (await requestRow(t.id)).discord_message_id);
    expect(posted?.content).toContain('thinks this ticket can be closed: Patched again');
  });
});

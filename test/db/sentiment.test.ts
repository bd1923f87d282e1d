import { describe, expect, it } from 'vitest';
import { recordDiscordDelete, recordDiscordEdit } from '../../db/discord-sync.js';
import { openChannel, postMessage } from '../../db/messages.js';
import { erasePlayer } from '../../db/player-privacy.js';
import { applyRetentionBatch } from '../../db/retention-apply.js';
import { dryRun } from '../../db/rule-dry-run.js';
import { listRuns } from '../../db/rule-runs.js';
import * as tickets from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { rulesOrg } from './rules-support.js';

const db = useTestDb();

const stored = async (messageId: string) => {
  const r = await db.admin.query(
    `select sentiment_score as score, sentiment_comparative as comparative, sentiment_label as label,
       sentiment_language as language from messages where id = $1`,
    [messageId],
  );
  return r.rows[0];
};

describe('player message sentiment, stored and used', () => {
  it("scores a player's opening message and replies, never staff's, and keeps the ticket's latest", async () => {
    const s = await rulesOrg(db);
    const t = await s.open('Lost my items', 'The game keeps crashing, this is ridiculous');
    expect(t.playerSentiment).toEqual({ label: 'negative', score: expect.any(Number) });
    expect(t.playerSentiment?.score).toBeLessThan(0);
    const [opening] = await s.tx((tx) => tickets.conversation(tx, t.id));
    expect(opening?.sentiment).toMatchObject({ label: 'negative', language: 'en' });
    expect(await stored(opening?.id as string)).toMatchObject({ label: 'negative', language: 'en' });

    const staff = await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'Sorry! Great news, it is fixed', origin: 'panel' }, s.owner),
    );
    expect(staff.message.sentiment).toBeNull();
    expect(await stored(staff.message.id)).toEqual({
      score: null,
      comparative: null,
      label: null,
      language: null,
    });
    // A staff reply leaves the ticket's player sentiment as the player left it.
    expect(staff.ticket.playerSentiment?.label).toBe('negative');

    const thanks = await s.tx((tx) =>
      tickets.reply(
        tx,
        { ticketId: t.id, body: 'Thanks, that was fast, you are a legend', origin: 'discord' },
        s.playerActor,
      ),
    );
    expect(thanks.message.sentiment).toMatchObject({ label: 'positive', language: 'en' });
    expect(thanks.ticket.playerSentiment).toEqual({
      label: 'positive',
      score: thanks.message.sentiment?.score,
    });
    expect((await s.tx((tx) => tickets.getTicket(tx, t.id))).playerSentiment?.label).toBe('positive');

    // A ticket opened by staff without a player's words has no player sentiment.
    const byStaff = await s.tx((tx) =>
      tickets.openTicket(tx, { subject: 'Staff note', body: 'terrible awful', origin: 'panel' }, s.owner),
    );
    expect(byStaff.ticket.playerSentiment).toBeNull();
  });

  it("scores a player's direct messages outside tickets too", async () => {
    const s = await rulesOrg(db);
    const { message } = await s.tx(async (tx) => {
      const ch = await openChannel(tx, { kind: 'player_dm', playerId: s.player.id }, s.owner);
      return postMessage(
        tx,
        { channelId: ch.id, body: 'This is a scam, I hate it', origin: 'discord' },
        s.playerActor,
      );
    });
    expect(await stored(message.id)).toMatchObject({ label: 'negative', language: 'en' });
  });

  it('refuses half a score in the database itself', async () => {
    const s = await rulesOrg(db);
    const t = await s.open('x', 'hello there');
    await expect(
      db.admin.query(`update messages set sentiment_label = null where ticket_id = $1`, [t.id]),
    ).rejects.toThrow(/messages_sentiment_whole/);
  });

  it('runs a sentiment rule on the triggering message and on the ticket, and the dry run agrees', async () => {
    const s = await rulesOrg(db);
    const angry = await s.rule({
      trigger: 'message.player',
      conditions: [{ kind: 'sentiment', in: ['negative'], atMost: -2 }],
      actions: [
        { type: 'set_priority', priority: 'high' },
        { type: 'set_tags', add: ['upset'], remove: [] },
      ],
    });
    const happyTicket = await s.rule({
      trigger: 'message.player',
      conditions: [{ kind: 'sentiment', of: 'ticket', in: ['positive'] }],
      actions: [{ type: 'set_tags', add: ['happy'], remove: [] }],
    });
    const calm = await s.open('Question', 'When does the season start?');
    const upset = await s.open('Crash', 'hello');
    const start = await s.lastOutboxId();
    await s.tx((tx) =>
      tickets.reply(
        tx,
        { ticketId: upset.id, body: 'It crashed again, unplayable garbage', origin: 'discord' },
        s.playerActor,
      ),
    );
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: calm.id, body: 'Thanks, great help', origin: 'discord' }, s.playerActor),
    );
    await s.drain(start);
    const [u, c] = await s.tx(async (tx) => [
      await tickets.getTicket(tx, upset.id),
      await tickets.getTicket(tx, calm.id),
    ]);
    expect(u).toMatchObject({ priority: 'high', tags: ['upset'] });
    expect(c.priority).toBe('normal');
    expect(c.tags).toEqual(['happy']);
    expect(u.tags).not.toContain('happy');
    // The log names each entry's ticket by the number people quote.
    const logged = await s.tx((tx) => listRuns(tx, { ruleId: angry.id }));
    expect(new Set(logged.map((r) => `${r.ticketId} ${r.ticketNumber}`))).toEqual(
      new Set([`${upset.id} ${upset.number}`, `${calm.id} ${calm.number}`]),
    );
    const angryRuns = (await s.runs(upset.id)).filter((r) => r.rule_id === angry.id);
    expect(angryRuns.map((r) => r.outcome)).toContain('applied');
    const calmAngry = (await s.runs(calm.id)).filter((r) => r.rule_id === angry.id);
    expect(calmAngry.map((r) => [r.outcome, r.reason])).toContainEqual([
      'not_matched',
      'condition 1 (sentiment) did not hold',
    ]);

    // The dry run reads the ticket's latest player message, as the real run did for these replies.
    const dry = await s.tx((tx) => dryRun(tx, { ruleId: angry.id, limit: 5 }));
    expect(Object.fromEntries(dry.map((d) => [d.ticketId, d.matched]))).toEqual({
      [upset.id]: true,
      [calm.id]: false,
    });
    const dryTicket = await s.tx((tx) => dryRun(tx, { ruleId: happyTicket.id, limit: 5 }));
    expect(dryTicket.find((d) => d.ticketId === calm.id)?.matched).toBe(true);
    expect(dryTicket.find((d) => d.ticketId === upset.id)).toMatchObject({
      matched: false,
      reason: 'condition 1 (sentiment) did not hold',
    });
  });
  it("follows a player's edits and deletions: the ticket keeps its latest scored, undeleted player message's", async () => {
    const s = await rulesOrg(db);
    const t = await s.open('Help', 'hello');
    let snowflake = 234567890123456700n;
    const say = async (body: string, actor: typeof s.playerActor | typeof s.owner = s.playerActor) => {
      const externalId = String(snowflake++);
      await s.tx((tx) => tickets.reply(tx, { ticketId: t.id, body, origin: 'discord', externalId }, actor));
      return externalId;
    };
    const sentiment = async () => (await s.tx((tx) => tickets.getTicket(tx, t.id))).playerSentiment;
    const edit = (messageId: string, body: string) =>
      s.tx((tx) => recordDiscordEdit(tx, { messageId, body }, s.playerActor));
    const remove = (messageId: string) => s.tx((tx) => recordDiscordDelete(tx, messageId, s.playerActor));
    const happy = await s.rule({
      trigger: 'ticket.updated',
      conditions: [{ kind: 'sentiment', of: 'ticket', in: ['negative'] }],
      actions: [{ type: 'set_tags', add: ['upset'], remove: [] }],
    });

    const thanks = await say('Thanks, that was fast, you are a legend');
    const worst = await say('worst game, garbage');
    expect((await sentiment())?.label).toBe('negative');
    expect((await s.tx((tx) => dryRun(tx, { ruleId: happy.id, limit: 5 })))[0]?.matched).toBe(true);

    // The latest message edited: the ticket follows it, and rules reading the ticket see it.
    expect(await edit(worst, 'fixed, thanks, great')).toBe(true);
    expect((await sentiment())?.label).toBe('positive');
    expect((await s.tx((tx) => dryRun(tx, { ruleId: happy.id, limit: 5 })))[0]?.matched).toBe(false);
    // An older message edited: the latest one still speaks for the ticket.
    expect(await edit(thanks, 'terrible, awful, I hate this')).toBe(true);
    expect((await sentiment())?.label).toBe('positive');
    // A staff reply, scored never, changes nothing either way.
    await say('Sorry about that, it is awful', s.owner);
    // The latest deleted: the one before it speaks again.
    expect(await remove(worst)).toBe(true);
    expect((await sentiment())?.label).toBe('negative');
    // Every scored player message deleted (the opening one was neutral): the opening's.
    expect(await remove(thanks)).toBe(true);
    expect(await sentiment()).toEqual({ label: 'neutral', score: 0 });
  });

  it('gives a merge target the latest player sentiment of the two conversations', async () => {
    const s = await rulesOrg(db);
    const target = await s.open('Thanks', 'Thanks, that was fast, you are a legend');
    expect(target.playerSentiment?.label).toBe('positive');
    const source = await s.open('Again', 'worst game, garbage, I hate it');
    const { target: merged } = await s.tx((tx) =>
      tickets.merge(tx, { sourceId: source.id, targetId: target.id }, s.owner),
    );
    expect(merged.playerSentiment?.label).toBe('negative');
    expect((await s.tx((tx) => tickets.getTicket(tx, target.id))).playerSentiment?.label).toBe('negative');
  });

  it("clears a ticket's player sentiment when the player is erased", async () => {
    const s = await rulesOrg(db);
    const t = await s.open('Angry', 'worst game, garbage, I hate it');
    expect(t.playerSentiment?.label).toBe('negative');
    await s.tx((tx) => erasePlayer(tx, s.player.id, s.owner));
    expect((await s.tx((tx) => tickets.getTicket(tx, t.id))).playerSentiment).toBeNull();
  });
  it("drops a ticket's player sentiment with the messages a retention purge removes", async () => {
    const s = await rulesOrg(db);
    const t = await s.open('Old', 'worst game, garbage, I hate it');
    await s.tx((tx) => tickets.reply(tx, { ticketId: t.id, body: 'We are on it', origin: 'panel' }, s.owner));
    await db.admin.query(
      `update messages set created_at = now() - interval '40 days' where ticket_id = $1 and author_type = 'player'`,
      [t.id],
    );
    await s.tx((tx) =>
      applyRetentionBatch(tx, { target: 'messages', action: 'purge', days: 30 }, new Date()),
    );
    expect((await s.tx((tx) => tickets.getTicket(tx, t.id))).playerSentiment).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { planOpening } from '../../db/discord-ticket-openings.js';
import { recordRelayedDmMessages } from '../../db/dm-routing.js';
import { getOutboxRow } from '../../db/outbox.js';
import { upsertPlayer } from '../../db/players.js';
import { setRetentionPolicy } from '../../db/retention.js';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { orgTopic, publishLive, readBacklog, ticketTopic } from '../../lib/live.js';
import { impliedJobs } from '../../workers/event-jobs.js';
import { handlersFor } from '../../workers/handlers.js';
import { findAnywhere } from '../db/privacy-support.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { useRetentionRig } from './retention-support.js';
import { testDeps, uniquePrefix } from './support.js';

// What retention takes from the copies of a ticket kept outside it: the modmail routing records,
// its history, events and Discord opening, and the live backlog panels replay.
const { db, world, policies, run } = useRetentionRig();

describe('retention and modmail routing', () => {
  // The relay's record of each message it posted into the player's DM names their Discord id.
  const relayed = async (org: OrgFixture, ticketId: string, messageId: string) =>
    withTenant(db.app, org.orgId, (tx) =>
      recordRelayedDmMessages(tx, {
        ticketId,
        discordUserId: '712345678901234999',
        discordMessageIds: [messageId],
      }),
    );
  const routed = async (orgId: string) =>
    (
      await db.admin.query(
        `select ticket_id, discord_user_id from discord_dm_relayed_messages where org_id = $1 order by discord_message_id`,
        [orgId],
      )
    ).rows;

  for (const action of ['purge', 'anonymise'] as const) {
    it(`${action} forgets which Discord user the old ticket's DMs went to`, async () => {
      const a = await makeOrg(db.app, `Routing ${action}`);
      // Discord message ids are unique across Discord (and the table's key): one series per run.
      const id = (n: number) => `7123456789012${action === 'purge' ? 1 : 2}000${n}`;
      const wa = await world(a);
      await policies(a, action);
      await relayed(a, wa.oldClosed, id(1));
      await relayed(a, wa.newClosed, id(2));
      expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 1 });
      expect(await routed(a.orgId), 'the routing records left').toEqual([
        { ticket_id: wa.newClosed, discord_user_id: '712345678901234999' },
      ]);
      if (action === 'anonymise') {
        // One recorded on a ticket anonymised before this rule goes on the next run.
        await relayed(a, wa.oldClosed, id(3));
        expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 1 });
        expect(await routed(a.orgId)).toHaveLength(1);
      }
      expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 0 });
    });
  }
});

describe("retention's anonymise and the copies of a ticket's text", () => {
  it("leaves no subject or field of the ticket in its history, events or Discord opening, an earlier anonymised one's too", async () => {
    const org = await makeOrg(db.app, 'AnonHistory');
    const ticketId = await withTenant(db.app, org.orgId, async (tx) => {
      const p = await upsertPlayer(tx, {
        displayName: 'Bystander',
        email: `bystander-${org.orgId}@example.com`,
      });
      const { ticket } = await tickets.openTicket(
        tx,
        {
          subject: 'Quorvath refund for order 99812',
          origin: 'game',
          requesterId: p.id,
          customFields: { order: 'Quorvath-99812' },
        },
        { type: 'player', id: p.id },
      );
      // Opened on Discord: the bot's plan quotes the subject until it is done.
      await planOpening(
        tx,
        {
          ticketId: ticket.id,
          summary: { content: 'x', embeds: [{ title: `Ticket #${ticket.number} · ${ticket.subject}` }] },
          webhookChannelId: '712345678901239001',
          teamDiscordIds: [],
          reason: 'GameMod: ticket for quorvath',
        },
        'claim-anon',
        30,
      );
      return ticket.id;
    });
    await db.admin.query(
      `update tickets set status = 'closed', closed_at = now() - interval '40 days' where id = $1`,
      [ticketId],
    );
    await withTenant(db.app, org.orgId, (tx) =>
      setRetentionPolicy(tx, { target: 'tickets', days: 30, action: 'anonymise' }, org.owner),
    );
    expect((await run(org.orgId))?.counts).toMatchObject({ tickets: 1 });
    const t = await db.admin.query('select subject from tickets where id = $1', [ticketId]);
    expect(t.rows[0].subject).toMatch(/^Ticket #/);
    expect(await findAnywhere(db, ['Quorvath'])).toEqual([]);
    // History written before this rule existed is taken on the next run.
    await db.admin.query(
      `update ticket_events set data = '{"subject": "Quorvath refund"}' where ticket_id = $1 and type = 'ticket.created'`,
      [ticketId],
    );
    expect((await run(org.orgId))?.counts).toMatchObject({ tickets: 1 });
    expect(await findAnywhere(db, ['Quorvath'])).toEqual([]);
    expect((await run(org.orgId))?.counts).toMatchObject({ tickets: 0 });
  });
});

describe('retention and the live backlog', () => {
  it("voids the backlogs that still replay a removed ticket's envelopes, through a job fed by the outbox", async () => {
    const a = await makeOrg(db.app, 'Live backlog');
    const wa = await world(a);
    await policies(a, 'purge');
    const env = testDeps(db.app, uniquePrefix());
    try {
      const redis = env.connection;
      // What the relay published when the tickets were opened: their envelopes quote the subjects.
      const published = await db.admin.query(
        `select id, event_type, aggregate_type, aggregate_id, payload, created_at from outbox
          where org_id = $1 and event_type = 'ticket.created' order by id`,
        [a.orgId],
      );
      for (const o of published.rows) {
        await publishLive(redis, {
          id: Number(o.id),
          orgId: a.orgId,
          type: o.event_type,
          aggregateType: o.aggregate_type,
          aggregateId: o.aggregate_id,
          payload: o.payload,
          createdAt: o.created_at.toISOString(),
        });
      }
      const replayed = async (topic: string) =>
        JSON.stringify((await readBacklog(redis, topic, 0)).envelopes);
      expect(await replayed(ticketTopic(wa.oldClosed))).toContain('Lost items oldClosed');
      const after = Number(published.rows.at(-1)?.id ?? 0);
      expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 1 });
      // The relay's part: the jobs the events written since imply, run by the workers' handlers.
      const ids = await db.admin.query('select id from outbox where org_id = $1 and id > $2 order by id', [
        a.orgId,
        after,
      ]);
      const rows = await withTenant(db.app, a.orgId, async (tx) =>
        Promise.all(ids.rows.map((r) => getOutboxRow(tx, Number(r.id)))),
      );
      const handlers = handlersFor({ ...env.deps, live: { redis } }, 14) as Record<
        string,
        (d: unknown) => Promise<unknown>
      >;
      for (const job of rows.flatMap((r) => (r ? impliedJobs(r) : []))) {
        if (job.name === 'live.forget') await handlers[job.name]?.(job.payload);
      }
      expect(await replayed(ticketTopic(wa.oldClosed)), "the purged ticket's backlog").not.toContain(
        'Lost items',
      );
      expect(await replayed(orgTopic(a.orgId)), "the org's backlog").not.toContain('Lost items oldClosed');
      expect((await readBacklog(redis, ticketTopic(wa.oldClosed), 0)).complete).toBe(false);
      // A ticket retention kept keeps its backlog.
      expect(await replayed(ticketTopic(wa.newClosed))).toContain('Lost items newClosed');
    } finally {
      await env.close();
    }
  });
});

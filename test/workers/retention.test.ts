import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { REST } from '@discordjs/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAttachment } from '../../db/attachments.js';
import { planOpening } from '../../db/discord-ticket-openings.js';
import { ticketForSync } from '../../db/discord-ticket-sides.js';
import { recordRelayedDmMessages } from '../../db/dm-routing.js';
import { upsertPlayer } from '../../db/players.js';
import { listRetentionPolicies, setRetentionPolicy } from '../../db/retention.js';
import { previewRetention } from '../../db/retention-apply.js';
import { withTenant } from '../../db/tenant.js';
import { recordTranscript } from '../../db/ticket-transcripts.js';
import * as tickets from '../../db/tickets.js';
import { createLogger } from '../../lib/logger.js';
import { LocalStorage } from '../../lib/storage/index.js';
import type { WorkerDeps } from '../../workers/deps.js';
import { applyRetention } from '../../workers/retention.js';
import { postTranscript } from '../../workers/ticket-sync-steps.js';
import { findAnywhere } from '../db/privacy-support.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';

const db = useTestDb();
const logger = createLogger('silent');
let dir: string;
let storage: LocalStorage;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gm-retention-'));
  storage = new LocalStorage(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TABLES = [
  'tickets',
  'messages',
  'attachments',
  'player_sessions',
  'audit_logs',
  'email_messages',
] as const;

/** Rows per table for one org, as a superuser sees them. */
async function counts(orgId: string) {
  const out = {} as Record<(typeof TABLES)[number], number>;
  for (const t of TABLES) {
    const r = await db.admin.query(`select count(*)::int as n from ${t} where org_id = $1`, [orgId]);
    out[t] = r.rows[0].n;
  }
  return out;
}

/**
 * One org: per ticket kind (closed long ago, closed lately, open but old) a ticket with a player
 * message carrying a stored file; plus an old and a new game session and old audit entries.
 */
async function world(org: OrgFixture) {
  const made = await withTenant(db.app, org.orgId, async (tx) => {
    const player = await upsertPlayer(tx, { displayName: 'Mira', email: `mira-${org.orgId}@example.com` });
    const out: Record<string, { ticketId: string; key: string }> = {};
    for (const kind of ['oldClosed', 'newClosed', 'oldOpen']) {
      const { ticket } = await tickets.openTicket(
        tx,
        { subject: `Lost items ${kind}`, body: 'I lost my sword', origin: 'panel', requesterId: player.id },
        org.owner,
      );
      const key = `${org.orgId}/${kind}.txt`;
      await recordAttachment(
        tx,
        {
          ticketId: ticket.id,
          filename: 'log.txt',
          contentType: 'text/plain',
          sizeBytes: 3,
          storageKey: key,
          origin: 'panel',
        },
        org.owner,
      );
      out[kind] = { ticketId: ticket.id, key };
    }
    return { player, tickets: out };
  });
  for (const t of Object.values(made.tickets))
    await storage.put(t.key, Buffer.from('log'), { contentType: 'text/plain' });
  const { ticketId: oldClosed } = made.tickets.oldClosed as { ticketId: string };
  const { ticketId: newClosed } = made.tickets.newClosed as { ticketId: string };
  const { ticketId: oldOpen } = made.tickets.oldOpen as { ticketId: string };
  const a = db.admin;
  await a.query(
    `update tickets set status = 'closed', closed_at = now() - interval '100 days', rating = 2,
            rated_at = now() - interval '99 days', rating_comment = 'Mira was unhappy' where id = $1`,
    [oldClosed],
  );
  await a.query(`update tickets set status = 'closed', closed_at = now() - interval '5 days' where id = $1`, [
    newClosed,
  ]);
  await a.query(`update tickets set created_at = now() - interval '200 days' where id = $1`, [oldOpen]);
  // Staff were told of each ticket's player reply, with an excerpt, when it came.
  await a.query(
    `insert into notifications (org_id, user_id, outbox_id, event, ticket_id, title, body, created_at)
     select $1, $2, n, 'player_replied', t, 'The player replied', 'I lost my sword',
            now() - case when n = 2 then interval '0 days' else interval '150 days' end
       from unnest($3::uuid[]) with ordinality x(t, n)`,
    [org.orgId, org.ownerId, [oldClosed, newClosed, oldOpen]],
  );
  // Every message of the old tickets is old; the new closed ticket's are recent.
  await a.query(
    `update messages set created_at = now() - interval '150 days' where ticket_id = any($1::uuid[])`,
    [[oldClosed, oldOpen]],
  );
  await a.query(
    `update attachments set created_at = now() - interval '150 days' where ticket_id = any($1::uuid[])`,
    [[oldClosed, oldOpen]],
  );
  const game = await a.query(
    `insert into games (org_id, name, slug) values ($1, 'Game', 'game') returning id`,
    [org.orgId],
  );
  await a.query(
    `insert into player_sessions (org_id, player_id, game_id, started_at, ended_at, platform, client_version, ip_hash)
     values ($1, $2, $3, now() - interval '120 days', now() - interval '119 days', 'pc', '1.0', 'h1'),
            ($1, $2, $3, now() - interval '2 days', null, 'pc', '1.1', 'h2')`,
    [org.orgId, made.player.id, game.rows[0].id],
  );
  await a.query(`update audit_logs set created_at = now() - interval '400 days' where org_id = $1`, [
    org.orgId,
  ]);
  return { ...made, oldClosed, newClosed, oldOpen, playerId: made.player.id };
}

async function policies(org: OrgFixture, action: 'purge' | 'anonymise') {
  await withTenant(db.app, org.orgId, async (tx) => {
    await setRetentionPolicy(tx, { target: 'tickets', days: 90, action }, org.owner);
    await setRetentionPolicy(tx, { target: 'player_sessions', days: 30, action }, org.owner);
    await setRetentionPolicy(tx, { target: 'audit_logs', days: 365, action: 'purge' }, org.owner);
  });
}

const run = (orgId: string, batchSize = 2) =>
  applyRetention({ pool: db.app, storage, logger, now: new Date() }, orgId, { batchSize });

describe('retention applied', () => {
  it('purges exactly what the policies name, in small batches, with the files, and audits the counts', async () => {
    const a = await makeOrg(db.app, 'Purger');
    const b = await makeOrg(db.app, 'Bystander');
    const wa = await world(a);
    const wb = await world(b);
    await policies(a, 'purge');
    await policies(b, 'purge'); // set but never applied: b must not change
    const beforeA = await counts(a.orgId);
    const beforeB = await counts(b.orgId);
    const oldAudit = (
      await db.admin.query(
        `select count(*)::int as n from audit_logs where org_id = $1 and created_at < now() - interval '365 days'`,
        [a.orgId],
      )
    ).rows[0].n;
    expect(oldAudit).toBeGreaterThan(2);

    const preview = await withTenant(db.app, a.orgId, async (tx) =>
      previewRetention(tx, await listRetentionPolicies(tx), new Date()),
    );
    expect(Object.fromEntries(preview.map((p) => [p.target, p.rows]))).toEqual({
      tickets: 1,
      player_sessions: 1,
      audit_logs: oldAudit,
    });
    // The preview changed nothing.
    expect(await counts(a.orgId)).toEqual(beforeA);

    const result = await run(a.orgId);
    expect(result?.complete).toBe(true);
    expect(result?.counts).toMatchObject({ tickets: 1, player_sessions: 1, audit_logs: oldAudit, files: 1 });

    const afterA = await counts(a.orgId);
    // The old closed ticket went with its message and file; the run wrote one audit entry.
    expect(afterA).toEqual({
      tickets: beforeA.tickets - 1,
      messages: beforeA.messages - 1,
      attachments: beforeA.attachments - 1,
      player_sessions: beforeA.player_sessions - 1,
      audit_logs: beforeA.audit_logs - oldAudit + 1,
      email_messages: 0,
    });
    const left = await db.admin.query(`select id from tickets where org_id = $1 order by id`, [a.orgId]);
    expect(left.rows.map((r) => r.id).sort()).toEqual([wa.newClosed, wa.oldOpen].sort());
    expect(await storage.exists(wa.tickets.oldClosed?.key as string)).toBe(false);
    expect(await storage.exists(wa.tickets.oldOpen?.key as string)).toBe(true);
    expect(await storage.exists(wa.tickets.newClosed?.key as string)).toBe(true);

    const audit = await db.admin.query(
      `select actor_type, data from audit_logs where org_id = $1 and action = 'retention.applied'`,
      [a.orgId],
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({
      actor_type: 'system',
      data: { complete: true, counts: { tickets: 1, player_sessions: 1, audit_logs: oldAudit, files: 1 } },
    });

    // The other organization is untouched, files included.
    expect(await counts(b.orgId)).toEqual(beforeB);
    for (const t of Object.values(wb.tickets)) expect(await storage.exists(t.key)).toBe(true);

    // A second run finds nothing more.
    expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 0, player_sessions: 0, audit_logs: 0 });
  });

  it('anonymises old closed tickets and sessions in place, keeping the rows', async () => {
    const a = await makeOrg(db.app, 'Anon');
    const wa = await world(a);
    await policies(a, 'anonymise');
    await withTenant(db.app, a.orgId, (tx) =>
      setRetentionPolicy(tx, { target: 'messages', days: 100, action: 'anonymise' }, a.owner),
    );
    const before = await counts(a.orgId);
    const result = await run(a.orgId, 1);
    // Two old messages (the old closed and the old open ticket's), one old session.
    expect(result?.counts).toMatchObject({ tickets: 1, messages: 2, player_sessions: 1 });
    const after = await counts(a.orgId);
    expect({ ...after, audit_logs: 0 }).toEqual({ ...before, audit_logs: 0 });

    const t = await db.admin.query(
      `select id, subject, number, requester_id, rating, rating_comment from tickets where org_id = $1`,
      [a.orgId],
    );
    const byId = new Map(t.rows.map((r) => [r.id, r]));
    expect(byId.get(wa.oldClosed)).toMatchObject({ requester_id: null, rating: 2, rating_comment: null });
    expect(byId.get(wa.oldClosed).subject).toBe(`Ticket #${byId.get(wa.oldClosed).number}`);
    expect(byId.get(wa.newClosed)).toMatchObject({
      requester_id: wa.playerId,
      subject: 'Lost items newClosed',
    });
    expect(byId.get(wa.oldOpen)).toMatchObject({ requester_id: wa.playerId, subject: 'Lost items oldOpen' });

    const m = await db.admin.query(
      `select ticket_id, body, author_player_id from messages where org_id = $1`,
      [a.orgId],
    );
    for (const row of m.rows) {
      if (row.ticket_id === wa.newClosed) expect(row.body).toBe('I lost my sword');
      else expect(row).toMatchObject({ body: '', author_player_id: null });
    }
    const n = await db.admin.query('select ticket_id, body from notifications where org_id = $1', [a.orgId]);
    expect(Object.fromEntries(n.rows.map((r) => [r.ticket_id, r.body]))).toEqual({
      [wa.oldClosed]: null,
      [wa.newClosed]: 'I lost my sword',
      [wa.oldOpen]: null,
    });
    const s = await db.admin.query(
      `select ip_hash, platform from player_sessions where org_id = $1 order by started_at`,
      [a.orgId],
    );
    expect(s.rows).toEqual([
      { ip_hash: null, platform: null },
      { ip_hash: 'h2', platform: 'pc' },
    ]);
    // Idempotent: nothing is left to anonymise.
    expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 0, messages: 0, player_sessions: 0 });
  });

  it('anonymising a ticket erases its mail log and raw mail, an earlier anonymised one too', async () => {
    const a = await makeOrg(db.app, 'Anon mail');
    const wa = await world(a);
    await policies(a, 'anonymise');
    const mail = async (ticketId: string, key: string | null) => {
      if (key) await storage.put(key, Buffer.from('secret body'), { contentType: 'message/rfc822' });
      await db.admin.query(
        `insert into email_messages (org_id, direction, message_id, ticket_id, status, from_address, raw_storage_key)
         values ($1, 'in', $2, $3, 'new_ticket', 'mira@example.com', $4)`,
        [a.orgId, `${randomUUID()}@example.com`, ticketId, key],
      );
    };
    const oldKey = `${a.orgId}/email/old.eml`;
    const newKey = `${a.orgId}/email/new.eml`;
    await mail(wa.oldClosed, oldKey);
    await mail(wa.oldClosed, null);
    await mail(wa.newClosed, newKey);
    // A mail that could not be read is also one of its ticket's attachments, which anonymise keeps.
    const attachedKey = `${a.orgId}/email/unreadable.eml`;
    await mail(wa.oldClosed, attachedKey);
    await withTenant(db.app, a.orgId, (tx) =>
      recordAttachment(
        tx,
        {
          ticketId: wa.oldClosed,
          filename: 'message.eml',
          contentType: 'message/rfc822',
          sizeBytes: 11,
          storageKey: attachedKey,
          origin: 'email',
        },
        a.owner,
      ),
    );
    const result = await run(a.orgId);
    expect(result?.counts).toMatchObject({ tickets: 1, files: 1 });
    const left = await db.admin.query(`select ticket_id from email_messages where org_id = $1`, [a.orgId]);
    expect(left.rows).toEqual([{ ticket_id: wa.newClosed }]);
    expect(await storage.exists(oldKey)).toBe(false);
    expect(await storage.exists(newKey)).toBe(true);
    expect(await storage.exists(attachedKey)).toBe(true);
    // Mail kept by an anonymise run before this rule goes on the next run.
    const laterKey = `${a.orgId}/email/later.eml`;
    await mail(wa.oldClosed, laterKey);
    expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 1, files: 1 });
    expect(await storage.exists(laterKey)).toBe(false);
    expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 0 });
  });
});

describe('retention and transcripts', () => {
  /** The sync job's transcript of the ticket (stored copy), and a post of it in a transcript channel. */
  async function transcribe(org: OrgFixture, ticketId: string, messageId: string) {
    const deps = { pool: db.app, storage } as unknown as WorkerDeps;
    const s = await withTenant(db.app, org.orgId, (tx) => ticketForSync(tx, ticketId));
    await postTranscript(deps, org.orgId, {} as REST, s!, new Date(), {});
    await withTenant(db.app, org.orgId, (tx) =>
      recordTranscript(tx, ticketId, {
        storageKey: null,
        post: { channelId: '512345678901234567', messageId },
      }),
    );
    return `orgs/${org.orgId}/transcripts/${ticketId}.html`;
  }
  const read = async (key: string) => {
    if (!(await storage.exists(key))) return '';
    const chunks: Buffer[] = [];
    for await (const c of (await storage.get(key)).body) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const queuedPosts = async (orgId: string) =>
    (
      await db.admin.query(
        `select discord_message_id from discord_erasures where org_id = $1 and status = 'pending' order by 1`,
        [orgId],
      )
    ).rows.map((r) => r.discord_message_id);

  for (const action of ['purge', 'anonymise'] as const) {
    it(`${action} takes the stored transcript and its transcript-channel post with the old ticket`, async () => {
      const a = await makeOrg(db.app, `Transcripts ${action}`);
      const wa = await world(a);
      await policies(a, action);
      const oldKey = await transcribe(a, wa.oldClosed, '612345678901234001');
      const newKey = await transcribe(a, wa.newClosed, '612345678901234002');
      expect(await read(oldKey)).toContain('I lost my sword');
      const result = await run(a.orgId);
      expect(result?.counts).toMatchObject({ tickets: 1, files: action === 'purge' ? 2 : 1 });
      expect(await read(oldKey), 'the old ticket’s stored transcript').not.toContain('I lost my sword');
      expect(await read(newKey)).toContain('I lost my sword');
      // The post goes through the privacy sweep's Discord deletions.
      expect(await queuedPosts(a.orgId)).toEqual(['612345678901234001']);
      // Nothing is left to take on the next run.
      expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 0 });
    });
  }

  it('a message policy takes the transcripts of the tickets whose messages it removes', async () => {
    const a = await makeOrg(db.app, 'Transcripts messages');
    const wa = await world(a);
    await withTenant(db.app, a.orgId, (tx) =>
      setRetentionPolicy(tx, { target: 'messages', days: 100, action: 'anonymise' }, a.owner),
    );
    const oldKey = await transcribe(a, wa.oldClosed, '612345678901234003');
    const newKey = await transcribe(a, wa.newClosed, '612345678901234004');
    expect((await run(a.orgId))?.counts).toMatchObject({ messages: 2, files: 1 });
    expect(await read(oldKey)).not.toContain('I lost my sword');
    expect(await read(newKey)).toContain('I lost my sword');
    expect(await queuedPosts(a.orgId)).toEqual(['612345678901234003']);
  });
});

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

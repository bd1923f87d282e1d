import { describe, expect, it } from 'vitest';
import { summaryMessage } from '../../bot/ticket-text.js';
import { recordAttachment } from '../../db/attachments.js';
import { planOpening } from '../../db/discord-ticket-openings.js';
import { recordRelayedDmMessages } from '../../db/dm-routing.js';
import { claimIdempotencyKey, storeIdempotentResponse } from '../../db/idempotency.js';
import { openChannel, postMessage } from '../../db/messages.js';
import { recordNotifications } from '../../db/notifications.js';
import { erasePlayer, playerDossier, requestPlayerExport } from '../../db/player-privacy.js';
import { reportFromGame } from '../../db/player-reports.js';
import { upsertPlayer } from '../../db/players.js';
import { foldReports } from '../../db/report-fold.js';
import { withTenant } from '../../db/tenant.js';
import { addNote } from '../../db/ticket-actions.js';
import * as tickets from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { findAnywhere as findAnywhereIn } from './privacy-support.js';

const db = useTestDb();

/**
 * Every (table, column) whose foreign key points at player_profiles, from the catalog, except
 * tables of ids, times, numbers and flags only (bookkeeping such as a queue pointer says nothing
 * about the player beyond the reference itself).
 */
async function playerColumns(): Promise<Array<{ table: string; column: string }>> {
  const r = await db.admin.query<{ table: string; column: string }>(
    `select c.conrelid::regclass::text as table, a.attname as column
       from pg_constraint c
       join unnest(c.conkey) k(n) on true
       join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n
      where c.contype = 'f' and c.confrelid = 'public.player_profiles'::regclass and a.attname <> 'org_id'
        and exists (select 1 from information_schema.columns ic
                     where ic.table_schema = 'public' and ic.table_name = c.conrelid::regclass::text
                       and ic.data_type not in ('uuid', 'timestamp with time zone', 'integer', 'bigint', 'boolean', 'smallint'))
      order by 1, 2`,
  );
  return r.rows;
}

const findAnywhere = (needles: string[]) => findAnywhereIn(db, needles);

let snow = 412_345_678_901_234_000n + BigInt(Math.floor(Math.random() * 1e5));

/** A player who has left traces everywhere, all carrying `marker`. */
async function tracedPlayer(org: OrgFixture, marker: string) {
  const discordId = String(snow++);
  const game = await db.admin.query(
    `insert into games (org_id, name, slug) values ($1, 'Game', $2) returning id`,
    [org.orgId, `g-${snow++}`],
  );
  const gameId = game.rows[0].id as string;
  const out = await withTenant(db.app, org.orgId, async (tx) => {
    const p = await upsertPlayer(tx, {
      displayName: `${marker} Player`,
      discordUserId: discordId,
      email: `${marker.toLowerCase()}@example.com`,
      gameId,
      gameAccountId: `${marker}-acct`,
    });
    const other = await upsertPlayer(tx, {
      displayName: 'Bystander',
      email: `bystander-${snow++}@example.com`,
    });
    const player = { type: 'player', id: p.id } as const;
    const { ticket } = await tickets.openTicket(
      tx,
      {
        subject: `${marker} lost a sword`,
        body: `${marker} here, my sword vanished`,
        origin: 'game',
        requesterId: p.id,
        gameId,
        customFields: { server: `${marker}-EU` },
        discordChannelId: String(snow++),
      },
      player,
    );
    // Opened from a Discord form: the bot's plan holds the summary as it rendered it (the
    // player's mention, the subject, the answers) until the opening is done.
    const summary = summaryMessage(
      ticket,
      {
        requester: {
          id: discordId,
          username: marker.toLowerCase(),
          globalName: marker,
          avatar: null,
          roleIds: [],
        },
        answers: [{ key: 'details', label: 'What happened?', value: `${marker} was banned in Mirewood` }],
      } as never,
      null,
      { roleIds: [] },
    );
    await planOpening(
      tx,
      {
        ticketId: ticket.id,
        summary,
        webhookChannelId: String(snow++),
        teamDiscordIds: [],
        reason: `GameMod: ticket for ${marker.toLowerCase()}`,
      },
      'opening-claim',
      30,
    );
    // An API client sent it with an Idempotency-Key: the cached 201 answer is a copy of the ticket.
    const claimed = await claimIdempotencyKey(tx, `crm-sync-${snow++}`, 'request-hash', 60_000);
    if (!('claim' in claimed)) throw new Error('the key was taken');
    await storeIdempotentResponse(tx, claimed.claim, 201, ticket);
    await tickets.reply(tx, { ticketId: ticket.id, body: `Hello ${marker}`, origin: 'panel' }, org.owner);
    await addNote(tx, { ticketId: ticket.id, body: `${marker} seems upset` }, org.owner);
    await recordAttachment(
      tx,
      {
        ticketId: ticket.id,
        filename: `${marker}.png`,
        contentType: 'image/png',
        sizeBytes: 3,
        // Keys are made of ids, as the API and workers make them (never of a name the player
        // gave): the erase queues them for the workers to delete (storage_erasures).
        storageKey: `orgs/${org.orgId}/attachments/${org.orgId.slice(0, 8)}-${marker.length}`,
        origin: 'game',
      },
      player,
    );
    const { ticket: otherTicket } = await tickets.openTicket(
      tx,
      { subject: 'Bystander asks', body: 'unrelated words', origin: 'panel', requesterId: other.id },
      org.owner,
    );
    // Staff were told of it: the panel entry, the digest holding it and the live event quote it.
    await recordNotifications(tx, 1, [
      {
        userId: org.ownerId,
        event: 'player_replied',
        ticketId: ticket.id,
        title: 'The player replied',
        body: `${marker} here, my sword vanished`,
        inPanel: true,
        deliveries: [{ channel: 'email', status: 'digest' }],
      },
    ]);
    // A staff reply relayed into the player's DM: the routing record names their Discord id.
    await recordRelayedDmMessages(tx, {
      ticketId: ticket.id,
      discordUserId: discordId,
      discordMessageIds: [String(snow++)],
    });
    // They wrote in their DM channel with staff: its message.created event quotes them.
    const dm = await openChannel(tx, { kind: 'player_dm', playerId: p.id }, org.owner);
    await postMessage(
      tx,
      { channelId: dm.id, body: `${marker} here: my home address is 12 Larkspur Lane`, origin: 'game' },
      player,
    );
    return { playerId: p.id, otherId: other.id, ticketId: ticket.id, otherTicketId: otherTicket.id };
  });
  // Another player reports them from the game: the report's ticket is the reporter's, and its
  // subject and fields name the reported player by their game name and account.
  await withTenant(db.app, org.orgId, (tx) =>
    reportFromGame(tx, gameId, {
      reporter: { id: `witness-${snow++}`, name: 'Bystander Witness' },
      reported: { id: `${marker}-acct`, name: `${marker} Player` },
      reason: 'cheating',
      message: 'aimbot in ranked',
    }),
  );
  await withTenant(db.app, org.orgId, (tx) => foldReports(tx));
  const a = db.admin;
  const delivered = String(snow++);
  // The bot posted the player's game message into the ticket's Discord thread.
  await a.query(
    `update messages set discord_message_id = $2 where ticket_id = $1 and author_player_id is not null`,
    [out.ticketId, delivered],
  );
  await a.query(
    `insert into player_sessions (org_id, player_id, game_id, platform, client_version, ip_hash)
     values ($1, $2, $3, 'pc', '1.0', $4)`,
    [org.orgId, out.playerId, gameId, `${marker}hash`],
  );
  await a.query(
    `insert into player_reports (org_id, reporter_id, reported_id, reason, details, origin)
     values ($1, $2, $3, 'cheating', $4, 'game'), ($1, $3, $2, 'harassment', $5, 'game')`,
    [org.orgId, out.playerId, out.otherId, `${marker} saw aimbot`, `${marker} insulted me`],
  );
  await a.query(
    `insert into player_moderation (org_id, player_id, warned, reason) values ($1, $2, true, $3)`,
    [org.orgId, out.playerId, `${marker} warned for spam`],
  );
  await a.query(
    `insert into player_email_addresses (org_id, player_id, address) values ($1, $2, $3) on conflict do nothing`,
    [org.orgId, out.playerId, `${marker.toLowerCase()}@example.com`],
  );

  return { ...out, discordId, delivered };
}

describe('player export', () => {
  it('holds every row that refers to the player, found over the catalog', async () => {
    const org = await makeOrg(db.app, 'Exporter');
    const w = await tracedPlayer(org, 'Quillonex');
    await withTenant(db.app, org.orgId, (tx) => requestPlayerExport(tx, w.playerId, org.owner));
    const dossier = await withTenant(db.app, org.orgId, (tx) => playerDossier(tx, w.playerId));
    const columns = await playerColumns();
    expect(columns.length).toBeGreaterThan(8);
    for (const { table, column } of columns) {
      const rows = await db.admin.query(`select to_jsonb(x) as j from ${table} x where ${column} = $1`, [
        w.playerId,
      ]);
      const held = dossier[table];
      expect(held, `the export has no ${table} (it refers to players by ${column})`).toBeDefined();
      for (const { j } of rows.rows) {
        const key = j.id ?? `${j.message_id ?? ''}${j.player_id ?? ''}${j.emoji ?? ''}`;
        const match = (held ?? []).some(
          (h) => (h.id ?? `${h.message_id ?? ''}${h.player_id ?? ''}${h.emoji ?? ''}`) === key,
        );
        expect(match, `${table} row ${key} (by ${column}) is missing from the export`).toBe(true);
      }
    }
    // And the conversation of their tickets, staff replies included.
    expect((dossier.messages ?? []).map((m) => m.body)).toEqual(
      expect.arrayContaining(['Quillonex here, my sword vanished', 'Hello Quillonex']),
    );
    expect(dossier.player_profiles?.[0]).toMatchObject({
      display_name: 'Quillonex Player',
      discord_user_id: w.discordId,
    });
    // The database's own bookkeeping is not the player's data: no transaction ids (the analytics
    // fold's), search vectors, stored file keys or code hashes.
    for (const [table, rows] of Object.entries(dossier))
      for (const row of rows ?? [])
        for (const internal of ['txid', 'search', 'storage_key', 'raw_storage_key', 'code_hash'])
          expect(row, `${table} carries ${internal}`).not.toHaveProperty(internal);
  });
});

describe('player erase', () => {
  it('leaves nothing the player gave in any table (over the catalog), keeps others, and audits a tombstone', async () => {
    const org = await makeOrg(db.app, 'Eraser');
    const elsewhere = await makeOrg(db.app, 'Elsewhere');
    const w = await tracedPlayer(org, 'Vexmarrow');
    await tracedPlayer(elsewhere, 'Zorblatt');
    const needles = ['Vexmarrow', w.discordId];
    expect((await findAnywhere(needles)).length).toBeGreaterThan(10);

    const result = await withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, w.playerId, org.owner));
    expect(result.counts).toMatchObject({
      tickets: 1,
      sessions: 1,
      reports: 3,
      attachments: 1,
      discordMessages: 1,
    });
    expect(result.storageKeys).toEqual([`orgs/${org.orgId}/attachments/${org.orgId.slice(0, 8)}-9`]);
    const files = await db.admin.query('select storage_key from storage_erasures where org_id = $1', [
      org.orgId,
    ]);
    expect(files.rows.map((r) => r.storage_key)).toEqual(result.storageKeys);

    expect(await findAnywhere(needles)).toEqual([]);
    // The tombstone: the profile stays without personal data, its tickets keep their requester.
    const profile = await db.admin.query('select * from player_profiles where id = $1', [w.playerId]);
    expect(profile.rows[0]).toMatchObject({ display_name: null, email: null, discord_user_id: null });
    expect(profile.rows[0].erased_at).toBeInstanceOf(Date);
    const t = await db.admin.query('select requester_id, subject, number from tickets where id = $1', [
      w.ticketId,
    ]);
    expect(t.rows[0]).toMatchObject({ requester_id: w.playerId, subject: `Ticket #${t.rows[0].number}` });
    const audit = await db.admin.query(
      `select action, data from audit_logs where org_id = $1 and target_id = $2 and action = 'player.erased'`,
      [org.orgId, w.playerId],
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].data.counts).toMatchObject({ tickets: 1 });
    // The report about them stays their reporter's ticket, without their name or game account.
    const rep = await db.admin.query(
      `select subject, number, custom_fields -> 'report' as report from tickets
        where org_id = $1 and custom_fields ? 'report'`,
      [org.orgId],
    );
    expect(rep.rows).toEqual([
      {
        subject: `Report #${rep.rows[0]?.number} (cheating)`,
        number: rep.rows[0]?.number,
        report: { reason: 'cheating' },
      },
    ]);
    // The bot's post on their behalf is queued for deletion in Discord.
    const queued = await db.admin.query(
      'select discord_message_id, status from discord_erasures where org_id = $1',
      [org.orgId],
    );
    expect(queued.rows).toEqual([{ discord_message_id: w.delivered, status: 'pending' }]);

    // Others are untouched: the bystander in the same org, and the other org's player.
    const by = await db.admin.query('select subject from tickets where id = $1', [w.otherTicketId]);
    expect(by.rows[0].subject).toBe('Bystander asks');
    expect((await findAnywhere(['Zorblatt'])).length).toBeGreaterThan(10);
    expect(await findAnywhere(['Bystander'])).not.toEqual([]);

    await expect(
      withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, w.playerId, org.owner)),
    ).rejects.toMatchObject({ code: 'conflict' });
  });
});

describe("a player's export (GDPR access request)", () => {
  /** Two players report the same cheater: the first report opens the moderation ticket. */
  async function reportedTwice(org: OrgFixture) {
    const g = await db.admin.query(
      `insert into games (org_id, name, slug) values ($1, 'Game', 'g') returning id`,
      [org.orgId],
    );
    const gameId = g.rows[0].id as string;
    const cheater = { id: 'acct-cheater', name: 'Cheater' };
    const first = { id: 'acct-first', name: 'FirstReporter' };
    const second = { id: 'acct-second', name: 'Whistleblower Wendy' };
    const run = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.app, org.orgId, fn);
    const a = await run((tx) =>
      reportFromGame(tx, gameId, {
        reporter: first,
        reported: cheater,
        reason: 'cheating',
        message: 'aimbot',
      }),
    );
    await run((tx) => foldReports(tx));
    await run((tx) =>
      reportFromGame(tx, gameId, {
        reporter: second,
        reported: cheater,
        reason: 'cheating',
        message: 'I am Wendy, his clan mate; he told me on voice he pays for the hack',
      }),
    );
    await run((tx) => foldReports(tx));
    const ids = async (account: string) =>
      (
        await db.admin.query(`select id from player_profiles where org_id = $1 and game_account_id = $2`, [
          org.orgId,
          account,
        ])
      ).rows[0].id as string;
    const firstPlayerId = (
      await db.admin.query('select reporter_id from player_reports where id = $1', [a.report.id])
    ).rows[0].reporter_id as string;
    return {
      run,
      firstPlayerId,
      secondPlayerId: await ids('acct-second'),
      cheaterId: await ids('acct-cheater'),
    };
  }

  it("does not hand one reporter another reporter's report and identity", async () => {
    const org = await makeOrg(db.app);
    const { run, firstPlayerId, secondPlayerId } = await reportedTwice(org);
    const dossier = await run((tx) => playerDossier(tx, firstPlayerId));
    const text = JSON.stringify(dossier);
    expect(text, "the second reporter's words").not.toContain('he told me on voice');
    expect(text, "the second reporter's player id").not.toContain(secondPlayerId);
    expect(text, "the second reporter's name").not.toContain('Whistleblower Wendy');
    // Their own report stays: the ticket it opened, its message and its event.
    expect(dossier.tickets).toHaveLength(1);
    expect((dossier.messages ?? []).map((m) => m.body)).toContain('aimbot');
    expect((dossier.ticket_events ?? []).filter((e) => e.type === 'player.reported')).toHaveLength(1);
    expect((dossier.player_reports ?? []).map((r) => r.details)).toEqual(['aimbot']);
  });

  it('does not tell the reported player who reported them, nor what the reporters wrote', async () => {
    const org = await makeOrg(db.app);
    const { run, firstPlayerId, secondPlayerId, cheaterId } = await reportedTwice(org);
    const dossier = await run((tx) => playerDossier(tx, cheaterId));
    const text = JSON.stringify(dossier);
    for (const [what, needle] of [
      ['first reporter id', firstPlayerId],
      ['second reporter id', secondPlayerId],
      ['first reporter name', 'FirstReporter'],
      ['second reporter name', 'Whistleblower Wendy'],
      ['second reporter words', 'he told me on voice'],
      ['first reporter words', 'aimbot'],
    ])
      expect(text, what).not.toContain(needle);
    // That they were reported, and why, is theirs.
    expect(dossier.player_reports).toHaveLength(2);
    expect((dossier.player_reports ?? []).map((r) => r.reason)).toEqual(['cheating', 'cheating']);
  });

  it("leaves the ticket's and messages' internal columns out (credentials, claims, errors)", async () => {
    const org = await makeOrg(db.app);
    const w = await tracedPlayer(org, 'Sealbreaker');
    await db.admin.query(
      `update tickets set discord_webhook_token = 'sealed-token-secret', delivery_error = 'upstream 500 secret'
        where id = $1`,
      [w.ticketId],
    );
    await db.admin.query(
      `update messages set discord_claim = 'claim-secret', discord_claimed_until = now() where ticket_id = $1`,
      [w.ticketId],
    );
    const dossier = await withTenant(db.app, org.orgId, (tx) => playerDossier(tx, w.playerId));
    const text = JSON.stringify(dossier);
    for (const secret of ['sealed-token-secret', 'upstream 500 secret', 'claim-secret'])
      expect(text).not.toContain(secret);
    for (const internal of ['discord_webhook_token', 'discord_webhook_id', 'discord_claim', 'delivery_error'])
      for (const row of [...(dossier.tickets ?? []), ...(dossier.messages ?? [])])
        expect(row).not.toHaveProperty(internal);
    expect(dossier.tickets?.[0]).toMatchObject({ id: w.ticketId, subject: 'Sealbreaker lost a sword' });
  });
});

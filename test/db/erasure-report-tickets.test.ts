import { describe, expect, it } from 'vitest';
import { gamePlayerInput, upsertGamePlayer } from '../../db/game-players.js';
import { createGame } from '../../db/games.js';
import { createLinkCode, redeemLinkCode } from '../../db/link-codes.js';
import { setModeration } from '../../db/player-moderation.js';
import { erasePlayer } from '../../db/player-privacy.js';
import { reportFromGame } from '../../db/player-reports.js';
import { listPlayers, upsertPlayer } from '../../db/players.js';
import { foldReports } from '../../db/report-fold.js';
import { withTenant } from '../../db/tenant.js';
import { addNote } from '../../db/ticket-actions.js';
import { setPriority } from '../../db/ticket-status.js';
import * as tickets from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { findAnywhere } from './privacy-support.js';

const db = useTestDb();

/**
 * A report ticket worked by staff: R reports D from the game (with evidence), staff
 * reply, write a note, raise the priority and ban D on the report; R adds a message.
 */
async function workedReport(org: OrgFixture, who: { reporter: string; reported: string }) {
  const { reporter: R, reported: D } = who;
  const game = await db.admin.query(
    `insert into games (org_id, name, slug) values ($1, 'Game', $2) returning id`,
    [org.orgId, `g-${org.orgId.slice(0, 8)}`],
  );
  const gameId = game.rows[0].id as string;
  const { report } = await withTenant(db.app, org.orgId, (tx) =>
    reportFromGame(tx, gameId, {
      reporter: { id: `${R.toLowerCase()}-acct`, name: `${R} Reporter` },
      reported: { id: `${D.toLowerCase()}-acct`, name: `${D} Cheater` },
      reason: 'cheating',
      message: `${R} saw an aimbot in ranked`,
      matchId: 'match-77',
      evidence: { clip: `${R.toLowerCase()}-clip-1` },
    }),
  );
  await withTenant(db.app, org.orgId, (tx) => foldReports(tx));
  const ids = await db.admin.query(`select reporter_id, reported_id from player_reports where id = $1`, [
    report.id,
  ]);
  const { reporter_id: reporterId, reported_id: reportedId } = ids.rows[0];
  const ticketId = report.ticketId;
  await withTenant(db.app, org.orgId, async (tx) => {
    await tickets.reply(
      tx,
      { ticketId, body: `Thanks, we are reviewing ${D} Cheater in match-77`, origin: 'panel' },
      org.owner,
    );
    await addNote(tx, { ticketId, body: 'Replay checked: wallhack confirmed, 7-day ban' }, org.owner);
    await setPriority(tx, { ticketId, priority: 'high' }, org.owner);
    await setModeration(
      tx,
      reportedId,
      { bannedUntil: '2099-01-01T00:00:00Z', reason: 'Wallhack confirmed on replay', reportId: report.id },
      org.owner,
    );
    await tickets.reply(
      tx,
      { ticketId, body: `${R} here, one more clip`, origin: 'game' },
      { type: 'player', id: reporterId },
    );
  });
  return { ticketId, reportId: report.id, reporterId, reportedId };
}

const staffHistory = async (ticketId: string) =>
  (
    await db.admin.query(
      `select type, data from ticket_events where ticket_id = $1 and actor_type = 'user' order by id`,
      [ticketId],
    )
  ).rows;

/** What moderators work from, as a superuser sees it. */
async function ticketState(ticketId: string, reportId: string) {
  const a = db.admin;
  const t = await a.query('select subject, tags, custom_fields from tickets where id = $1', [ticketId]);
  const notes = await a.query('select body from ticket_notes where ticket_id = $1', [ticketId]);
  const staff = await a.query(
    `select body from messages where ticket_id = $1 and author_user_id is not null order by created_at`,
    [ticketId],
  );
  const rep = await a.query('select status, resolution from player_reports where id = $1', [reportId]);
  const audit = await a.query(
    `select action, data from audit_logs where target_id = $1 and actor_type = 'user' order by id`,
    [ticketId],
  );
  return {
    ticket: t.rows[0],
    notes: notes.rows.map((r) => r.body),
    staffMessages: staff.rows.map((r) => r.body),
    report: rep.rows[0],
    history: await staffHistory(ticketId),
    audit: audit.rows,
  };
}

describe('erasing a player on either side of a report', () => {
  it("keeps the staff's notes, actions and the report's outcome when the reported player is erased", async () => {
    const org = await makeOrg(db.app, 'Reported erased');
    const w = await workedReport(org, { reporter: 'Aquillo', reported: 'Draventh' });
    const before = await ticketState(w.ticketId, w.reportId);
    expect(before.history.length).toBeGreaterThan(1);
    await withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, w.reportedId, org.owner));
    const after = await ticketState(w.ticketId, w.reportId);
    expect(after.notes, 'staff notes').toEqual(before.notes);
    expect(after.report, "the report's outcome").toEqual({
      status: 'actioned',
      resolution: 'Wallhack confirmed on replay',
    });
    expect(after.history, "staff's history of the ticket").toEqual(
      before.history.map((e) =>
        JSON.parse(JSON.stringify(e).replaceAll('Draventh Cheater', 'an erased player')),
      ),
    );
    expect(after.audit, "staff's audit entries on the ticket").toEqual(before.audit);
    expect(after.staffMessages).toEqual(['Thanks, we are reviewing an erased player in match-77']);
    expect(after.ticket.tags).toContain('report');
    expect(after.ticket.custom_fields.report).toEqual({
      reason: 'cheating',
      evidence: { clip: 'aquillo-clip-1' },
    });
    expect(after.ticket.custom_fields.game).toMatchObject({ playerName: 'Aquillo Reporter' });
    expect(await findAnywhere(db, ['Draventh', 'draventh-acct'])).toEqual([]);
  });

  it('keeps the report ticket for moderators when its reporter (the requester) is erased, without their data', async () => {
    const org = await makeOrg(db.app, 'Reporter erased');
    const w = await workedReport(org, { reporter: 'Quillon', reported: 'Brevok' });
    const before = await ticketState(w.ticketId, w.reportId);
    await withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, w.reporterId, org.owner));
    const after = await ticketState(w.ticketId, w.reportId);
    expect(after.notes, 'staff notes').toEqual(before.notes);
    expect(after.staffMessages, 'staff replies').toEqual(before.staffMessages);
    expect(after.report, "the report's outcome").toEqual(before.report);
    expect(after.history, "staff's history of the ticket").toEqual(before.history);
    expect(after.audit, "staff's audit entries on the ticket").toEqual(before.audit);
    // The ticket still says who was reported and why; the reporter's game identity and evidence go.
    expect(after.ticket.subject).toBe(before.ticket.subject);
    expect(after.ticket.tags).toContain('report');
    expect(after.ticket.custom_fields).toEqual({
      report: { reason: 'cheating', reportedPlayerId: 'brevok-acct', reportedPlayerName: 'Brevok Cheater' },
    });
    const theirs = await db.admin.query(
      `select body from messages where ticket_id = $1 and author_user_id is null order by created_at`,
      [w.ticketId],
    );
    expect(theirs.rows.map((r) => r.body)).toEqual(['', '']);
    expect(await findAnywhere(db, ['Quillon', 'quillon-acct'])).toEqual([]);
  });
});

describe('a report waiting for the fold when a player it names is erased', () => {
  async function queued(org: OrgFixture, who: { reporter: string; reported: string }) {
    const { reporter: R, reported: D } = who;
    const game = await db.admin.query(
      `insert into games (org_id, name, slug) values ($1, 'Game', $2) returning id`,
      [org.orgId, `q-${org.orgId.slice(0, 8)}`],
    );
    const { report } = await withTenant(db.app, org.orgId, (tx) =>
      reportFromGame(tx, game.rows[0].id, {
        reporter: { id: `${R.toLowerCase()}-acct`, name: `${R} Reporter` },
        reported: { id: `${D.toLowerCase()}-acct`, name: `${D} Cheater` },
        reason: 'cheating',
        message: `${D} Cheater used an aimbot`,
        evidence: { clip: `${R.toLowerCase()}-clip-1` },
      }),
    );
    const ids = await db.admin.query('select reporter_id, reported_id from player_reports where id = $1', [
      report.id,
    ]);
    return { report, reporterId: ids.rows[0].reporter_id, reportedId: ids.rows[0].reported_id };
  }
  const filed = async (ticketId: string) =>
    (
      await db.admin.query('select subject, requester_id, custom_fields from tickets where id = $1', [
        ticketId,
      ])
    ).rows[0];

  it('files it about "an erased player" when the reported player was erased in between', async () => {
    const org = await makeOrg(db.app, 'Fold reported erased');
    const q = await queued(org, { reporter: 'Cerrin', reported: 'Zorvath' });
    await withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, q.reportedId, org.owner));
    expect(await withTenant(db.app, org.orgId, (tx) => foldReports(tx))).toEqual({ reports: 1, opened: 1 });
    const t = await filed(q.report.ticketId);
    expect(t.subject).toBe('Report: an erased player (cheating)');
    expect(t.custom_fields.report).toEqual({ reason: 'cheating', evidence: { clip: 'cerrin-clip-1' } });
    const rep = await db.admin.query('select ticket_id, reported_id from player_reports where id = $1', [
      q.report.id,
    ]);
    expect(rep.rows[0]).toEqual({ ticket_id: q.report.ticketId, reported_id: q.reportedId });
    expect(await findAnywhere(db, ['Zorvath'])).toEqual([]);
  });

  it("files it without the reporter's words, identity or evidence when the reporter was erased in between", async () => {
    const org = await makeOrg(db.app, 'Fold reporter erased');
    const q = await queued(org, { reporter: 'Pellam', reported: 'Morvane' });
    await withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, q.reporterId, org.owner));
    expect(await withTenant(db.app, org.orgId, (tx) => foldReports(tx))).toEqual({ reports: 1, opened: 1 });
    const t = await filed(q.report.ticketId);
    expect(t).toMatchObject({ subject: 'Report: Morvane Cheater (cheating)', requester_id: q.reporterId });
    expect(t.custom_fields).toEqual({
      report: { reason: 'cheating', reportedPlayerId: 'morvane-acct', reportedPlayerName: 'Morvane Cheater' },
    });
    expect(await findAnywhere(db, ['Pellam'])).toEqual([]);
  });
});

describe("redacting an erased player's name and ids on report tickets", () => {
  it('replaces them only as whole words, never inside other words, ids or dates', async () => {
    const org = await makeOrg(db.app, 'Whole tokens');
    const game = await db.admin.query(
      `insert into games (org_id, name, slug) values ($1, 'Game', $2) returning id`,
      [org.orgId, `w-${org.orgId.slice(0, 8)}`],
    );
    const { report } = await withTenant(db.app, org.orgId, (tx) =>
      reportFromGame(tx, game.rows[0].id, {
        reporter: { id: '20261', name: 'Reliable Reporter' },
        reported: { id: '2026', name: 'Max' },
        reason: 'cheating',
      }),
    );
    await withTenant(db.app, org.orgId, (tx) => foldReports(tx));
    const ids = await db.admin.query('select reported_id from player_reports where id = $1', [report.id]);
    const note = 'Maximum penalty is for repeat offenders; reporter 20261 has been reliable since 2026-01-03';
    await withTenant(db.app, org.orgId, async (tx) => {
      await addNote(tx, { ticketId: report.ticketId, body: note }, org.owner);
      await addNote(tx, { ticketId: report.ticketId, body: 'Banned max (2026) for a week' }, org.owner);
    });
    await withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, ids.rows[0].reported_id, org.owner));
    const notes = await db.admin.query(
      'select body from ticket_notes where ticket_id = $1 order by created_at',
      [report.ticketId],
    );
    expect(notes.rows.map((r) => r.body)).toEqual([
      note,
      'Banned an erased player (an erased player) for a week',
    ]);
  });

  it('redacts JSON string values only, never keys or parts of ids', async () => {
    const json = '{"status":"open","reportId":"5e2f0d4a-1c2b-4bfe-9d3a-0c7e2a1b9f10"}';
    const same = await db.admin.query(`select gm_redact($1, array['Status','bfe'], true) as out`, [json]);
    expect(same.rows[0].out).toBe(json);
    const nested = await db.admin.query(
      `select gm_redact($1, array['Max','2026','Al'], true)::jsonb as out`,
      [
        '{"max":{"who":["Max","Maximum","Al","Alan","al"]},"note":"max was (2026) on 2026-01-03, 20261 fine","n":2026}',
      ],
    );
    expect(nested.rows[0].out).toEqual({
      max: { who: ['an erased player', 'Maximum', 'an erased player', 'Alan', 'an erased player'] },
      note: 'an erased player was (an erased player) on 2026-01-03, 20261 fine',
      n: 2026,
    });
  });
});

describe('erasing a player who linked accounts of two games', () => {
  it("takes both accounts' names and ids, from their rows and from staff's words on a report", async () => {
    const org = await makeOrg(db.app, 'Two games erased');
    const w = await withTenant(db.app, org.orgId, async (tx) => {
      const quest = await createGame(tx, { name: 'Quest', slug: 'quest' }, org.owner);
      const arena = await createGame(tx, { name: 'Arena', slug: 'arena' }, org.owner);
      const player = await upsertPlayer(tx, {
        displayName: 'Nyx on Discord',
        discordUserId: '888000000000000042',
      });
      for (const [gameId, account] of [
        [quest.id, { id: 'qacct-5511', name: 'Quorra Lyn' }],
        [arena.id, { id: 'bacct-9924', name: 'Bexley Onyx' }],
      ] as const) {
        const p = await upsertGamePlayer(tx, gameId, gamePlayerInput.parse(account));
        const { code } = await createLinkCode(tx, p.id);
        await redeemLinkCode(tx, { code, discordUserId: '888000000000000042' }, { type: 'system' });
      }
      const { report } = await reportFromGame(tx, arena.id, {
        reporter: { id: 'bacct-9924', name: 'Bexley Onyx' },
        reported: { id: 'cheat-1', name: 'Somebody Else' },
        reason: 'cheating',
      });
      return { playerId: player.id, ticketId: report.ticketId };
    });
    await withTenant(db.app, org.orgId, async (tx) => {
      await foldReports(tx);
      await tickets.reply(
        tx,
        { ticketId: w.ticketId, body: 'Thanks Bexley Onyx (bacct-9924)', origin: 'panel' },
        org.owner,
      );
    });
    await withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, w.playerId, org.owner));
    expect(await findAnywhere(db, ['Quorra Lyn', 'qacct-5511', 'Bexley Onyx', 'bacct-9924'])).toEqual([]);
    expect(await withTenant(db.app, org.orgId, (tx) => listPlayers(tx, { q: 'Quorra Lyn' }))).toEqual([]);
  });
});

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReportIntake } from '../../api/report-intake.js';
import { gameReportInput, reportsFromGame } from '../../db/player-reports.js';
import type { Pool } from '../../db/pool.js';
import { foldReports } from '../../db/report-fold.js';
import { withTenant } from '../../db/tenant.js';
import { setStatus } from '../../db/ticket-status.js';
import { AppError } from '../../lib/errors.js';
import { foldPlayerReports } from '../../workers/report-fold.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { testDeps } from '../workers/support.js';
import { newSdkGame, type SdkGame, sdkCall } from './sdk-support.js';
import { expectError } from './settings-support.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let game: SdkGame;
let owner: Caller;

const GENEROUS = {
  key: { burst: 10_000, perMinute: 100_000 },
  player: { burst: 10_000, perMinute: 100_000 },
  address: { burst: 10_000, perMinute: 100_000 },
};

beforeAll(async () => {
  api = await startTestApi(db.app, { sdkRateLimits: GENEROUS });
  org = await makeOrg(db.app, 'Reports');
  game = await newSdkGame(db, org, 'arena');
  owner = await api.sessionFor(org.ownerId);
});
afterAll(() => api.close());

const report = (reporter: string, reported: string, extra: Record<string, unknown> = {}) =>
  sdkCall(api, game.clientKey, 'POST', '/reports', {
    reporter: { id: reporter, name: `Reporter ${reporter}` },
    reported: { id: reported, name: `Suspect ${reported}` },
    reason: 'cheating',
    ...extra,
  });

const fold = () => withTenant(db.app, org.orgId, (tx) => foldReports(tx));

const rows = (ids: string[]) =>
  db.admin.query<{ id: string; ticket_id: string | null; queued_ticket_id: string | null }>(
    'select id, ticket_id, queued_ticket_id from player_reports where id = any($1::uuid[]) order by created_at',
    [ids],
  );

describe('player reports: accepted at once, folded into one moderation ticket per reported player', () => {
  it('files every report about a player on one ticket, with an event and a history row per report', async () => {
    const answers = await Promise.all([
      report('p:1', 'cheater:1', { message: 'wallhack', matchId: 'm-1' }),
      report('p:2', 'cheater:1', { message: 'aimbot' }),
      report('p:3', 'cheater:1'),
      report('p:1', 'cheater:2', { reason: 'harassment' }),
    ]);
    for (const a of answers) expect(a.statusCode, a.body).toBe(201);
    const [a, b, c, d] = answers.map((x) => x.json().report as { id: string; ticketId: string });
    expect(new Set([a?.ticketId, b?.ticketId, c?.ticketId]).size).toBe(1);
    expect(d?.ticketId).not.toBe(a?.ticketId);
    const ids = [a, b, c, d].map((r) => r?.id as string);
    // Accepted, not folded yet: durable, waiting with the promised ticket.
    expect((await rows(ids)).rows.every((r) => r.ticket_id === null && r.queued_ticket_id !== null)).toBe(
      true,
    );

    expect(await fold()).toEqual({ reports: 4, opened: 2 });
    const after = await rows(ids);
    expect(after.rows.map((r) => [r.ticket_id, r.queued_ticket_id]).sort()).toEqual(
      [a, b, c, d].map((r) => [r?.ticketId, null]).sort(),
    );
    const t = await api.call(owner, { method: 'GET', url: `/v1/orgs/${org.orgId}/tickets/${a?.ticketId}` });
    expect(t.statusCode, t.body).toBe(200);
    expect(t.json().ticket.tags).toEqual(['report']);
    expect(t.json().ticket.customFields.report).toMatchObject({
      reason: 'cheating',
      reportedPlayerId: 'cheater:1',
      reportedPlayerName: 'Suspect cheater:1',
    });
    const events = await db.admin.query<{ payload: { report: { id: string; ticketId: string } } }>(
      `select payload from outbox where org_id = $1 and event_type = 'player.reported' order by id`,
      [org.orgId],
    );
    expect(events.rows.map((e) => [e.payload.report.id, e.payload.report.ticketId]).sort()).toEqual(
      [a, b, c, d].map((r) => [r?.id, r?.ticketId]).sort(),
    );
    const history = await db.admin.query<{ n: number }>(
      `select count(*)::int as n from ticket_events where ticket_id = $1 and type = 'player.reported'`,
      [a?.ticketId],
    );
    expect(history.rows[0]?.n).toBe(3);
    // Nothing left to fold: a second pass is a no-op.
    expect(await fold()).toEqual({ reports: 0, opened: 0 });

    // A later report about the same player goes into the same open ticket, opening nothing.
    const e = (await report('p:4', 'cheater:1')).json().report;
    expect(e.ticketId).toBe(a?.ticketId);
    expect(await fold()).toEqual({ reports: 1, opened: 0 });
  });

  it('starts a new ticket once staff solve the player’s ticket', async () => {
    const first = (await report('p:5', 'cheater:3')).json().report;
    await fold();
    await withTenant(db.app, org.orgId, (tx) =>
      setStatus(tx, { ticketId: first.ticketId, status: 'solved' }, org.owner),
    );
    const next = (await report('p:6', 'cheater:3')).json().report;
    expect(next.ticketId).not.toBe(first.ticketId);
    expect(await fold()).toEqual({ reports: 1, opened: 1 });
    const t = await api.call(owner, { method: 'GET', url: `/v1/orgs/${org.orgId}/tickets/${next.ticketId}` });
    expect(t.json().ticket.status).toBe('open');
  });

  it('gives concurrent first reports about a new player one ticket, and a repeat its first answer', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        report(`crowd:${i}`, 'cheater:new', {}).then((r) => r.json().report as { ticketId: string }),
      ),
    );
    expect(new Set(answers.map((a) => a.ticketId)).size).toBe(1);
    const keyed = await sdkCall(
      api,
      game.clientKey,
      'POST',
      '/reports',
      { reporter: { id: 'p:7', name: 'Seven' }, reported: { id: 'cheater:4', name: 'Four' }, reason: 'spam' },
      { 'idempotency-key': 'k-1' },
    );
    expect(keyed.statusCode).toBe(201);
    await fold();
    const again = await sdkCall(
      api,
      game.clientKey,
      'POST',
      '/reports',
      { reporter: { id: 'p:7', name: 'Seven' }, reported: { id: 'cheater:4', name: 'Four' }, reason: 'spam' },
      { 'idempotency-key': 'k-1' },
    );
    expect(again.statusCode).toBe(200);
    expect(again.json().report).toEqual(keyed.json().report);
    const tickets = await db.admin.query<{ n: number }>(
      `select count(*)::int as n from tickets where org_id = $1 and id = $2`,
      [org.orgId, answers[0]?.ticketId],
    );
    expect(tickets.rows[0]?.n).toBe(1);
  });

  it('refuses a blocked reporter but takes reports about a blocked player', async () => {
    await report('p:blocked', 'cheater:5');
    await report('p:8', 'p:blocked');
    await db.admin.query(
      `update player_profiles set blocked_at = now() where org_id = $1 and game_account_id = 'p:blocked'`,
      [org.orgId],
    );
    expectError(await report('p:blocked', 'cheater:5'), 403, 'forbidden');
    expect((await report('p:9', 'p:blocked')).statusCode).toBe(201);
  });

  it('accepts a batch in one transaction: a repeat key within it answers its first, a blocked reporter only its own slot', async () => {
    await report('p:banned', 'cheater:7');
    await db.admin.query(
      `update player_profiles set blocked_at = now() where org_id = $1 and game_account_id = 'p:banned'`,
      [org.orgId],
    );
    const item = (reporter: string, reported: string, key?: string) => ({
      gameId: game.gameId,
      input: gameReportInput.parse({
        reporter: { id: reporter, name: reporter },
        reported: { id: reported, name: reported },
        reason: 'exploiting',
      }),
      idempotencyKey: key,
    });
    const out = await withTenant(db.app, org.orgId, (tx) =>
      reportsFromGame(tx, [
        item('b:1', 'cheater:8', 'same'),
        item('p:banned', 'cheater:8'),
        item('b:1', 'cheater:8', 'same'),
        item('b:2', 'cheater:9'),
      ]),
    );
    const [first, blocked, repeat, other] = out;
    expect(first).toMatchObject({ created: true });
    expect(blocked).toBeInstanceOf(AppError);
    expect(repeat).toEqual({ ...(first as object), created: false });
    expect(other).toMatchObject({ created: true });
    const n = await db.admin.query<{ n: number }>(
      `select count(*)::int as n from player_reports where org_id = $1 and reason = 'exploiting'`,
      [org.orgId],
    );
    expect(n.rows[0]?.n).toBe(2);
  });

  it('takes a player id Postgres stores differently than it came (a lone surrogate)', async () => {
    const r = await report('p:11', '\udfff\ud800');
    expect(r.statusCode, r.body).toBe(201);
    expect((await report('p:12', '\udfff\ud800')).json().report.ticketId).toBe(r.json().report.ticketId);
  });

  it('accepts a batch of reports in one round trip that leaves no tenant on the connection', async () => {
    // Every statement the intake sends, on one connection that the test then looks at.
    const client = await db.app.connect();
    const sent: string[] = [];
    const counted = (q: string | pg.QueryConfig) => sent.push(typeof q === 'string' ? q : q.text);
    const pool = {
      query: (q: pg.QueryConfig, values?: unknown[]) => {
        counted(q);
        return client.query(q, values);
      },
      connect: async () => ({
        query: (q: pg.QueryConfig, values?: unknown[]) => {
          counted(q);
          return client.query(q, values);
        },
        release: () => {},
      }),
    } as unknown as Pool;
    try {
      const intake = new ReportIntake(pool);
      const item = (reporter: string, reported: string, key?: string) => ({
        gameId: game.gameId,
        input: gameReportInput.parse({
          reporter: { id: reporter, name: reporter },
          reported: { id: reported, name: reported },
          reason: 'spam',
        }),
        idempotencyKey: key,
      });
      // The first goes alone; the two that come while it commits go together.
      const answers = await Promise.all([
        intake.accept(org.orgId, item('rt:1', 'cheater:rt')),
        intake.accept(org.orgId, item('rt:2', 'cheater:rt', 'rt-key')),
        intake.accept(org.orgId, item('rt:3', 'cheater:rt2')),
      ]);
      expect(answers.map((a) => a.created)).toEqual([true, true, true]);
      expect(new Set(answers.slice(0, 2).map((a) => a.report.ticketId)).size).toBe(1);
      expect(sent).toHaveLength(2);
      const left = await client.query<{ org: string; open: boolean }>(
        `select coalesce(current_setting('app.org_id', true), '') as org,
                txid_current_if_assigned() is not null as open`,
      );
      expect(left.rows[0]).toEqual({ org: '', open: false });
      const stored = await db.admin.query<{ n: number }>(
        `select count(*)::int as n from player_reports where org_id = $1 and id = any($2::uuid[])`,
        [org.orgId, answers.map((a) => a.report.id)],
      );
      expect(stored.rows[0]?.n).toBe(3);
    } finally {
      client.release();
    }
  });

  it('refuses to accept reports for one organization inside a transaction bound to another', async () => {
    const other = await makeOrg(db.app, 'Reports elsewhere');
    const call = withTenant(db.app, other.orgId, (tx) =>
      tx.query(
        `select * from gm_accept_game_reports($1::uuid, $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::int[],
           $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[])`,
        [
          org.orgId,
          [game.gameId, game.gameId],
          ['x:1', 'x:2'],
          ['X1', 'X2'],
          [randomUUID()],
          [1],
          [2],
          ['spam'],
          ...Array<unknown[]>(4).fill([null]),
        ],
      ),
    );
    await expect(call).rejects.toMatchObject({ code: 'not_found' });
    const n = await db.admin.query<{ n: number }>(
      `select count(*)::int as n from player_profiles where org_id = $1 and game_account_id like 'x:%'`,
      [org.orgId],
    );
    expect(n.rows[0]?.n).toBe(0);
  });

  it("follows a player's latest name, the last one a batch gives", async () => {
    const item = (reporter: string, name: string, reported: string) => ({
      gameId: game.gameId,
      input: gameReportInput.parse({
        reporter: { id: reporter, name },
        reported: { id: reported, name: `Suspect ${reported}` },
        reason: 'griefing',
      }),
    });
    await withTenant(db.app, org.orgId, (tx) =>
      reportsFromGame(tx, [item('ren:1', 'Old name', 'cheater:ren')]),
    );
    const out = await withTenant(db.app, org.orgId, (tx) =>
      reportsFromGame(tx, [
        item('ren:1', 'Newer name', 'cheater:ren'),
        item('ren:2', 'Two', 'cheater:ren'),
        item('ren:1', 'Newest name', 'cheater:ren2'),
      ]),
    );
    expect(out.map((r) => !(r instanceof AppError) && r.created)).toEqual([true, true, true]);
    const names = await db.admin.query<{ game_account_id: string; display_name: string }>(
      `select game_account_id, display_name from player_profiles
        where org_id = $1 and game_account_id like 'ren:%' order by 1`,
      [org.orgId],
    );
    expect(names.rows).toEqual([
      { game_account_id: 'ren:1', display_name: 'Newest name' },
      { game_account_id: 'ren:2', display_name: 'Two' },
    ]);
  });

  it('is folded by the workers for every organization with reports waiting', async () => {
    const other = await makeOrg(db.app, 'Reports B');
    const otherGame = await newSdkGame(db, other, 'arena');
    const r1 = (await report('p:10', 'cheater:6')).json().report;
    const r2 = (
      await sdkCall(api, otherGame.clientKey, 'POST', '/reports', {
        reporter: { id: 'q:1', name: 'Q' },
        reported: { id: 'q:2', name: 'R' },
        reason: 'griefing',
      })
    ).json().report;
    const env = testDeps(db.app, 'gm-report-fold');
    try {
      const r = await foldPlayerReports(env.deps);
      expect(r.orgs).toBe(2);
    } finally {
      await env.close();
    }
    const filed = await rows([r1.id, r2.id]);
    expect(filed.rows.map((r) => r.ticket_id).sort()).toEqual([r1.ticketId, r2.ticketId].sort());
  });
});

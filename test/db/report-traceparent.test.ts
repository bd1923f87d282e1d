import { context, propagation, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGame } from '../../db/games.js';
import { acceptGameReports, type ReportItem, reportFromGame } from '../../db/player-reports.js';
import { foldReports } from '../../db/report-fold.js';
import { withTenant } from '../../db/tenant.js';
import { contextFromTraceparent } from '../../lib/trace-context.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb();
// What lib/telemetry-sdk.ts registers when tracing is on (without it no context is ever active),
// minus the exporter: spans are made and dropped.
beforeAll(() => {
  new NodeTracerProvider().register();
});
afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

const tp = (n: number) => `00-${String(n).padStart(32, 'a')}-${String(n).padStart(16, 'b')}-01`;

const item = (
  gameId: string,
  reporter: string,
  reported: string,
  traceparent?: string | null,
): ReportItem => ({
  gameId,
  input: {
    reporter: { id: reporter, name: reporter },
    reported: { id: reported, name: reported },
    reason: 'cheating',
  },
  ...(traceparent === undefined ? {} : { traceparent }),
});

async function setup() {
  const org = await makeOrg(db.app, 'Traced reports');
  const game = await withTenant(db.app, org.orgId, (tx) =>
    createGame(tx, { name: 'g', slug: 'g' }, org.owner),
  );
  return { org, gameId: game.id };
}

const outbox = (orgId: string) =>
  db.admin.query<{ event_type: string; traceparent: string | null; payload: { report?: { id: string } } }>(
    'select event_type, traceparent, payload from outbox where org_id = $1 order by id',
    [orgId],
  );

describe("a player report's trace context, from its acceptance to its events", () => {
  it('is kept per report in a batch and written on each player.reported, the ticket taking the first', async () => {
    const { org, gameId } = await setup();
    // Two batches: the fold takes reports oldest first, and the first batch is older.
    const first = await acceptGameReports(db.app, org.orgId, [
      item(gameId, 'p:1', 'cheater', tp(1)),
      item(gameId, 'p:4', 'other', tp(4)),
    ]);
    const second = await acceptGameReports(db.app, org.orgId, [
      item(gameId, 'p:2', 'cheater', tp(2)),
      item(gameId, 'p:3', 'cheater', null),
    ]);
    const ids = [...first, ...second].map((r) => {
      if (r instanceof Error) throw r;
      return r.report.id;
    });
    const expected = new Map(ids.map((id, i) => [id, [tp(1), tp(4), tp(2), null][i]]));
    const stored = await db.admin.query<{ id: string; traceparent: string | null }>(
      'select id, traceparent from player_reports where id = any($1::uuid[])',
      [ids],
    );
    const byId = new Map(stored.rows.map((r) => [r.id, r.traceparent]));
    expect(byId).toEqual(expected);

    expect(await withTenant(db.app, org.orgId, (tx) => foldReports(tx))).toEqual({ reports: 4, opened: 2 });
    const rows = (await outbox(org.orgId)).rows;
    const reported = rows.filter((r) => r.event_type === 'player.reported');
    expect(new Map(reported.map((r) => [r.payload.report?.id, r.traceparent]))).toEqual(expected);
    // Each ticket opened continues its first report's trace, in a span of the fold's own.
    const traceOf = (v: string | null | undefined) => v?.split('-')[1];
    const created = rows.filter((r) => r.event_type === 'ticket.created').map((r) => traceOf(r.traceparent));
    expect(created.sort()).toEqual([traceOf(tp(1)), traceOf(tp(4))].sort());
  });

  it('takes the active context when the caller names none, and nothing when there is none', async () => {
    const { org, gameId } = await setup();
    const traced = await context.with(contextFromTraceparent(tp(7)), () =>
      withTenant(db.app, org.orgId, (tx) => reportFromGame(tx, gameId, item(gameId, 'p:1', 'x').input)),
    );
    const untraced = await withTenant(db.app, org.orgId, (tx) =>
      reportFromGame(tx, gameId, item(gameId, 'p:2', 'y').input),
    );
    const stored = await db.admin.query<{ id: string; traceparent: string | null }>(
      'select id, traceparent from player_reports where id = any($1::uuid[])',
      [[traced.report.id, untraced.report.id]],
    );
    const byId = new Map(stored.rows.map((r) => [r.id, r.traceparent]));
    expect([byId.get(traced.report.id), byId.get(untraced.report.id)]).toEqual([tp(7), null]);
  });

  it('refuses a malformed trace context rather than store it', async () => {
    const { org, gameId } = await setup();
    await expect(
      acceptGameReports(db.app, org.orgId, [item(gameId, 'p:1', 'z', '00-not-a-trace')]),
    ).rejects.toThrow();
  });
});

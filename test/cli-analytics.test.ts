import { describe, expect, it } from 'vitest';
import { storedRollups } from '../db/analytics-fold.js';
import { storedPlayerRollups } from '../db/analytics-players.js';
import { storedSentimentRollups } from '../db/analytics-sentiment.js';
import { createGame } from '../db/games.js';
import { startSession } from '../db/player-sessions.js';
import { upsertPlayer } from '../db/players.js';
import { withTenant } from '../db/tenant.js';
import { openTicket, reply } from '../db/tickets.js';
import { runCli } from './support/cli.js';
import { useTestDb } from './support/db.js';
import { makeOrg } from './support/fixtures.js';

/** `npm run cli -- analytics backfill` as a real process against this file's test database. */
const db = useTestDb();

const cli = (args: string[]) => runCli(db.appUrl, args);

describe('analytics backfill', () => {
  it('rebuilds one organization, then all, from the raw tables, tickets and player activity', async () => {
    const org = await makeOrg(db.app, 'Backfill');
    await withTenant(db.app, org.orgId, async (tx) => {
      const p = await upsertPlayer(tx, { displayName: 'Pat', email: 'pat@example.test' });
      const player = { type: 'player' as const, id: p.id };
      const { ticket } = await openTicket(tx, { subject: 'Old one', origin: 'email' }, org.owner);
      await reply(tx, { ticketId: ticket.id, body: 'Thanks, it works now', origin: 'email' }, player);
      const game = await createGame(tx, { name: 'Quest', slug: 'quest' }, org.owner);
      await startSession(tx, game.id, { player: { id: 'p1', name: 'Pat' }, platform: 'pc' });
    });
    const one = await cli(['analytics', 'backfill', '--org', org.orgId]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout.trim()).toBe(
      'rebuilt 1 organization, 1 tickets, 1 sessions, 0 reports, 1 scored messages',
    );
    const rows = await withTenant(db.app, org.orgId, (tx) => storedRollups(tx, 'daily'));
    expect(rows.map((r) => [r.kind, r.n, r.source])).toEqual([['opened', 1, 'email']]);
    const daily = await withTenant(db.app, org.orgId, (tx) => storedPlayerRollups(tx, 'player_daily'));
    expect(daily.filter((r) => r.dim === '*').map((r) => [r.sessions, r.players])).toEqual([[1, 1]]);
    const mood = await withTenant(db.app, org.orgId, (tx) => storedSentimentRollups(tx, 'sentiment_daily'));
    expect(mood.filter((r) => r.dim === '*').map((r) => [r.n, r.positive])).toEqual([[1, 1]]);
    const all = await cli(['analytics', 'backfill']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trim()).toBe(
      'rebuilt 1 organization, 1 tickets, 1 sessions, 0 reports, 1 scored messages',
    );
    const bad = await cli(['analytics', 'backfill', '--org', 'demo']);
    expect(bad.code).toBe(2);
  });
});

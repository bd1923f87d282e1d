import { describe, expect, inject, it } from 'vitest';
import { storedRollups } from '../../db/analytics-fold.js';
import { storedPlayerRollups } from '../../db/analytics-players.js';
import { storedSentimentRollups } from '../../db/analytics-sentiment.js';
import { createGame } from '../../db/games.js';
import { startSession } from '../../db/player-sessions.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket, reply } from '../../db/tickets.js';
import { foldAnalytics } from '../../workers/analytics.js';
import { startWorkerRuntime } from '../../workers/runtime.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { box, logger, loopbackOnly, tenant, testDeps, uniquePrefix, until } from './support.js';

const db = useTestDb();

const openedCount = async (orgId: string) =>
  (await tenant(db.app, orgId, (tx) => storedRollups(tx, 'daily')))
    .filter((r) => r.kind === 'opened')
    .reduce((s, r) => s + Number(r.n), 0);

const open = (orgId: string, owner: Parameters<typeof openTicket>[2]) =>
  tenant(db.app, orgId, (tx) => openTicket(tx, { subject: 'Stuck in the lobby', origin: 'panel' }, owner));

describe('analytics fold job', () => {
  it('folds every organization, each once, and a rerun finds nothing new', async () => {
    const a = await makeOrg(db.app, 'Fold A');
    const b = await makeOrg(db.app, 'Fold B');
    await open(a.orgId, a.owner);
    await open(a.orgId, a.owner);
    await open(b.orgId, b.owner);
    const t = testDeps(db.app, uniquePrefix());
    try {
      const first = await foldAnalytics(t.deps);
      expect(first.tickets).toBeGreaterThanOrEqual(3);
      expect(await openedCount(a.orgId)).toBe(2);
      expect(await openedCount(b.orgId)).toBe(1);
      expect((await foldAnalytics(t.deps)).tickets).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('folds the sessions games send into the player activity rollups, once', async () => {
    const org = await makeOrg(db.app, 'Fold players');
    await tenant(db.app, org.orgId, async (tx) => {
      const game = await createGame(tx, { name: 'Quest', slug: 'quest' }, org.owner);
      await startSession(tx, game.id, { player: { id: 'a', name: 'Ann' }, platform: 'pc' });
      await startSession(tx, game.id, { player: { id: 'a', name: 'Ann' }, platform: 'pc' });
      await startSession(tx, game.id, { player: { id: 'b', name: 'Bo' }, platform: 'ios' });
    });
    const t = testDeps(db.app, uniquePrefix());
    try {
      await until(async () => (await foldAnalytics(t.deps)).players >= 3 || undefined);
      const daily = await tenant(db.app, org.orgId, (tx) => storedPlayerRollups(tx, 'player_daily'));
      expect(daily.filter((r) => r.dim === '*').map((r) => [r.sessions, r.players])).toEqual([[3, 2]]);
      expect((await foldAnalytics(t.deps)).players).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('folds scored player messages into the sentiment rollups, once', async () => {
    const org = await makeOrg(db.app, 'Fold sentiment');
    await tenant(db.app, org.orgId, async (tx) => {
      const p = await upsertPlayer(tx, { displayName: 'Pat', email: 'pat@example.test' });
      const { ticket } = await openTicket(tx, { subject: 'Lost items', origin: 'panel' }, org.owner);
      const player = { type: 'player' as const, id: p.id };
      await reply(tx, { ticketId: ticket.id, body: 'This is broken and unfair', origin: 'email' }, player);
      await reply(tx, { ticketId: ticket.id, body: 'On it', origin: 'panel' }, org.owner);
    });
    const t = testDeps(db.app, uniquePrefix());
    try {
      await until(async () => (await foldAnalytics(t.deps)).messages >= 1 || undefined);
      const daily = await tenant(db.app, org.orgId, (tx) => storedSentimentRollups(tx, 'sentiment_daily'));
      expect(
        daily.filter((r) => r.dim === '*').map((r) => [r.n, r.negative, Number(r.score_sum) < 0]),
      ).toEqual([[1, 1, true]]);
      expect((await foldAnalytics(t.deps)).messages).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('shows a committed ticket in the rollups through the scheduled job', async () => {
    const org = await makeOrg(db.app, 'Scheduled');
    const runtime = await startWorkerRuntime({
      pool: db.app,
      redisUrl: inject('services').redisUrl,
      logger,
      box,
      webhookTargets: loopbackOnly,
      prefix: uniquePrefix(),
      relay: { enabled: false },
      schedulers: { analyticsEveryMs: 200 },
    });
    try {
      await open(org.orgId, org.owner);
      await until(async () => (await openedCount(org.orgId)) === 1);
      await open(org.orgId, org.owner);
      await until(async () => (await openedCount(org.orgId)) === 2);
    } finally {
      await runtime.stop();
    }
  });

  it('visits only the organizations with something to fold: a change, or a deleted ticket', async () => {
    const a = await makeOrg(db.app, 'Busy');
    const b = await makeOrg(db.app, 'Idle');
    await open(a.orgId, a.owner);
    const gone = await open(b.orgId, b.owner);
    const t = testDeps(db.app, uniquePrefix());
    try {
      await foldAnalytics(t.deps);
      // Nothing new anywhere: the pass opens no organization's transaction.
      expect(await foldAnalytics(t.deps)).toEqual({ orgs: 0, tickets: 0, players: 0, messages: 0 });
      await open(a.orgId, a.owner);
      expect(await foldAnalytics(t.deps)).toEqual({ orgs: 1, tickets: 1, players: 0, messages: 0 });
      expect(await openedCount(a.orgId)).toBe(2);
      // A deletion leaves no event, only the trigger's note: that org is visited and retracted.
      await withTenant(db.app, b.orgId, (tx) =>
        tx.query('delete from tickets where id = $1', [gone.ticket.id]),
      );
      expect(await foldAnalytics(t.deps)).toEqual({ orgs: 1, tickets: 1, players: 0, messages: 0 });
      expect(await openedCount(b.orgId)).toBe(0);
      expect(await foldAnalytics(t.deps)).toEqual({ orgs: 0, tickets: 0, players: 0, messages: 0 });
    } finally {
      await t.close();
    }
  });
});

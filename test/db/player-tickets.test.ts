import { beforeAll, describe, expect, it } from 'vitest';
import { createGame } from '../../db/games.js';
import { openGameTicket, playerReply, playerTicket } from '../../db/player-tickets.js';
import type { Pool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { merge } from '../../db/ticket-merge.js';
import { setStatus } from '../../db/ticket-status.js';
import { openTicket } from '../../db/tickets.js';
import { countingPool } from '../support/counting-pool.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';

const db = useTestDb();
let org: OrgFixture;
let gameId: string;

beforeAll(async () => {
  org = await makeOrg(db.app, 'Game tickets');
  gameId = await withTenant(db.app, org.orgId, async (tx) => {
    return (await createGame(tx, { name: 'quest', slug: 'quest' }, org.owner)).id;
  });
});

const open = (pool: Pool, player: string, key: string) =>
  withTenant(pool, org.orgId, (tx) =>
    openGameTicket(
      tx,
      gameId,
      { player: { id: player, name: player }, subject: 'Stuck', body: 'I fell through the map' },
      key,
    ),
  );

describe('a game ticket open', () => {
  it('takes five round trips with an idempotency key, and a replay returns the first ticket', async () => {
    const { pool, sent, release } = await countingPool(db.app);
    try {
      const first = await open(pool, 'steam:77', 'k-1');
      expect(first.created).toBe(true);
      // begin + tenant, the player with the counter lock and the replay check, the ticket with its
      // opening message, its history/audit/outbox, commit: what POST /v1 tickets takes, plus one.
      expect(sent).toHaveLength(5);
      const again = await open(pool, 'steam:77', 'k-1');
      expect(again).toEqual({ ticket: first.ticket, created: false });
    } finally {
      release();
    }
    const n = await db.admin.query<{ n: number }>(
      'select count(*)::int as n from tickets where org_id = $1::uuid',
      [org.orgId],
    );
    expect(n.rows[0]?.n).toBe(1);
  });

  it('takes four round trips for a plain open, as POST /v1 tickets makes it', async () => {
    const { pool, sent, release } = await countingPool(db.app);
    try {
      await withTenant(pool, org.orgId, (tx) =>
        openTicket(tx, { subject: 'Plain', body: 'hello', origin: 'api' }, org.owner),
      );
      // begin + tenant, the ticket with its opening message, its history/audit/outbox, commit.
      expect(sent).toHaveLength(4);
    } finally {
      release();
    }
  });

  it('opens one ticket for concurrent repeats of a key, each of a new player', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => open(db.app, 'steam:88', 'k-2')));
    expect(answers.filter((a) => a.created)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.ticket.id)).size).toBe(1);
    const numbers = await db.admin.query<{ number: number }>(
      'select number from tickets where org_id = $1::uuid order by number',
      [org.orgId],
    );
    // Gapless: a repeat never takes a number.
    expect(numbers.rows.map((r) => r.number)).toEqual([1, 2, 3]);
  });
});

describe("a game ticket merged into another player's", () => {
  it("shows the other player's messages as a participant's, and a player's own reply as theirs", async () => {
    const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.app, org.orgId, fn);
    const mine = (await open(db.app, 'steam:501', 'merge-a')).ticket;
    const theirs = (await open(db.app, 'steam:502', 'merge-b')).ticket;
    await tx((t) => merge(t, { sourceId: theirs.id, targetId: mine.id }, org.owner));
    await tx((t) => setStatus(t, { ticketId: mine.id, status: 'solved' }, org.owner));
    const answer = await tx((t) =>
      playerReply(t, gameId, gameId, theirs.id, {
        player: { id: 'steam:502', name: 'steam:502' },
        body: 'me too',
      }),
    );
    // Their game shows their own reply as theirs; staff merged them in, so it wakes the ticket.
    expect(answer.message.author).toBe('player');
    expect(answer.ticket.status).toBe('open');
    const profile = await db.admin.query<{ id: string }>(
      'select requester_id as id from tickets where id = $1',
      [mine.id],
    );
    const read = await tx((t) => playerTicket(t, profile.rows[0]!.id, gameId, mine.id));
    expect(read.messages.map((m) => [m.body, m.author])).toEqual([
      ['I fell through the map', 'player'],
      ['I fell through the map', 'participant'],
      ['me too', 'participant'],
    ]);
  });
});

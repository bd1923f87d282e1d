import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { MIGRATIONS_DIR, migrate, migrationNames } from '../../db/migrate.js';
import { useTestDb } from '../support/db.js';

const db = useTestDb();

async function superQuery<R extends pg.QueryResultRow>(db: string, sql: string, values: unknown[] = []) {
  const c = new pg.Client({ connectionString: inject('services').superUrlTemplate.replace('{db}', db) });
  await c.connect();
  try {
    return (await c.query<R>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

type Query = <R extends pg.QueryResultRow>(sql: string, values?: unknown[]) => Promise<R[]>;

/** Seeding helpers over any connection that sees every row: players, tickets and their messages. */
function seeder(q: Query, org: string) {
  let number = 0;
  return {
    player: async (name: string, linkedTo: string | null = null) =>
      (
        await q<{ id: string }>(
          `insert into player_profiles (org_id, display_name${linkedTo ? ', linked_player_id' : ''})
           values ($1, $2${linkedTo ? ', $3' : ''}) returning id`,
          linkedTo ? [org, name, linkedTo] : [org, name],
        )
      )[0]?.id as string,
    /** A ticket and its channel; merged ones are closed pointing at the ticket they went into. */
    ticket: async (requester: string | null, mergedInto: string | null = null) => {
      number += 1;
      const [t] = await q<{ id: string }>(
        `insert into tickets (org_id, number, subject, origin, requester_id, merged_into_id, status, closed_at)
         values ($1, $2, 'T', 'discord', $3, $4, case when $4::uuid is null then 'open' else 'closed' end,
                 case when $4::uuid is null then null else now() end)
         returning id`,
        [org, number, requester, mergedInto],
      );
      const id = t?.id as string;
      await q(`insert into message_channels (org_id, kind, ticket_id) values ($1, 'ticket', $2)`, [org, id]);
      return id;
    },
    /** A message on `ticket` as a player's, scored `score` (its label by sign), `minutes` ago. */
    say: async (
      ticket: string,
      body: string,
      playerId: string | null,
      score: number | null,
      minutes: number,
    ) => {
      const label = score === null ? null : score < 0 ? 'negative' : score > 0 ? 'positive' : 'neutral';
      await q(
        `insert into messages (org_id, channel_id, ticket_id, author_type, author_player_id, origin, body, created_at,
           sentiment_score, sentiment_comparative, sentiment_label, sentiment_language)
         select $1, c.id, $2, case when $3::uuid is null then 'user' else 'player' end, $3, 'discord', $4,
                now() - make_interval(mins => $5), $6::int, $6::int / 4.0, $7, case when $7::text is null then null else 'en' end
           from message_channels c where c.ticket_id = $2`,
        [org, ticket, playerId, body, minutes, score, label],
      );
    },
  };
}

const kinds = (q: Query, ticket: string) =>
  q<{ body: string; kind: string }>(
    'select body, author_kind as kind from messages where ticket_id = $1 order by created_at, id',
    [ticket],
  );
const sentiment = async (q: Query, ticket: string) =>
  (
    await q<{ label: string | null; score: number | null }>(
      'select player_sentiment_label as label, player_sentiment_score as score from tickets where id = $1',
      [ticket],
    )
  )[0];

/**
 * Tickets merged before a merge marked the source's player as a participant on the target still
 * showed that player's messages as the target's player's: the target's SLA waits, analytics,
 * player sentiment and its player's game read them as its own player's.
 */
describe("migration 233: a merged ticket's player is a participant on the ticket it went into", () => {
  it('marks their moved messages, refreshes the player sentiment and notes the tickets for a refold', async () => {
    const name = `m_${randomBytes(5).toString('hex')}`;
    await superQuery('postgres', `create database ${name} owner gamemod_owner`);
    try {
      const url = inject('services').ownerUrlTemplate.replace('{db}', name);
      const all = migrationNames();
      const at = all.findIndex((m) => m.startsWith('1000000000233_'));
      expect(at).toBeGreaterThan(0);
      await migrate(url, 'up', { count: at });
      const q: Query = (sql, values) => superQuery(name, sql, values);
      const [org] = await q<{ id: string }>(
        `insert into organizations (name, slug) values ('A', 'a-${name.slice(2)}') returning id`,
      );
      const s = seeder(q, org?.id as string);
      const [x, y, z, w] = [
        await s.player('X'),
        await s.player('Y'),
        await s.player('Z'),
        await s.player('W'),
      ];
      // X's ticket took Y's, which had taken Z's (a chain), and another of X's own.
      const a = await s.ticket(x);
      const b = await s.ticket(y, a);
      await s.ticket(z, b);
      await s.ticket(x, a);
      await s.say(a, 'thanks, great help', x, 3, 50);
      await s.say(a, 'Looking into it', null, null, 40);
      await s.say(a, 'same here (moved from X’s other ticket)', x, 0, 35);
      await s.say(a, 'worst game, garbage', y, -4, 30);
      await s.say(a, 'me too, awful', z, -2, 20);
      // Someone never merged in, written as a player before messages told participants apart.
      await s.say(a, 'bystander', w, -1, 10);
      await q(
        `update tickets set player_sentiment_label = 'negative', player_sentiment_score = -2 where id = $1`,
        [a],
      );
      // A ticket with no player of its own keeps a merged-in player's words as its player's.
      const api = await s.ticket(null);
      await s.ticket(y, api);
      await s.say(api, 'from the game', y, -3, 5);
      // Nothing merged into it: untouched.
      const plain = await s.ticket(w);
      await s.say(plain, 'mine', w, 1, 5);
      await q('delete from analytics_stale_tickets');

      expect(await migrate(url, 'up', { count: 1 })).toEqual([all[at]]);
      expect(await kinds(q, a)).toEqual([
        { body: 'thanks, great help', kind: 'player' },
        { body: 'Looking into it', kind: 'staff' },
        { body: 'same here (moved from X’s other ticket)', kind: 'player' },
        { body: 'worst game, garbage', kind: 'participant' },
        { body: 'me too, awful', kind: 'participant' },
        { body: 'bystander', kind: 'player' },
      ]);
      expect(await kinds(q, api)).toEqual([{ body: 'from the game', kind: 'player' }]);
      expect(await kinds(q, plain)).toEqual([{ body: 'mine', kind: 'player' }]);
      // The latest scored player message is the bystander's, as it was before merges counted.
      expect(await sentiment(q, a)).toEqual({ label: 'negative', score: -1 });
      const stale = await q<{ ticket_id: string }>('select ticket_id from analytics_stale_tickets');
      expect(stale.map((r) => r.ticket_id)).toEqual([a]);
      // Row-level security is forced again on what the statement read and wrote.
      const forced = await q<{ relname: string; relforcerowsecurity: boolean }>(
        `select relname, relforcerowsecurity from pg_class
          where relname in ('messages', 'tickets', 'player_profiles', 'analytics_stale_tickets') order by relname`,
      );
      expect(forced.map((r) => r.relforcerowsecurity)).toEqual([true, true, true, true]);
    } finally {
      await superQuery('postgres', `drop database ${name} with (force)`);
    }
  });

  it("keeps a merged-in game account linked to the ticket's player as the player (a schema with links)", async () => {
    // Migrations run in order, so links (migration 228) come after this one; a database already
    // holding them reads them too. Run here on the current schema, in one transaction as a migration.
    const q: Query = async (sql, values) => (await db.admin.query(sql, values)).rows;
    const [org] = await q<{ id: string }>(
      `insert into organizations (name, slug) values ('L', 'l-linked') returning id`,
    );
    const s = seeder(q, org?.id as string);
    const x = await s.player('X');
    const xGame = await s.player('X in another game', x);
    const y = await s.player('Y');
    const a = await s.ticket(x);
    await s.ticket(xGame, a);
    await s.ticket(y, a);
    await s.say(a, 'first', x, -2, 30);
    await s.say(a, 'from my other game', xGame, 2, 20);
    await s.say(a, 'not them', y, -3, 10);
    const sql = readFileSync(
      join(MIGRATIONS_DIR, '1000000000233_merged-players-as-participants.sql'),
      'utf8',
    );
    const up = sql.split('-- Down Migration')[0] as string;
    const owner = await db.owner.connect();
    try {
      await owner.query(`begin; ${up}; commit`);
    } finally {
      owner.release();
    }
    expect(await kinds(q, a)).toEqual([
      { body: 'first', kind: 'player' },
      { body: 'from my other game', kind: 'player' },
      { body: 'not them', kind: 'participant' },
    ]);
    expect(await sentiment(q, a)).toEqual({ label: 'positive', score: 2 });
  });
});

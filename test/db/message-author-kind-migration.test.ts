import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { migrate, migrationNames } from '../../db/migrate.js';

async function superQuery<R extends pg.QueryResultRow>(db: string, sql: string, values: unknown[] = []) {
  const c = new pg.Client({ connectionString: inject('services').superUrlTemplate.replace('{db}', db) });
  await c.connect();
  try {
    return (await c.query<R>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

describe('migration 218: who a message speaks for', () => {
  it("flags the messages already stored: the player's, a participant's, staff's, the system's", async () => {
    const name = `m_${randomBytes(5).toString('hex')}`;
    await superQuery('postgres', `create database ${name} owner gamemod_owner`);
    try {
      const url = inject('services').ownerUrlTemplate.replace('{db}', name);
      const all = migrationNames();
      const at = all.findIndex((m) => m.startsWith('1000000000218_'));
      expect(at).toBeGreaterThan(0);
      await migrate(url, 'up', { count: at });
      const [org] = await superQuery<{ id: string }>(
        name,
        `insert into organizations (name, slug) values ('A', 'a-${name.slice(2)}') returning id`,
      );
      const o = org?.id as string;
      const player = async (n: string) =>
        (
          await superQuery<{ id: string }>(
            name,
            'insert into player_profiles (org_id, display_name) values ($1, $2) returning id',
            [o, n],
          )
        )[0]?.id as string;
      const [p, merged, bystander, marked, mailer] = [
        await player('Player'),
        await player('Merged'),
        await player('Bystander'),
        await player('Marked'),
        await player('Mailer'),
      ];
      const [t] = await superQuery<{ id: string }>(
        name,
        `insert into tickets (org_id, number, subject, origin, requester_id) values ($1, 1, 'T', 'discord', $2)
         returning id`,
        [o, p],
      );
      const tid = t?.id as string;
      await superQuery(
        name,
        `insert into tickets (org_id, number, subject, origin, requester_id, merged_into_id, status, closed_at)
         values ($1, 2, 'S', 'discord', $2, $3, 'closed', now())`,
        [o, merged, tid],
      );
      const [ch] = await superQuery<{ id: string }>(
        name,
        `insert into message_channels (org_id, kind, ticket_id) values ($1, 'ticket', $2) returning id`,
        [o, tid],
      );
      const say = async (body: string, type: string, playerId: string | null, origin = 'discord') =>
        (
          await superQuery<{ id: string }>(
            name,
            `insert into messages (org_id, channel_id, ticket_id, author_type, author_player_id, origin, body)
             values ($1, $2, $3, $4, $5, $6, $7) returning id`,
            [o, ch?.id, tid, type, playerId, origin, body],
          )
        )[0]?.id as string;
      await say('mine', 'player', p);
      await say('from the merged ticket', 'player', merged);
      await say('same here', 'player', bystander);
      const markedId = await say('marked by its event', 'player', marked, 'game');
      await say('by mail, not the requester', 'player', mailer, 'email');
      await say('erased', 'player', null);
      await say('answer', 'user', null, 'panel');
      await say('notice', 'system', null, 'panel');
      await superQuery(
        name,
        `insert into ticket_events (org_id, ticket_id, type, actor_type, actor_id, data)
         values ($1, $2, 'message.created', 'player', $3, $4::jsonb)`,
        [o, tid, marked, JSON.stringify({ messageId: markedId, origin: 'game', participant: true })],
      );
      expect(await migrate(url, 'up', { count: 1 })).toEqual([all[at]]);
      const kinds = () =>
        superQuery<{ body: string; kind: string }>(
          name,
          'select body, author_kind as kind from messages order by created_at, id',
        );
      const expected = [
        { body: 'mine', kind: 'player' },
        { body: 'from the merged ticket', kind: 'player' },
        { body: 'same here', kind: 'participant' },
        { body: 'marked by its event', kind: 'participant' },
        // Only the event's mark tells a participant outside Discord; an erased author stays the player.
        { body: 'by mail, not the requester', kind: 'player' },
        { body: 'erased', kind: 'player' },
        { body: 'answer', kind: 'staff' },
        { body: 'notice', kind: 'system' },
      ];
      expect(await kinds()).toEqual(expected);
      // A writer that does not say gets the kind its account type implies.
      await say('new one', 'user', null, 'panel');
      expect((await kinds()).at(-1)).toEqual({ body: 'new one', kind: 'staff' });
      await migrate(url, 'down', { count: 1 });
      await migrate(url, 'up', { count: 1 });
      expect(await kinds()).toEqual([...expected, { body: 'new one', kind: 'staff' }]);
    } finally {
      await superQuery('postgres', `drop database ${name} with (force)`);
    }
  });
});

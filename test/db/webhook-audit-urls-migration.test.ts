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

describe('migration 201: webhook URLs in the audit log', () => {
  it('rewrites the full URLs already stored in webhook.created and webhook.updated entries to their origin', async () => {
    const name = `m_${randomBytes(5).toString('hex')}`;
    await superQuery('postgres', `create database ${name} owner gamemod_owner`);
    try {
      const url = inject('services').ownerUrlTemplate.replace('{db}', name);
      const all = migrationNames();
      const at = all.findIndex((m) => m.startsWith('1000000000201_'));
      expect(at).toBeGreaterThan(0);
      await migrate(url, 'up', { count: at });
      // Two organizations, so the rewrite is seen to reach every tenant.
      const orgs = await superQuery<{ id: string }>(
        name,
        `insert into organizations (name, slug) values ('A', 'a-${name.slice(2)}'), ('B', 'b-${name.slice(2)}')
         returning id`,
      );
      const [a, b] = orgs.map((o) => o.id);
      const secret = 'https://user:pw@Hooks.Example.com/catch/123/s3cr3t?key=k3y';
      await superQuery(
        name,
        `insert into audit_logs (org_id, actor_type, action, target_type, target_id, data) values
           ($1, 'user', 'webhook.created', 'webhook_subscription', 's1', $3::jsonb),
           ($2, 'user', 'webhook.updated', 'webhook_subscription', 's2', $4::jsonb),
           ($2, 'user', 'webhook.updated', 'webhook_subscription', 's2', '{"enabled": false}'),
           ($2, 'user', 'webhook.created', 'webhook_subscription', 's3', '{"url": "https://plain.example.com/"}'),
           ($2, 'user', 'api_token.created', 'api_token', 't1', $5::jsonb)`,
        [
          a,
          b,
          JSON.stringify({ url: secret, eventTypes: ['ticket.created'] }),
          JSON.stringify({ url: secret, eventTypes: ['ticket.closed'] }),
          JSON.stringify({ url: secret }),
        ],
      );
      expect(await migrate(url, 'up', { count: 1 })).toEqual([all[at]]);
      const rows = await superQuery<{ target_id: string; action: string; data: unknown }>(
        name,
        'select target_id, action, data from audit_logs order by id',
      );
      expect(rows.map((r) => r.data)).toEqual([
        { url: 'https://hooks.example.com/…', eventTypes: ['ticket.created'] },
        { urlChanged: true, url: 'https://hooks.example.com/…', eventTypes: ['ticket.closed'] },
        { enabled: false },
        { url: 'https://plain.example.com' },
        // Only the webhook entries are touched.
        { url: secret },
      ]);
      // And down and up again leaves it as it is.
      await migrate(url, 'down', { count: 1 });
      await migrate(url, 'up', { count: 1 });
      const again = await superQuery<{ data: unknown }>(name, 'select data from audit_logs order by id');
      expect(again.map((r) => r.data)).toEqual(rows.map((r) => r.data));
    } finally {
      await superQuery('postgres', `drop database ${name} with (force)`);
    }
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { recordAttachment } from '../../db/attachments.js';
import { upsertPlayer } from '../../db/players.js';
import { setRetentionPolicy } from '../../db/retention.js';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { createLogger } from '../../lib/logger.js';
import { LocalStorage } from '../../lib/storage/index.js';
import { applyRetention } from '../../workers/retention.js';
import { type TestDb, useTestDb } from '../support/db.js';
import type { OrgFixture } from '../support/fixtures.js';

/**
 * What the retention tests share: the file's database, a storage directory, one org's world of
 * old and new tickets, its policies, and a run of the policies now.
 */

const logger = createLogger('silent');

const TABLES = [
  'tickets',
  'messages',
  'attachments',
  'player_sessions',
  'audit_logs',
  'email_messages',
] as const;

/** Rows per table for one org, as a superuser sees them. */
async function counts(db: TestDb, orgId: string) {
  const out = {} as Record<(typeof TABLES)[number], number>;
  for (const t of TABLES) {
    const r = await db.admin.query(`select count(*)::int as n from ${t} where org_id = $1`, [orgId]);
    out[t] = r.rows[0].n;
  }
  return out;
}

/**
 * One org: per ticket kind (closed long ago, closed lately, open but old) a ticket with a player
 * message carrying a stored file; plus an old and a new game session and old audit entries.
 */
async function world(db: TestDb, storage: LocalStorage, org: OrgFixture) {
  const made = await withTenant(db.app, org.orgId, async (tx) => {
    const player = await upsertPlayer(tx, { displayName: 'Mira', email: `mira-${org.orgId}@example.com` });
    const out: Record<string, { ticketId: string; key: string }> = {};
    for (const kind of ['oldClosed', 'newClosed', 'oldOpen']) {
      const { ticket } = await tickets.openTicket(
        tx,
        { subject: `Lost items ${kind}`, body: 'I lost my sword', origin: 'panel', requesterId: player.id },
        org.owner,
      );
      const key = `${org.orgId}/${kind}.txt`;
      await recordAttachment(
        tx,
        {
          ticketId: ticket.id,
          filename: 'log.txt',
          contentType: 'text/plain',
          sizeBytes: 3,
          storageKey: key,
          origin: 'panel',
        },
        org.owner,
      );
      out[kind] = { ticketId: ticket.id, key };
    }
    return { player, tickets: out };
  });
  for (const t of Object.values(made.tickets))
    await storage.put(t.key, Buffer.from('log'), { contentType: 'text/plain' });
  const { ticketId: oldClosed } = made.tickets.oldClosed as { ticketId: string };
  const { ticketId: newClosed } = made.tickets.newClosed as { ticketId: string };
  const { ticketId: oldOpen } = made.tickets.oldOpen as { ticketId: string };
  const a = db.admin;
  await a.query(
    `update tickets set status = 'closed', closed_at = now() - interval '100 days', rating = 2,
            rated_at = now() - interval '99 days', rating_comment = 'Mira was unhappy' where id = $1`,
    [oldClosed],
  );
  await a.query(`update tickets set status = 'closed', closed_at = now() - interval '5 days' where id = $1`, [
    newClosed,
  ]);
  await a.query(`update tickets set created_at = now() - interval '200 days' where id = $1`, [oldOpen]);
  // Staff were told of each ticket's player reply, with an excerpt, when it came.
  await a.query(
    `insert into notifications (org_id, user_id, outbox_id, event, ticket_id, title, body, created_at)
     select $1, $2, n, 'player_replied', t, 'The player replied', 'I lost my sword',
            now() - case when n = 2 then interval '0 days' else interval '150 days' end
       from unnest($3::uuid[]) with ordinality x(t, n)`,
    [org.orgId, org.ownerId, [oldClosed, newClosed, oldOpen]],
  );
  // Every message of the old tickets is old; the new closed ticket's are recent.
  await a.query(
    `update messages set created_at = now() - interval '150 days' where ticket_id = any($1::uuid[])`,
    [[oldClosed, oldOpen]],
  );
  await a.query(
    `update attachments set created_at = now() - interval '150 days' where ticket_id = any($1::uuid[])`,
    [[oldClosed, oldOpen]],
  );
  const game = await a.query(
    `insert into games (org_id, name, slug) values ($1, 'Game', 'game') returning id`,
    [org.orgId],
  );
  await a.query(
    `insert into player_sessions (org_id, player_id, game_id, started_at, ended_at, platform, client_version, ip_hash)
     values ($1, $2, $3, now() - interval '120 days', now() - interval '119 days', 'pc', '1.0', 'h1'),
            ($1, $2, $3, now() - interval '2 days', null, 'pc', '1.1', 'h2')`,
    [org.orgId, made.player.id, game.rows[0].id],
  );
  await a.query(`update audit_logs set created_at = now() - interval '400 days' where org_id = $1`, [
    org.orgId,
  ]);
  return { ...made, oldClosed, newClosed, oldOpen, playerId: made.player.id };
}

async function policies(db: TestDb, org: OrgFixture, action: 'purge' | 'anonymise') {
  await withTenant(db.app, org.orgId, async (tx) => {
    await setRetentionPolicy(tx, { target: 'tickets', days: 90, action }, org.owner);
    await setRetentionPolicy(tx, { target: 'player_sessions', days: 30, action }, org.owner);
    await setRetentionPolicy(tx, { target: 'audit_logs', days: 365, action: 'purge' }, org.owner);
  });
}

/** The file's database and storage, and the world, policies and runs bound to them. */
export function useRetentionRig() {
  const db = useTestDb();
  let dir = '';
  let storage: LocalStorage | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gm-retention-'));
    storage = new LocalStorage(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const store = () => {
    if (!storage) throw new Error('the storage is made before the tests');
    return storage;
  };
  return {
    db,
    get storage() {
      return store();
    },
    counts: (orgId: string) => counts(db, orgId),
    world: (org: OrgFixture) => world(db, store(), org),
    policies: (org: OrgFixture, action: 'purge' | 'anonymise') => policies(db, org, action),
    run: (orgId: string, batchSize = 2) =>
      applyRetention({ pool: db.app, storage: store(), logger, now: new Date() }, orgId, { batchSize }),
  };
}

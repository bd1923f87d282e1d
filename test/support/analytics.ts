import { setTimeout as sleep } from 'node:timers/promises';
import { type FoldResult, foldOrg } from '../../db/analytics-fold.js';
import { foldPlayerActivity, type PlayerFoldResult } from '../../db/analytics-players.js';
import { foldSentiment, type SentimentFoldResult } from '../../db/analytics-sentiment.js';
import type { Pool } from '../../db/pool.js';
import { createCalendar, setDefaultCalendar } from '../../db/sla-calendars.js';
import { withTenant } from '../../db/tenant.js';
import type { OrgFixture } from './fixtures.js';

/**
 * Folds an organization once every transaction that had begun by now has ended. The fold stops
 * at the oldest transaction still running anywhere on the server (that is what keeps it from
 * skipping a late commit), and the other test files run theirs at the same time: a fold called
 * straight away may rightly fold nothing yet. The org's sessions and reports are folded into the
 * player activity rollups in the same transaction, as the workers' job does after the tickets,
 * and its messages into the sentiment rollups.
 */
export async function foldCaughtUp(pool: Pool, orgId: string, timeoutMs = 15_000): Promise<FoldResult> {
  return (await foldAllCaughtUp(pool, orgId, timeoutMs)).tickets;
}

/** foldCaughtUp, answering both folds' results. */
export async function foldAllCaughtUp(
  pool: Pool,
  orgId: string,
  timeoutMs = 15_000,
): Promise<{ tickets: FoldResult; players: PlayerFoldResult; sentiment: SentimentFoldResult }> {
  const horizon = await pool.query<{ xmax: string }>(
    'select pg_snapshot_xmax(pg_current_snapshot())::text as xmax',
  );
  const xmax = horizon.rows[0]?.xmax as string;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await pool.query<{ done: boolean }>(
      'select pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 as done',
      [xmax],
    );
    if (now.rows[0]?.done) break;
    if (Date.now() > deadline) throw new Error(`a transaction older than ${xmax} is still running`);
    await sleep(20);
  }
  return withTenant(pool, orgId, async (tx) => ({
    tickets: await foldOrg(tx),
    players: await foldPlayerActivity(tx),
    sentiment: await foldSentiment(tx),
  }));
}

/** Creates a business calendar in `org` and makes it the org's default, as the owner. */
export async function useDefaultCalendar(
  app: Pool,
  org: OrgFixture,
  calendar: Parameters<typeof createCalendar>[1],
): Promise<void> {
  await withTenant(app, org.orgId, async (tx) => {
    const c = await createCalendar(tx, calendar, org.owner);
    await setDefaultCalendar(tx, c.id, org.owner);
  });
}

/**
 * Ticket number 1 of `org`, imported by email and solved, written straight into the tables as the
 * superuser with the times given (db/ would stamp them now): its created event and its messages,
 * each an author ('user' is the org's owner) and a time.
 */
export async function insertImportedTicket(
  admin: Pool,
  org: OrgFixture,
  t: {
    opened: Date | string;
    firstResponse: Date | string;
    solved: Date | string;
    messages: Array<['user' | 'player', Date | string]>;
  },
): Promise<void> {
  await admin.query(
    `with t as (
       insert into tickets (org_id, number, subject, origin, status, created_at, first_response_at, solved_at,
         status_changed_at)
       values ($1, 1, 'Imported', 'email', 'solved', $2, $3, $4, now()) returning id, created_at),
     e as (insert into ticket_events (org_id, ticket_id, type, actor_type, created_at)
           select $1, t.id, 'ticket.created', 'system', t.created_at from t),
     c as (insert into message_channels (org_id, kind, ticket_id) select $1, 'ticket', t.id from t
           returning id, ticket_id)
     insert into messages (org_id, channel_id, ticket_id, author_type, author_user_id, origin, body, created_at)
     select $1, c.id, c.ticket_id, m.author, case when m.author = 'user' then $5::uuid end, 'email', 'x', m.at
       from c cross join unnest($6::text[], $7::timestamptz[]) as m(author, at)`,
    [
      org.orgId,
      t.opened,
      t.firstResponse,
      t.solved,
      org.ownerId,
      t.messages.map(([author]) => author),
      t.messages.map(([, at]) => at),
    ],
  );
}

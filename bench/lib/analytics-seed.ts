import { performance } from 'node:perf_hooks';
import type { Actor } from '../../db/changes.js';
import { createPool, type Pool } from '../../db/pool.js';
import type { PostgresHandle } from '../../lib/local-stack/index.js';
import { makeBenchOrg } from '../outbox.js';

// The analytics benchmarks' seed (bench/analytics.ts, bench/analytics-reads.ts): orgs of
// TICKETS_PER_ORG tickets spread over SEED_DAYS, written straight into the tables.

export const TICKETS_PER_ORG = 10_000;
/** Days the seeded tickets spread over (the dashboards read the last 90). */
export const SEED_DAYS = 180;

export type SeedOrg = { orgId: string; actor: Actor };

/**
 * Every seeded ticket in one set-based statement per batch of orgs: created over the last
 * SEED_DAYS, most answered and resolved, some breached, rated, reopened, with a platform.
 * As the superuser (row-level security would need one statement per org otherwise).
 */
export async function seedTickets(su: Pool, orgs: SeedOrg[], log: (m: string) => void) {
  const started = performance.now();
  for (let i = 0; i < orgs.length; i += 10) {
    const batch = orgs.slice(i, i + 10);
    await su.query(
      `insert into tickets (org_id, number, subject, status, priority, origin, assignee_id, custom_fields,
                            created_at, first_response_at, solved_at, closed_at, reopen_count, rating, rated_at,
                            sla_due_at, sla_breached_at, status_changed_at, updated_at)
       select o.org_id, g.i, 'Seeded ticket ' || g.i,
              case when r.res < 0.25 then 'open' when r.res < 0.55 then 'solved' else 'closed' end,
              (array['low', 'normal', 'normal', 'high', 'urgent'])[1 + floor(r.a * 5)::int],
              (array['discord', 'discord', 'game', 'email', 'panel', 'api'])[1 + floor(r.b * 6)::int],
              case when r.c < 0.8 then o.owner_id end,
              jsonb_build_object('platform', (array['pc', 'ps5', 'xbox', 'switch'])[1 + floor(r.c * 4)::int]),
              r.created, r.created + r.first_s * interval '1 second',
              case when r.res >= 0.25 then r.created + r.res_s * interval '1 second' end,
              case when r.res >= 0.55 then r.created + r.res_s * interval '1 second' end,
              (r.d < 0.08)::int, case when r.res >= 0.25 and r.d > 0.7 then 1 + floor(r.e * 5)::int end,
              case when r.res >= 0.25 and r.d > 0.7 then r.created + r.res_s * interval '1 second' end,
              r.created + interval '4 hours', case when r.e < 0.1 then r.created + interval '4 hours' end,
              r.created, r.created
         from unnest($1::uuid[], $2::uuid[]) as o(org_id, owner_id)
        cross join generate_series(1, $3::int) as g(i)
        cross join lateral (
          select now() - random() * $4::int * interval '1 day' as created,
                 random() as res, random() as a, random() as b, random() as c, random() as d, random() as e,
                 (60 + random() * random() * 28800)::int as first_s, (600 + random() * random() * 259200)::int as res_s
          where g.i > 0
        ) r`,
      [
        batch.map((o) => o.orgId),
        batch.map((o) => (o.actor as { id: string }).id),
        TICKETS_PER_ORG,
        SEED_DAYS,
      ],
    );
  }
  await su.query('update organizations set ticket_seq = $1::int where id = any($2::uuid[])', [
    TICKETS_PER_ORG,
    orgs.map((o) => o.orgId),
  ]);
  await su.query('analyze');
  const s = (performance.now() - started) / 1000;
  log(
    `seeded ${(orgs.length * TICKETS_PER_ORG).toLocaleString('en')} tickets over ${orgs.length} orgs in ${s.toFixed(1)} s (set-based SQL)`,
  );
}

/** Seeded tickets with a conversation of scored player messages (the first of each org). */
export const TICKETS_WITH_MESSAGES = 5_000;
/** Scored player messages per such ticket. */
export const MESSAGES_PER_TICKET = 2;

/**
 * Scored player messages (the sentiment trend's input) in the first TICKETS_WITH_MESSAGES
 * tickets of each org: a ticket channel each, messages hours after the ticket opened with a
 * score from -6 to 6 and its label, as db/ stores them (lib/sentiment.ts), set-based as the
 * superuser. A third of those tickets get one of two teams and one of three categories, so the
 * grouped reads have several values. The insert stamps `messages.txid` (migration 196).
 */
export async function seedScoredMessages(su: Pool, orgs: SeedOrg[], log: (m: string) => void) {
  const started = performance.now();
  for (let i = 0; i < orgs.length; i += 10) {
    const ids = orgs.slice(i, i + 10).map((o) => o.orgId);
    await su.query(
      `with t as (
         insert into teams (org_id, name) select o, 'Team ' || k from unnest($1::uuid[]) o cross join generate_series(1, 2) k
         returning id, org_id
       ), c as (
         insert into ticket_categories (org_id, name) select o, 'Category ' || k from unnest($1::uuid[]) o
          cross join generate_series(1, 3) k
         returning id, org_id
       ), picked as (
         select x.id, x.org_id,
                (select t.id from t where t.org_id = x.org_id order by t.id offset x.number % 2 limit 1) as team_id,
                (select c.id from c where c.org_id = x.org_id order by c.id offset x.number % 3 limit 1) as category_id
           from tickets x where x.org_id = any($1::uuid[]) and x.number <= $2::int and x.number % 3 = 0
       )
       update tickets x set team_id = p.team_id, category_id = p.category_id from picked p where x.id = p.id`,
      [ids, TICKETS_WITH_MESSAGES],
    );
    await su.query(
      `with ch as (
         insert into message_channels (org_id, kind, ticket_id)
         select org_id, 'ticket', id from tickets where org_id = any($1::uuid[]) and number <= $2::int
         returning id, org_id, ticket_id
       )
       insert into messages (org_id, channel_id, ticket_id, author_type, origin, body, created_at,
                             sentiment_score, sentiment_comparative, sentiment_label, sentiment_language)
       select ch.org_id, ch.id, ch.ticket_id, 'player', 'discord', 'Seeded message', t.created_at + m.k * interval '3 hours',
              m.score, m.score / 4.0, case when m.score > 0 then 'positive' when m.score < 0 then 'negative' else 'neutral' end,
              'en'
         from ch join tickets t on t.org_id = ch.org_id and t.id = ch.ticket_id
        cross join lateral (
          select k, (floor(random() * 13) - 6)::int as score from generate_series(1, $3::int) k where ch.id is not null
        ) m`,
      [ids, TICKETS_WITH_MESSAGES, MESSAGES_PER_TICKET],
    );
  }
  await su.query('analyze');
  log(
    `seeded ${(orgs.length * TICKETS_WITH_MESSAGES * MESSAGES_PER_TICKET).toLocaleString('en')} scored player messages ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s (set-based SQL)`,
  );
}

/**
 * `orgCount` orgs (Stats0, Stats1, …) made through db/ and seeded, then `fn` with an app-role
 * pool (`applicationName`), the superuser pool that seeded them, and the orgs; both pools of at
 * most `max` connections, ended afterwards whether `fn` succeeds or throws.
 */
export async function withSeededOrgs(
  pg: PostgresHandle,
  opts: { orgCount: number; max: number; applicationName: string },
  log: (m: string) => void,
  fn: (app: Pool, su: Pool, orgs: SeedOrg[]) => Promise<void>,
): Promise<void> {
  const pool = { max: opts.max, statementTimeoutMs: 600_000, connectTimeoutMs: 5_000 };
  const app = createPool({ ...pool, url: pg.appUrl, applicationName: opts.applicationName });
  const su = createPool({ ...pool, url: pg.urlFor('super'), applicationName: 'gamemod-bench-seed' });
  try {
    const orgs: SeedOrg[] = [];
    for (let i = 0; i < opts.orgCount; i++) orgs.push(await makeBenchOrg(app, `Stats${i}`));
    await seedTickets(su, orgs, log);
    await fn(app, su, orgs);
  } finally {
    await app.end();
    await su.end();
  }
}

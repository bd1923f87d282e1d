import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Actor } from '../db/changes.js';
import { SYSTEM } from '../db/changes.js';
import { createOrganization } from '../db/organizations.js';
import { createPool, type Pool } from '../db/pool.js';
import { withTenant } from '../db/tenant.js';
import { openTicket } from '../db/tickets.js';
import { createUser } from '../db/users.js';
import type { PostgresHandle } from '../lib/local-stack/index.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';
import { fmtMs, fmtRound, fmtTps, medianOf, type RoundResult, runRound } from './lib/load.js';

const CONNECTIONS = 16;
const ORGS = 16;
const WARMUP_MS = 2_000;
const ROUNDS = 3;
const ROUND_MS = 3_000;
const SINGLE_ORG_MS = 2_000;
const TARGET = 0.6;

const SUBJECT = 'Cannot log in after the patch';
const BODY = 'Since the last update the launcher says my session expired, every time I try to log in.';

interface Org {
  orgId: string;
  /** The org's owner, a staff member: the open is audited as well as recorded. */
  actor: Actor & { type: 'user' };
}

// -------------------------------------------------------------------------------------------
// The raw baseline: the statements openTicket issues for a ticket without an external id, copied
// from db/tickets.ts and db/changes.ts, with the values they bind for this input and actor.

const COLUMNS = `id, org_id as "orgId", number, subject, status, priority, origin, external_id as "externalId",
  requester_id as "requesterId", category_id as "categoryId", team_id as "teamId", assignee_id as "assigneeId",
  game_id as "gameId", tags, custom_fields as "customFields", discord_guild_id as "discordGuildId",
  discord_channel_id as "discordChannelId", merged_into_id as "mergedIntoId", close_reason as "closeReason",
  rating, rating_comment as "ratingComment", first_response_at as "firstResponseAt",
  last_player_message_at as "lastPlayerMessageAt", last_staff_message_at as "lastStaffMessageAt",
  solved_at as "solvedAt", closed_at as "closedAt", created_at as "createdAt", updated_at as "updatedAt"`;

const OPEN_SQL = `with seq as (
       update organizations set ticket_seq = ticket_seq + 1 where id = $1::uuid
       and not exists (select 1 from tickets where org_id = $1::uuid and origin = $4::text and external_id = $5::text)
       returning ticket_seq
     )
     insert into tickets (org_id, number, subject, priority, origin, external_id, requester_id, category_id, team_id,
       game_id, tags, custom_fields, discord_guild_id, discord_channel_id, last_player_message_at)
     select $1::uuid, seq.ticket_seq, $2::text, $3::text, $4::text, $5::text, $6::uuid, $7::uuid, $8::uuid, $9::uuid,
       $10::text[], $11::jsonb, $12::text, $13::text, case when $14::boolean then now() end
     from seq
     returning ${COLUMNS}`;

const FIRST_MESSAGE_SQL = `with ch as (
       insert into message_channels (org_id, kind, ticket_id) values ($1::uuid, 'ticket', $2::uuid) returning id
     )
     insert into messages (org_id, channel_id, ticket_id, author_type, author_user_id, author_player_id, origin,
       external_id, body, created_at)
     select $1::uuid, ch.id, $2::uuid, $3::text, $4::uuid, $5::uuid, $6::text, $7::text, $8::text, clock_timestamp()
     from ch where $8::text is not null`;

const CHANGE_SQL = `with ev as (
       insert into ticket_events (org_id, ticket_id, type, actor_type, actor_id, data)
       select $1::uuid, $2::uuid, $3::text, $4::text, $5::uuid, $6::jsonb where $2::uuid is not null
     ), au as (
       insert into audit_logs (org_id, actor_type, actor_id, action, target_type, target_id, data, ip, request_id)
       select $1::uuid, $4::text, $5::uuid, $3::text, $7::text, $8::text, $6::jsonb, $9::inet, $10::text where $11::boolean
     )
     insert into outbox (org_id, event_type, aggregate_type, aggregate_id, payload)
     select $1::uuid, $12::text, $13::text, $14::uuid, $15::jsonb where $12::text is not null`;

interface RawTicket {
  id: string;
  number: number;
  subject: string;
  status: string;
  priority: string;
  origin: string;
  requesterId: string | null;
  assigneeId: string | null;
  teamId: string | null;
  categoryId: string | null;
  tags: string[];
  updatedAt: Date;
}

async function rawOpen(pool: pg.Pool, org: Org): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(`begin; select set_config('app.org_id', '${org.orgId}', true)`);
    const r = await client.query<RawTicket>({
      text: OPEN_SQL,
      values: [
        org.orgId,
        SUBJECT,
        'normal',
        'panel',
        null,
        null,
        null,
        null,
        null,
        [],
        '{}',
        null,
        null,
        false,
      ],
    });
    const t = r.rows[0];
    if (!t) throw new Error('raw open: organization not found');
    await client.query({
      text: FIRST_MESSAGE_SQL,
      values: [org.orgId, t.id, 'user', org.actor.id, null, 'panel', null, BODY],
    });
    const summary = {
      id: t.id,
      number: t.number,
      subject: t.subject,
      status: t.status,
      priority: t.priority,
      origin: t.origin,
      requesterId: t.requesterId,
      assigneeId: t.assigneeId,
      teamId: t.teamId,
      categoryId: t.categoryId,
      tags: t.tags,
      updatedAt: t.updatedAt,
    };
    await client.query({
      text: CHANGE_SQL,
      values: [
        org.orgId,
        t.id,
        'ticket.created',
        'user',
        org.actor.id,
        JSON.stringify({ number: t.number, origin: t.origin, subject: t.subject }),
        'ticket',
        t.id,
        null,
        null,
        true,
        'ticket.created',
        'ticket',
        t.id,
        JSON.stringify({ ticket: summary, actor: { type: 'user', id: org.actor.id } }),
      ],
    });
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

// -------------------------------------------------------------------------------------------
// Through db/: the same open, with validation, the tenant wrapper and the change recorder.

async function dbOpen(pool: Pool, org: Org): Promise<void> {
  await withTenant(pool, org.orgId, (tx) =>
    openTicket(tx, { subject: SUBJECT, body: BODY, origin: 'panel' }, org.actor),
  );
}

// -------------------------------------------------------------------------------------------

async function makeOrgs(app: Pool, n: number): Promise<Org[]> {
  const orgs: Org[] = [];
  for (let i = 0; i < n; i++) {
    const owner = await createUser(app, { displayName: `Bench studio ${i} owner` });
    const slug = `bench-${i}-${randomBytes(4).toString('hex')}`;
    const org = await createOrganization(
      app,
      { name: `Bench studio ${i}`, slug, ownerUserId: owner.id },
      SYSTEM,
    );
    orgs.push({ orgId: org.id, actor: { type: 'user', id: owner.id } });
  }
  return orgs;
}

/** Checks, as the superuser, that both paths wrote the same rows: one of each per ticket, gapless numbers. */
async function verify(pgh: PostgresHandle): Promise<number> {
  const client = new pg.Client({ connectionString: pgh.urlFor('super') });
  await client.connect();
  try {
    const r = await client.query<Record<string, number>>(
      `select (select count(*) from tickets)::int as tickets,
              (select count(*) from message_channels where kind = 'ticket')::int as channels,
              (select count(*) from messages)::int as messages,
              (select count(*) from ticket_events where type = 'ticket.created')::int as events,
              (select count(*) from audit_logs where action = 'ticket.created')::int as audits,
              (select count(*) from outbox where event_type = 'ticket.created')::int as outbox,
              (select count(*) from (select org_id from tickets group by org_id
                 having count(*) <> max(number) or count(distinct number) <> count(*)) g)::int as gappy`,
    );
    const c = r.rows[0];
    if (!c) throw new Error('verify: no row');
    const n = c['tickets'] ?? 0;
    const mismatched = ['channels', 'messages', 'events', 'audits', 'outbox'].filter((k) => c[k] !== n);
    if (mismatched.length || c['gappy'] !== 0 || n === 0) {
      throw new Error(`the two paths wrote different rows: ${JSON.stringify(c)}`);
    }
    return n;
  } finally {
    await client.end();
  }
}

async function run(log: (msg: string) => void): Promise<void> {
  await withCluster(log, async (pgh) => {
    const appUrl = pgh.urlFor('app');
    const dbPool = createPool({
      url: appUrl,
      max: CONNECTIONS,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5_000,
      applicationName: 'gamemod-bench',
    });
    const rawPool = new pg.Pool({
      connectionString: appUrl,
      max: CONNECTIONS,
      application_name: 'gamemod-bench-raw',
    });
    try {
      const orgs = await makeOrgs(dbPool, ORGS);
      const orgFor = (loop: number) => orgs[loop % orgs.length] as Org;
      const first = orgs[0] as Org;
      const raw = (loop: number) => rawOpen(rawPool, orgFor(loop));
      const db = (loop: number) => dbOpen(dbPool, orgFor(loop));

      log(
        `${CONNECTIONS} connections, ${CONNECTIONS} concurrent loops; load spread over ${ORGS} orgs ` +
          `(loop i opens in org i % ${ORGS}) so the per-org ticket counter lock does not dominate`,
      );
      log(
        `warm-up ${WARMUP_MS / 1000} s each, then ${ROUNDS} alternating rounds of ${ROUND_MS / 1000} s each`,
      );
      await runRound(CONNECTIONS, WARMUP_MS, raw);
      await runRound(CONNECTIONS, WARMUP_MS, db);

      const rawRounds: RoundResult[] = [];
      const dbRounds: RoundResult[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        // Alternate which goes first, so table growth and machine noise fall on both sides alike.
        const order = i % 2 === 0 ? (['raw', 'db'] as const) : (['db', 'raw'] as const);
        for (const which of order) {
          const r = await runRound(CONNECTIONS, ROUND_MS, which === 'raw' ? raw : db);
          (which === 'raw' ? rawRounds : dbRounds).push(r);
          log(`  round ${i + 1} ${which === 'raw' ? 'raw SQL' : 'db/    '}  ${fmtRound(r)}`);
        }
      }
      const rawMed = medianOf(rawRounds);
      const dbMed = medianOf(dbRounds);
      const ratio = dbMed.tps / rawMed.tps;

      // Optional: every loop on one org, where the counter row serializes the opens.
      const single = {
        raw: await runRound(CONNECTIONS, SINGLE_ORG_MS, () => rawOpen(rawPool, first)),
        db: await runRound(CONNECTIONS, SINGLE_ORG_MS, () => dbOpen(dbPool, first)),
      };
      const written = await verify(pgh);

      log(`median of ${ROUNDS} rounds, ${ORGS} orgs:`);
      log(
        `  raw SQL (pg, app role, tenant set)  ${fmtTps(rawMed.tps)}  p50 ${fmtMs(rawMed.p50Ms)}  p99 ${fmtMs(rawMed.p99Ms)}`,
      );
      log(
        `  db/ (withTenant + openTicket)       ${fmtTps(dbMed.tps)}  p50 ${fmtMs(dbMed.p50Ms)}  p99 ${fmtMs(dbMed.p99Ms)}`,
      );
      log(`single org, one ${SINGLE_ORG_MS / 1000} s round each (counter lock bound, for information):`);
      log(`  raw SQL  ${fmtRound(single.raw)}`);
      log(`  db/      ${fmtRound(single.db)}`);
      log(`  ratio    ${(single.db.tps / single.raw.tps).toFixed(2)}`);
      log(`checked: ${written} tickets, each with its channel, message, event, audit row and outbox row`);
      log(`ratio db/ ÷ raw = ${ratio.toFixed(2)} (target ≥ ${TARGET}): ${ratio >= TARGET ? 'PASS' : 'FAIL'}`);
    } finally {
      await Promise.allSettled([dbPool.end(), rawPool.end()]);
    }
  });
}

export const tickets: Benchmark = {
  name: 'tickets',
  description: `ticket opens/s through db/ vs the same statements as raw SQL (${CONNECTIONS} connections)`,
  run,
};

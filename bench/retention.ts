import { pino } from 'pino';
import { createApiToken } from '../db/api-tokens.js';
import { createPool, type Pool } from '../db/pool.js';
import { setRetentionPolicy } from '../db/retention.js';
import { withTenant } from '../db/tenant.js';
import { openTicket } from '../db/tickets.js';
import { applyRetention, SWEEP_OPTIONS } from '../workers/retention.js';
import { alternate, ticketOpens, withApiStack } from './lib/api-rounds.js';
import type { Benchmark } from './lib/benchmark.js';
import { fmtMs, fmtTps, type RoundResult } from './lib/load.js';
import { makeBenchOrg } from './outbox.js';

// Retention over a million old messages must not slow the API down for the people using it:
// ticket opens at a steady rate, their p99 with the retention sweep running against the same
// rate with it idle, in alternating rounds (issue target: p99 raised by at most 20 %).

const ORGS = 16;
/** Old messages in all (spread over every org's seeded tickets). */
const MESSAGES = 1_000_000;
const TICKETS_PER_ORG = 100;
/** A steady load well under the API's capacity here (≈ 550 opens/s at saturation). */
const RATE = 200;
const CONNECTIONS = 16;
const ROUND_S = 8;
const POLICY_DAYS = 365;
const P99_TARGET = 1.2;

const SUBJECT = 'Cannot log in after the patch';
const BODY = 'Since the last update the launcher says my session expired, every time I try to log in.';

async function run(log: (msg: string) => void): Promise<void> {
  await withApiStack(log, CONNECTIONS, async ({ pool, pg, serveApp }) => {
    const su = createPool({
      url: pg.urlFor('super'),
      max: 2,
      statementTimeoutMs: 600_000,
      connectTimeoutMs: 5_000,
      applicationName: 'gamemod-bench-seed',
    });
    try {
      const orgs: { orgId: string; token: string }[] = [];
      for (let i = 0; i < ORGS; i++) {
        const { orgId, actor } = await makeBenchOrg(pool, `Keep${i}`);
        const token = await withTenant(pool, orgId, async (tx) => {
          for (let t = 0; t < TICKETS_PER_ORG; t++)
            await openTicket(tx, { subject: `Old ${t}`, body: 'An old conversation.', origin: 'api' }, actor);
          await setRetentionPolicy(tx, { target: 'messages', days: POLICY_DAYS, action: 'purge' }, actor);
          return createApiToken(tx, { name: 'bench', scopes: ['tickets:write'] }, actor);
        });
        orgs.push({ orgId, token: token.plaintext });
      }
      const seeded = performance.now();
      // Spread over every seeded ticket's channel, written 400–430 days ago: all past the policy.
      await su.query(
        `insert into messages (org_id, channel_id, ticket_id, author_type, origin, body, created_at)
         select c.org_id, c.id, c.ticket_id, 'player', 'discord', 'Seeded message ' || g.i,
                now() - interval '400 days' - (random() * 30) * interval '1 day'
           from message_channels c
          cross join generate_series(1, $1::int) g(i)
          where c.org_id = any($2::uuid[]) and c.kind = 'ticket'`,
        [Math.ceil(MESSAGES / (ORGS * TICKETS_PER_ORG)), orgs.map((o) => o.orgId)],
      );
      await su.query('vacuum analyze messages');
      const old = await oldMessages(su);
      log(
        `seeded ${old.toLocaleString('en')} messages past a ${POLICY_DAYS}-day purge policy over ${ORGS} orgs ` +
          `in ${((performance.now() - seeded) / 1000).toFixed(1)} s (set-based SQL)`,
      );

      const app = await serveApp();
      const logger = pino({ level: 'silent' });
      // The sweep the workers run, with their options, over every org in turn until told to stop.
      let purged = 0;
      let sweepSeconds = 0;
      const withRetention = async (seconds: number): Promise<RoundResult> => {
        const stop = new AbortController();
        const started = performance.now();
        const sweep = (async () => {
          while (!stop.signal.aborted) {
            for (const { orgId } of orgs) {
              if (stop.signal.aborted) break;
              const r = await applyRetention(
                { pool, storage: null, logger, now: new Date(), signal: stop.signal },
                orgId,
                SWEEP_OPTIONS,
              );
              purged += r?.counts.messages ?? 0;
            }
          }
        })();
        try {
          return await opens(seconds);
        } finally {
          stop.abort();
          await sweep;
          sweepSeconds += (performance.now() - started) / 1000;
        }
      };
      const opens = ticketOpens(
        `http://127.0.0.1:${app.port}`,
        CONNECTIONS,
        orgs,
        JSON.stringify({ subject: SUBJECT, body: BODY }),
        { overallRate: RATE },
      );
      log(
        `POST /v1/orgs/:orgId/tickets at ${RATE}/s (${CONNECTIONS} connections over ${ORGS} orgs), ` +
          `retention idle vs retention sweeping (batches of ${SWEEP_OPTIONS.batchSize ?? 500}, ${SWEEP_OPTIONS.pauseMs} ms apart), ` +
          `${ROUND_S} s rounds`,
      );
      const [idleMed, busyMed] = (await alternate(
        log,
        [
          { name: 'retention idle     ', round: opens },
          { name: 'retention sweeping ', round: withRetention },
        ],
        { roundS: ROUND_S },
      )) as RoundResult[];
      const idle = idleMed as RoundResult;
      const busy = busyMed as RoundResult;

      const left = await oldMessages(su);
      const orphans = await su.query<{ n: number }>(
        `select count(*)::int as n from tickets t
          where t.org_id = any($1::uuid[])
            and not exists (select 1 from messages m where m.org_id = t.org_id and m.ticket_id = t.id)`,
        [orgs.map((o) => o.orgId)],
      );
      if (old - left !== purged)
        throw new Error(`retention counted ${purged} purged messages, the table lost ${old - left}`);
      if ((orphans.rows[0]?.n ?? 0) > 0)
        throw new Error(`${orphans.rows[0]?.n} tickets lost their newer messages: retention took too much`);
      const p99 = busy.p99Ms / idle.p99Ms;
      log(
        `purged while measured: ${purged.toLocaleString('en')} old messages in ${sweepSeconds.toFixed(1)} s ` +
          `(${Math.round(purged / sweepSeconds).toLocaleString('en')}/s), ${left.toLocaleString('en')} left; ` +
          'no newer message touched',
      );
      log(`median of the rounds:`);
      log(`  retention idle      ${fmtTps(idle.tps)} p50 ${fmtMs(idle.p50Ms)} p99 ${fmtMs(idle.p99Ms)}`);
      log(`  retention sweeping  ${fmtTps(busy.tps)} p50 ${fmtMs(busy.p50Ms)} p99 ${fmtMs(busy.p99Ms)}`);
      log(
        `  p99 ×${p99.toFixed(2)} while retention runs (target ≤ ${P99_TARGET}): ${p99 <= P99_TARGET ? 'PASS' : 'FAIL'}`,
      );
    } finally {
      await su.end();
    }
  });
}

const oldMessages = async (su: Pool) =>
  (
    await su.query<{ n: number }>(
      `select count(*)::int as n from messages where created_at < now() - $1::int * interval '1 day'`,
      [POLICY_DAYS],
    )
  ).rows[0]?.n ?? 0;

export const retention: Benchmark = {
  name: 'retention',
  description: `POST /v1/tickets p99 at ${RATE}/s while retention purges 1M old messages vs with it idle (≤ 1.2×)`,
  run,
};

import { execSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { rebuildOrg } from '../db/analytics-fold.js';
import { openedHeatmap, openedHeatmapHourly, rollupSeries } from '../db/analytics-read.js';
import type { Actor } from '../db/changes.js';
import { createPool, type Pool } from '../db/pool.js';
import { type Tx, withTenant } from '../db/tenant.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';
import { quantile } from './lib/load.js';
import { makeBenchOrg } from './outbox.js';

/**
 * The two dashboard reads that missed p99 ≤ 50 ms in the analytics benchmark's run 4 (heatmap,
 * volume grouped by source), each read the old way and the new way in the same run, at the
 * db/ level (as the app role, under RLS), on the analytics benchmark's seed for a few orgs, with
 * EXPLAIN (ANALYZE, BUFFERS) of each. A quick loop for the reads alone: the whole analytics
 * benchmark (1,000,000 tickets, 100 orgs) takes 25 minutes and more here.
 *
 *     npx tsx bench/analytics-reads.ts [orgs]      # default 5 orgs of 10,000 tickets
 */
const TICKETS_PER_ORG = 10_000;
const SEED_DAYS = 180;
const RUNS = 120;
type Org = { orgId: string; actor: Actor };

/** As bench/analytics.ts seeds (same statement), for the orgs given. */
async function seed(su: Pool, orgs: Org[], log: (m: string) => void) {
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

const day = (d: Date) => d.toISOString().slice(0, 10);

type Read = (tx: Tx) => Promise<unknown>;

/** Runs `fn` once with each of its rollup reads explained (ANALYZE, BUFFERS) into the log. */
async function explain(app: Pool, orgId: string, name: string, fn: Read, log: (m: string) => void) {
  await withTenant(app, orgId, async (tx) => {
    const explaining: Tx = {
      orgId: tx.orgId,
      query: async (text, values) => {
        if (/analytics_/.test(text)) {
          const r = await tx.query<{ 'QUERY PLAN': string }>(
            `explain (analyze, buffers, timing off) ${text}`,
            values,
          );
          log(`--- ${name}\n${r.rows.map((x) => x['QUERY PLAN']).join('\n')}`);
        }
        return tx.query(text, values);
      },
    } as Tx;
    await fn(explaining);
  });
}

export async function runReads(orgCount: number, log: (m: string) => void): Promise<void> {
  await withCluster(log, async (pg) => {
    const opts = { max: 4, statementTimeoutMs: 600_000, connectTimeoutMs: 5_000 };
    const app = createPool({ ...opts, url: pg.appUrl, applicationName: 'gamemod-bench-analytics-reads' });
    const su = createPool({ ...opts, url: pg.urlFor('super'), applicationName: 'gamemod-bench-seed' });
    try {
      const orgs: Org[] = [];
      for (let i = 0; i < orgCount; i++) orgs.push(await makeBenchOrg(app, `Stats${i}`));
      await seed(su, orgs, log);
      const t = performance.now();
      for (const o of orgs) await withTenant(app, o.orgId, (tx) => rebuildOrg(tx));
      log(`rollups of ${orgs.length} orgs built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      // What autovacuum does to freshly inserted rollups (insert-driven, PostgreSQL 13 on): sets
      // the visibility map an index-only scan needs, and the statistics.
      await su.query('vacuum analyze');
      const q = { from: day(new Date(Date.now() - 89 * 86_400_000)), to: day(new Date()), filters: {} };
      const bySource = { ...q, bucket: 'day' as const, groupBy: 'source' as const, before: true };
      const reads: Record<string, Read> = {
        'heatmap from the hourly rows (before)': (tx) => openedHeatmapHourly(tx, { ...q, bucket: 'hour' }),
        'heatmap from the daily rows hours (after)': (tx) => openedHeatmap(tx, { ...q, bucket: 'day' }),
        'volume by source, every measure (before)': (tx) =>
          rollupSeries(tx, ['opened', 'resolved'], bySource),
        'volume by source, counts only (after)': (tx) =>
          rollupSeries(tx, ['opened', 'resolved'], { ...bySource, countsOnly: true }),
      };
      // Cold: the first org's plans before anything else read its rows.
      for (const [name, fn] of Object.entries(reads))
        await explain(app, (orgs[0] as Org).orgId, name, fn, log);
      const times = new Map<string, number[]>(Object.keys(reads).map((k) => [k, []]));
      // Interleaved, round-robin over the orgs, so the machine's load falls on all alike.
      for (let i = 0; i < RUNS; i++) {
        const o = orgs[i % orgs.length] as Org;
        for (const [name, fn] of Object.entries(reads)) {
          const s = performance.now();
          await withTenant(app, o.orgId, fn);
          times.get(name)?.push(performance.now() - s);
        }
      }
      log(`load average: ${execSync('cat /proc/loadavg').toString().trim()}`);
      for (const [name, list] of times) {
        const sorted = [...list].sort((a, b) => a - b);
        log(
          `  ${name.padEnd(44)} p50 ${quantile(sorted, 0.5).toFixed(1).padStart(6)} ms  p99 ${quantile(sorted, 0.99).toFixed(1).padStart(6)} ms  (${list.length} runs)`,
        );
      }
    } finally {
      await app.end();
      await su.end();
    }
  });
}

export const analyticsReads: Benchmark = {
  name: 'analytics-reads',
  description: 'heatmap and volume by source, old and new reads, EXPLAIN on the analytics seed (few orgs)',
  run: (log) => runReads(5, log),
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runReads(Number(process.argv[2] ?? 5), (m) => console.log(m));
}

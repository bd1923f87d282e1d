import { execSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { rebuildOrg } from '../db/analytics-fold.js';
import { openedHeatmap, openedHeatmapHourly, rollupSeries } from '../db/analytics-read.js';
import { rebuildSentiment } from '../db/analytics-sentiment.js';
import { sentimentTrend } from '../db/analytics-sentiment-read.js';
import type { Pool } from '../db/pool.js';
import { type Tx, withTenant } from '../db/tenant.js';
import { type SeedOrg, seedScoredMessages, withSeededOrgs } from './lib/analytics-seed.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';
import { quantile } from './lib/load.js';

/**
 * The two dashboard reads that missed p99 ≤ 50 ms in the analytics benchmark's run 4 (heatmap,
 * volume grouped by source), each read the old way and the new way in the same run, and the
 * sentiment trend's reads (no old way: its own rollups, migration 196), at the
 * db/ level (as the app role, under RLS), on the analytics benchmark's seed for a few orgs, with
 * EXPLAIN (ANALYZE, BUFFERS) of each. A quick loop for the reads alone: the whole analytics
 * benchmark (1,000,000 tickets, 100 orgs) takes 25 minutes and more here.
 *
 *     npm run bench -- analytics-reads             # 5 orgs of 10,000 tickets
 *     npx tsx bench/analytics-reads.ts [orgs]      # default 5 orgs of 10,000 tickets
 */
const RUNS = 120;

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
  await withCluster(log, (pg) =>
    withSeededOrgs(
      pg,
      { orgCount, max: 4, applicationName: 'gamemod-bench-analytics-reads' },
      log,
      async (app, su, orgs) => {
        await seedScoredMessages(su, orgs, log);
        const t = performance.now();
        for (const o of orgs) await withTenant(app, o.orgId, (tx) => rebuildOrg(tx));
        log(`rollups of ${orgs.length} orgs built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
        const ts = performance.now();
        for (const o of orgs) await withTenant(app, o.orgId, (tx) => rebuildSentiment(tx));
        log(
          `sentiment rollups of ${orgs.length} orgs built in ${((performance.now() - ts) / 1000).toFixed(1)} s`,
        );
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
          'sentiment, daily, compared': (tx) =>
            sentimentTrend(tx, {
              ...q,
              bucket: 'day',
              dim: null,
              grouped: false,
              previousFrom: day(new Date(Date.now() - 179 * 86_400_000)),
            }),
          'sentiment, weekly, grouped by team': (tx) =>
            sentimentTrend(tx, { ...q, bucket: 'week', dim: 'team_id', grouped: true }),
          'sentiment, hourly, 31 days, by category': (tx) =>
            sentimentTrend(tx, {
              from: day(new Date(Date.now() - 30 * 86_400_000)),
              to: q.to,
              bucket: 'hour',
              dim: 'category_id',
              grouped: true,
            }),
        };
        // Cold: the first org's plans before anything else read its rows.
        for (const [name, fn] of Object.entries(reads))
          await explain(app, (orgs[0] as SeedOrg).orgId, name, fn, log);
        const times = new Map<string, number[]>(Object.keys(reads).map((k) => [k, []]));
        // Interleaved, round-robin over the orgs, so the machine's load falls on all alike.
        for (let i = 0; i < RUNS; i++) {
          const o = orgs[i % orgs.length] as SeedOrg;
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
      },
    ),
  );
}

export const analyticsReads: Benchmark = {
  name: 'analytics-reads',
  description:
    'heatmap and volume by source, old and new reads, and the sentiment reads, EXPLAIN on the analytics seed (few orgs)',
  run: (log) => runReads(5, log),
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runReads(Number(process.argv[2] ?? 5), (m) => console.log(m));
}

import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { buildApp } from '../api/app.js';
import { foldOrg, rebuildOrg } from '../db/analytics-fold.js';
import { rebuildPlayerActivity } from '../db/analytics-players.js';
import { rebuildSentiment } from '../db/analytics-sentiment.js';
import { createApiToken } from '../db/api-tokens.js';
import type { Pool } from '../db/pool.js';
import { withTenant } from '../db/tenant.js';
import { setStatus } from '../db/ticket-status.js';
import { openTicket } from '../db/tickets.js';
import { createSecretBox } from '../lib/secret-box.js';
import { randomSecretKey } from '../lib/secret-key.js';
import { LocalStorage } from '../lib/storage/index.js';
import { ANALYTICS_FOLD_EVERY_MS } from '../workers/analytics.js';
import { startWorkerRuntime } from '../workers/runtime.js';
import {
  type SeedOrg as Org,
  SEED_DAYS,
  seedScoredMessages,
  TICKETS_PER_ORG,
  withSeededOrgs,
} from './lib/analytics-seed.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';
import { median, quantile } from './lib/load.js';
import { withRedis } from './outbox.js';

const ORGS = 100;
const QUERY_P99_TARGET_MS = 50;
const FOLD_RATIO_TARGET = 0.05;
const VISIBLE_P99_TARGET_MS = 5_000;
/** A busy minute of one org: tickets opened and tickets solved. */
const MINUTE_OPENS = 30;
const MINUTE_SOLVES = 30;
const FOLD_ROUNDS = 4;
const QUERY_RUNS = 60;
const VISIBLE_SECONDS = 30;
const VISIBLE_EVERY_MS = 200;

/** Players of each org's game, the sessions each started over SEED_DAYS, and reports per org. */
const PLAYERS_PER_ORG = 2_000;
const SESSIONS_PER_PLAYER = 5;
const REPORTS_PER_ORG = 1_000;

const ms = (n: number) => `${n.toFixed(1)} ms`;

/**
 * What the game SDK sends, set-based as the superuser: a game per org, its players, sessions
 * spread over SEED_DAYS on the tickets' platforms, and reports between players.
 */
async function seedPlayers(su: Pool, orgs: Org[], log: (m: string) => void) {
  const started = performance.now();
  for (let i = 0; i < orgs.length; i += 10) {
    const ids = orgs.slice(i, i + 10).map((o) => o.orgId);
    await su.query(
      `with g as (
         insert into games (org_id, name, slug) select o, 'Bench game', 'bench' from unnest($1::uuid[]) o
         returning id, org_id
       )
       insert into player_profiles (org_id, display_name, game_id, game_account_id)
       select g.org_id, 'Player ' || k, g.id, 'acct-' || k from g cross join generate_series(1, $2::int) k`,
      [ids, PLAYERS_PER_ORG],
    );
    await su.query(
      `insert into player_sessions (org_id, player_id, game_id, started_at, ended_at, last_seen_at, platform,
                                    client_version)
       select p.org_id, p.id, p.game_id, s.started, s.started + interval '40 minutes',
              s.started + interval '40 minutes',
              (array['pc', 'ps5', 'xbox', 'switch'])[1 + floor(s.a * 4)::int], '1.' || floor(s.b * 4)::int
         from player_profiles p
        cross join lateral (
          select now() - random() * $2::int * interval '1 day' as started, random() as a, random() as b
            from generate_series(1, $3::int) g where p.id is not null
        ) s
        where p.org_id = any($1::uuid[])`,
      [ids, SEED_DAYS, SESSIONS_PER_PLAYER],
    );
    await su.query(
      `insert into player_reports (org_id, reporter_id, reported_id, reason, origin, created_at)
       select a.org_id, a.id, b.id, 'cheating', 'game', now() - random() * $2::int * interval '1 day'
         from player_profiles a
         join player_profiles b on b.org_id = a.org_id
          and b.game_account_id = 'acct-' || (1 + (substr(a.game_account_id, 6)::int % $3::int))
        where a.org_id = any($1::uuid[]) and substr(a.game_account_id, 6)::int <= $4::int`,
      [ids, SEED_DAYS, PLAYERS_PER_ORG, REPORTS_PER_ORG],
    );
  }
  await su.query('analyze');
  log(
    `seeded ${(orgs.length * PLAYERS_PER_ORG * SESSIONS_PER_PLAYER).toLocaleString('en')} sessions of ` +
      `${(orgs.length * PLAYERS_PER_ORG).toLocaleString('en')} players and ${(orgs.length * REPORTS_PER_ORG).toLocaleString('en')} reports ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s (set-based SQL)`,
  );
}

/** The player activity rollups of every org built from the raw tables, two orgs at a time. */
async function buildPlayers(app: Pool, orgs: Org[], log: (m: string) => void) {
  const started = performance.now();
  const times: number[] = [];
  const queue = [...orgs];
  await Promise.all(
    [0, 1].map(async () => {
      for (let o = queue.shift(); o; o = queue.shift()) {
        const t = performance.now();
        await withTenant(app, o.orgId, (tx) => rebuildPlayerActivity(tx));
        times.push(performance.now() - t);
      }
    }),
  );
  log(
    `player activity rollups of ${orgs.length} orgs built in ${((performance.now() - started) / 1000).toFixed(1)} s (one org: median ${ms(median(times))})`,
  );
}
/** The sentiment rollups of every org built from the scored messages, two orgs at a time. */
async function buildSentiment(app: Pool, orgs: Org[], log: (m: string) => void) {
  const started = performance.now();
  const times: number[] = [];
  const queue = [...orgs];
  await Promise.all(
    [0, 1].map(async () => {
      for (let o = queue.shift(); o; o = queue.shift()) {
        const t = performance.now();
        await withTenant(app, o.orgId, (tx) => rebuildSentiment(tx));
        times.push(performance.now() - t);
      }
    }),
  );
  log(
    `sentiment rollups of ${orgs.length} orgs built in ${((performance.now() - started) / 1000).toFixed(1)} s (one org: median ${ms(median(times))})`,
  );
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/** The rollups of every org built from the raw tables (the backfill), two orgs at a time. */
async function buildAll(app: Pool, orgs: Org[], log: (m: string) => void): Promise<number[]> {
  const started = performance.now();
  const times: number[] = [];
  const queue = [...orgs];
  await Promise.all(
    [0, 1].map(async () => {
      for (let o = queue.shift(); o; o = queue.shift()) {
        const t = performance.now();
        await withTenant(app, o.orgId, (tx) => rebuildOrg(tx));
        times.push(performance.now() - t);
      }
    }),
  );
  log(
    `rollups of ${orgs.length} orgs built from the raw tables in ${((performance.now() - started) / 1000).toFixed(1)} s (one org: median ${ms(median(times))})`,
  );
  return times;
}

/** A busy minute of one org through db/: tickets opened and older open tickets solved. */
async function busyMinute(app: Pool, org: Org) {
  await withTenant(app, org.orgId, async (tx) => {
    for (let i = 0; i < MINUTE_OPENS; i++)
      await openTicket(tx, { subject: `Minute ticket ${i}`, origin: 'game' }, org.actor);
    const open = await tx.query<{ id: string }>(
      `select id from tickets where org_id = $1::uuid and status = 'open' order by random() limit $2::int`,
      [tx.orgId, MINUTE_SOLVES],
    );
    for (const t of open.rows) await setStatus(tx, { ticketId: t.id, status: 'solved' }, org.actor);
  });
}

/**
 * The fold of the last minute's changes against a full recompute of the same org, in
 * alternating order: the fold after the changes then the rebuild, or the rebuild, the changes,
 * then the fold.
 */
async function foldVsRecompute(app: Pool, orgs: Org[], log: (m: string) => void) {
  const fold: number[] = [];
  const full: number[] = [];
  const timed = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  for (let r = 0; r < FOLD_ROUNDS; r++) {
    const org = orgs[r % orgs.length] as Org;
    await withTenant(app, org.orgId, (tx) => foldOrg(tx));
    let f: number;
    let b: number;
    if (r % 2 === 0) {
      await busyMinute(app, org);
      f = await timed(() => withTenant(app, org.orgId, (tx) => foldOrg(tx)));
      b = await timed(() => withTenant(app, org.orgId, (tx) => rebuildOrg(tx)));
    } else {
      b = await timed(() => withTenant(app, org.orgId, (tx) => rebuildOrg(tx)));
      await busyMinute(app, org);
      f = await timed(() => withTenant(app, org.orgId, (tx) => foldOrg(tx)));
    }
    fold.push(f);
    full.push(b);
    log(
      `  round ${r + 1}: fold of the last minute ${ms(f)}, full recompute ${ms(b)} (${(f / b).toFixed(4)}×)`,
    );
  }
  const ratio = median(fold) / median(full);
  log(
    `rolling up the last minute (${MINUTE_OPENS} opened + ${MINUTE_SOLVES} solved in an org of ${TICKETS_PER_ORG.toLocaleString('en')}): ` +
      `fold median ${ms(median(fold))}, full recompute median ${ms(median(full))}, ratio ${ratio.toFixed(4)} ` +
      `(target ≤ ${FOLD_RATIO_TARGET}): ${verdict(ratio <= FOLD_RATIO_TARGET)}`,
  );
}

/**
 * A fold of every org in turn with nothing new to fold: what each 2 s run cost before the
 * scheduled fold skipped idle orgs (gm_analytics_orgs_to_fold), and the floor it put under
 * commit → visible.
 */
async function idlePass(app: Pool, orgs: Org[], log: (m: string) => void) {
  const passes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    for (const o of orgs) await withTenant(app, o.orgId, (tx) => foldOrg(tx));
    passes.push(performance.now() - t);
  }
  log(
    `a fold of each of ${orgs.length} orgs with nothing new (every pass, before idle orgs were skipped): median ${ms(median(passes))} of 3 (${ms(median(passes) / orgs.length)} per org)`,
  );
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/** Every dashboard query through the whole API (in-process inject), 90-day ranges, random orgs. */
async function dashboards(app: Pool, redisUrl: string, orgs: Org[], log: (m: string) => void) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const api = await buildApp({
    pool: app,
    redis,
    subscriber: () => new Redis(redisUrl, { maxRetriesPerRequest: null }),
    logger: pino({ level: 'warn' }),
    storage: new LocalStorage('/tmp/gamemod-bench-analytics-files'),
    settings: { secretKey: randomSecretKey() },
    rateLimits: { default: { burst: 1e9, perMinute: 1e12 }, auth: { burst: 1e9, perMinute: 1e12 } },
  });
  await api.ready();
  try {
    const tokens = new Map<string, string>();
    for (const o of orgs) {
      const t = await withTenant(app, o.orgId, (tx) =>
        createApiToken(tx, { name: 'bench', scopes: ['analytics:read'] }, { type: 'system' }),
      );
      tokens.set(o.orgId, t.plaintext);
    }
    const to = day(new Date());
    const from = day(new Date(Date.now() - 89 * 86_400_000));
    const range = `from=${from}&to=${to}`;
    // The baseline, in the same run: the same questions with filters on two dimensions that
    // keep every seeded value, so they are answered (identically) from the wide rollups keyed
    // by every dimension, as every query was before the per-dimension rollups.
    const wide = '&source=discord,panel,email,game,api&priority=low,normal,high,urgent';
    const queries: Record<string, string> = {
      'GET /health (floor: the stack, no query)': '/health',
      volume: `volume?${range}`,
      'volume, compared with the previous 90 days': `volume?${range}&compare=true`,
      'volume, weekly, platform=pc': `volume?${range}&bucket=week&platform=pc`,
      'volume, grouped by source': `volume?${range}&groupBy=source`,
      'response-times': `response-times?${range}`,
      sla: `sla?${range}`,
      reopens: `reopens?${range}`,
      csat: `csat?${range}`,
      workload: `workload?${range}`,
      heatmap: `heatmap?${range}`,
      'volume as CSV': `volume?${range}&format=csv`,
      'player-activity': `player-activity?${range}`,
      'player-activity, weekly, compared': `player-activity?${range}&bucket=week&compare=true`,
      'player-activity, grouped by platform': `player-activity?${range}&groupBy=platform`,
      'player-activity, platform=pc,ps5': `player-activity?${range}&platform=pc,ps5`,
      sentiment: `sentiment?${range}`,
      'sentiment, weekly, compared': `sentiment?${range}&bucket=week&compare=true`,
      'sentiment, grouped by team': `sentiment?${range}&groupBy=team`,
      'sentiment, grouped by category': `sentiment?${range}&groupBy=category`,
    };
    // Player activity and sentiment have rollups of their own (no wide baseline: sessions and
    // messages carry no source or priority).
    const names = Object.keys(queries).filter(
      (n) => !n.startsWith('GET /health') && !n.startsWith('player-activity') && !n.startsWith('sentiment'),
    );
    const asked: Record<string, string> = { ...queries };
    for (const n of names) asked[`${n} [wide rollups]`] = `${queries[n]}${wide}`;
    const times = new Map<string, number[]>(Object.keys(asked).map((k) => [k, []]));
    // Warm-up: plans and caches, untimed; and both ways give the same answer.
    for (const o of orgs.slice(0, 5)) {
      for (const n of names) {
        const [a, b] = [
          await ask(o.orgId, asked[n] as string),
          await ask(o.orgId, asked[`${n} [wide rollups]`] as string),
        ];
        if (a !== b) log(`  note: ${n} answered otherwise from the wide rollups`);
      }
    }
    async function ask(orgId: string, q: string) {
      const url = q.startsWith('/') ? q : `/v1/orgs/${orgId}/analytics/${q}`;
      const res = await api.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${tokens.get(orgId)}` },
      });
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      return res.body;
    }
    // Interleaved: each run asks every query of one random org both ways, so load falls on all alike.
    for (let i = 0; i < QUERY_RUNS; i++) {
      const org = orgs[Math.floor(Math.random() * orgs.length)] as Org;
      for (const [name, q] of Object.entries(asked)) {
        const t = performance.now();
        await ask(org.orgId, q);
        times.get(name)?.push(performance.now() - t);
      }
    }
    let worst = 0;
    let worstWide = 0;
    for (const [name, list] of times) {
      const sorted = [...list].sort((a, b) => a - b);
      const p99 = quantile(sorted, 0.99);
      if (name.endsWith('[wide rollups]')) worstWide = Math.max(worstWide, p99);
      else if (!name.startsWith('GET /health')) worst = Math.max(worst, p99);
      log(`  ${name.padEnd(64)} p50 ${ms(quantile(sorted, 0.5)).padStart(9)}  p99 ${ms(p99).padStart(9)}`);
    }
    log(
      `dashboard queries, 90-day range, ${QUERY_RUNS} runs each over ${orgs.length} orgs: worst p99 ${ms(worst)} ` +
        `(the same from the wide rollups: ${ms(worstWide)}, ${(worst / worstWide).toFixed(3)}×) ` +
        `(target ≤ ${QUERY_P99_TARGET_MS} ms): ${verdict(worst <= QUERY_P99_TARGET_MS)}`,
    );
  } finally {
    await api.close();
    redis.disconnect();
  }
}

/**
 * Tickets committed through db/ at a steady rate while the workers run the scheduled fold; a
 * poller sees each org's opened count in the daily rollups rise, which dates each ticket's
 * arrival in the analytics.
 */
async function commitToVisible(app: Pool, su: Pool, redisUrl: string, orgs: Org[], log: (m: string) => void) {
  const runtime = await startWorkerRuntime({
    pool: app,
    redisUrl,
    logger: pino({ level: 'warn' }),
    box: createSecretBox(randomSecretKey()),
    webhookTargets: { allowLoopback: true, allowPrivate: false },
    prefix: `bench-analytics-${Date.now().toString(36)}`,
    relay: { enabled: false },
    schedulers: { analyticsEveryMs: ANALYTICS_FOLD_EVERY_MS },
  });
  const ids = orgs.map((o) => o.orgId);
  const counts = async () => {
    const r = await su.query<{ org_id: string; n: number }>(
      `select org_id, coalesce(sum(n), 0)::int as n from analytics_daily
        where kind = 'opened' and org_id = any($1::uuid[]) group by org_id`,
      [ids],
    );
    return new Map(r.rows.map((x) => [x.org_id, x.n]));
  };
  try {
    // Let a first scheduled fold pass, so the baseline counts are settled.
    await new Promise((r) => setTimeout(r, ANALYTICS_FOLD_EVERY_MS * 2));
    const base = await counts();
    const committed = new Map<string, number[]>(ids.map((id) => [id, []]));
    const seen = new Map<string, number[]>(ids.map((id) => [id, []]));
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const now = performance.now();
        for (const [id, n] of await counts()) {
          const s = seen.get(id) as number[];
          while (s.length < n - (base.get(id) ?? 0)) s.push(now);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const end = performance.now() + VISIBLE_SECONDS * 1000;
    for (let i = 0; performance.now() < end; i++) {
      const org = orgs[i % orgs.length] as Org;
      await withTenant(app, org.orgId, (tx) =>
        openTicket(tx, { subject: `Live ticket ${i}`, origin: 'panel' }, org.actor),
      );
      committed.get(org.orgId)?.push(performance.now());
      await new Promise((r) => setTimeout(r, VISIBLE_EVERY_MS));
    }
    const all = () => [...committed].every(([id, c]) => (seen.get(id)?.length ?? 0) >= c.length);
    const deadline = performance.now() + 20_000;
    while (!all() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    polling = false;
    await poller;
    const lat: number[] = [];
    let missing = 0;
    for (const [id, c] of committed) {
      const s = seen.get(id) as number[];
      c.forEach((at, k) => {
        if (s[k] === undefined) missing++;
        else lat.push(s[k] - at);
      });
    }
    lat.sort((a, b) => a - b);
    const p99 = quantile(lat, 0.99);
    log(
      `commit → visible in the rollups (fold every ${ANALYTICS_FOLD_EVERY_MS} ms, ${lat.length} tickets over ${orgs.length} orgs, ` +
        `one every ${VISIBLE_EVERY_MS} ms): p50 ${ms(quantile(lat, 0.5))}, p99 ${ms(p99)}, not seen ${missing} ` +
        `(target p99 ≤ ${VISIBLE_P99_TARGET_MS} ms): ${verdict(p99 <= VISIBLE_P99_TARGET_MS && missing === 0)}`,
    );
  } finally {
    await runtime.stop();
  }
}

export const analytics: Benchmark = {
  name: 'analytics',
  description: `analytics over ${((ORGS * TICKETS_PER_ORG) / 1e6).toFixed(1)}M seeded tickets and ${((ORGS * PLAYERS_PER_ORG * SESSIONS_PER_PLAYER) / 1e6).toFixed(1)}M sessions: dashboard p99, fold of a minute vs full recompute, commit → visible`,
  async run(log) {
    await withCluster(log, (pg) =>
      withRedis((redis) =>
        withSeededOrgs(
          pg,
          { orgCount: ORGS, max: 8, applicationName: 'gamemod-bench-analytics' },
          log,
          async (app, su, orgs) => {
            await seedPlayers(su, orgs, log);
            await seedScoredMessages(su, orgs, log);
            await buildAll(app, orgs, log);
            await buildPlayers(app, orgs, log);
            await buildSentiment(app, orgs, log);
            await foldVsRecompute(app, orgs.slice(0, FOLD_ROUNDS), log);
            await su.query('analyze');
            await dashboards(app, redis.url, orgs, log);
            await idlePass(app, orgs, log);
            await commitToVisible(app, su, redis.url, orgs, log);
          },
        ),
      ),
    );
  },
};

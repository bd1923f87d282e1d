import { ORG_TIME_ZONE } from './analytics-sql.js';
import { orgIdPages } from './organizations.js';
import type { Pool } from './pool.js';
import type { Tx } from './tenant.js';

/**
 * Player activity rollups (migration 190): sessions started, distinct active players and reports
 * filed per local hour and day, in total (dim `*`) and per game, platform and build, folded from
 * player_sessions and player_reports past a watermark as analytics-fold.ts folds tickets.
 *
 * A player counts as active in a bucket when they started a session in it. Distinct players do
 * not add up across buckets, so the fold keeps the exact set behind each count
 * (analytics_player_hours / _days: sessions per dimension value, bucket and player) and moves a
 * bucket's stored count by one when a player's sessions there go from none to some or back. Week
 * and range counts are read from the days' set (analytics-player-read.ts). Dimension values are
 * text, '' for none.
 */

export interface PlayerFoldResult {
  sessions: number;
  reports: number;
  upto: string;
}

/** The player dimensions, as the rollups name them. */
export const PLAYER_DIMS = ['game_id', 'platform', 'build'] as const;

/** What the sessions of `set` (a relation with an `id` column) contribute: one row each. */
const sessionsOf = (set: string) => `select s.org_id, s.id as session_id,
       date_trunc('hour', s.started_at at time zone tz.tz) as bucket, s.player_id,
       s.game_id::text as game_id, coalesce(s.platform, '') as platform, coalesce(s.client_version, '') as build
  from player_sessions s join ${set} c on c.id = s.id cross join tz
 where s.org_id = $1::uuid`;

/**
 * What the reports of `set` contribute: one row each, under the game whose key filed it (migration
 * 230; a linked player's profile names their first game, not this one), or for a report filed
 * before that was recorded, its players' game (see migration 190).
 */
const reportsOf = (set: string) => `select r.org_id, r.id as report_id,
       date_trunc('hour', r.created_at at time zone tz.tz) as bucket,
       coalesce(coalesce(r.game_id, rp.game_id, dp.game_id)::text, '') as game_id
  from player_reports r join ${set} c on c.id = r.id cross join tz
  left join player_profiles rp on rp.org_id = r.org_id and rp.id = r.reporter_id
  left join player_profiles dp on dp.org_id = r.org_id and dp.id = r.reported_id
 where r.org_id = $1::uuid`;

const SESSION_COLUMNS = 'org_id, session_id, bucket, player_id, game_id, platform, build';
const REPORT_COLUMNS = 'org_id, report_id, bucket, game_id';

/** Weighted session rows (`w`, bucket, player_id, dims) spread over (dim, value). */
const sessionsPerDim = (weighted: string) => `select x.w, x.bucket, x.player_id, d.dim, d.value
  from ${weighted} x
 cross join lateral (values ('*', ''), ('game_id', x.game_id), ('platform', x.platform), ('build', x.build)) d(dim, value)`;

/** Weighted report rows spread likewise: a report has no platform or build ('' under both). */
const reportsPerDim = (weighted: string) => `select x.w, x.bucket, d.dim, d.value
  from ${weighted} x
 cross join lateral (values ('*', ''), ('game_id', x.game_id), ('platform', ''), ('build', '')) d(dim, value)`;

/**
 * Refolds the sessions of `sessionSet` and the reports of `reportSet` (SQL relations with an `id`
 * column, which may use the CTE `stale` when `takeStale`): retracts what they contributed last,
 * adds what they contribute now, in one statement; then drops emptied rows.
 */
async function refold(
  tx: Tx,
  sessionSet: string,
  reportSet: string,
  values: unknown[],
  takeStale: boolean,
): Promise<{ sessions: number; reports: number }> {
  const stale = takeStale
    ? `stale as (delete from analytics_player_stale where org_id = $1::uuid returning kind, item_id),`
    : '';
  // Per grain: the set's change per key, the players who start or stop counting (read before
  // this statement's own writes, which its sub-statements do not see), the summary's change.
  const grain = (set: 'hours' | 'days', bucket: string) => `
     m_${set} as materialized (
       select dim, ${bucket} as bucket, value, player_id, sum(w)::int as d from sd
        group by 1, 2, 3, 4 having sum(w) <> 0
     ),
     p_${set} as (
       select m.dim, m.bucket, m.value,
              (coalesce(a.sessions, 0) + m.d > 0)::int - (coalesce(a.sessions, 0) > 0)::int as p
         from m_${set} m
         left join analytics_player_${set} a on a.org_id = $1::uuid and a.dim = m.dim and a.bucket = m.bucket
          and a.value = m.value and a.player_id = m.player_id
     ),
     u_${set} as (
       insert into analytics_player_${set} as a (org_id, dim, bucket, value, player_id, sessions)
       select $1::uuid, dim, bucket, value, player_id, d from m_${set}
       on conflict (org_id, dim, bucket, value, player_id) do update set sessions = a.sessions + excluded.sessions
     ),
     r_${set} as (
       insert into analytics_player_${set === 'hours' ? 'hourly' : 'daily'} as t
         (org_id, dim, bucket, value, sessions, players, reports)
       select $1::uuid, dim, bucket, value, sum(s)::int, sum(p)::int, sum(r)::int from (
         select dim, ${bucket} as bucket, value, w as s, 0 as p, 0 as r from sd
         union all
         select dim, bucket, value, 0, p, 0 from p_${set}
         union all
         select dim, ${bucket}, value, 0, 0, w from rd
       ) x
        group by dim, bucket, value
       having sum(s) <> 0 or sum(p) <> 0 or sum(r) <> 0
       on conflict (org_id, dim, bucket, value) do update set sessions = t.sessions + excluded.sessions,
         players = t.players + excluded.players, reports = t.reports + excluded.reports
     )`;
  const r = await tx.query<{ sessions: number; reports: number }>(
    `with ${stale}
     tz as (select ${ORG_TIME_ZONE} as tz),
     cs as materialized (${sessionSet}),
     cr as materialized (${reportSet}),
     old_s as (
       delete from analytics_session_contributions c using cs
        where c.org_id = $1::uuid and c.session_id = cs.id
       returning c.*
     ),
     fresh_s as materialized (${sessionsOf('cs')}),
     saved_s as (insert into analytics_session_contributions (${SESSION_COLUMNS}) select * from fresh_s),
     old_r as (
       delete from analytics_report_contributions c using cr
        where c.org_id = $1::uuid and c.report_id = cr.id
       returning c.*
     ),
     fresh_r as materialized (${reportsOf('cr')}),
     saved_r as (insert into analytics_report_contributions (${REPORT_COLUMNS}) select * from fresh_r),
     sd as materialized (${sessionsPerDim(`(select -1 as w, ${SESSION_COLUMNS} from old_s
                                            union all select 1, ${SESSION_COLUMNS} from fresh_s)`)}),
     rd as materialized (${reportsPerDim(`(select -1 as w, ${REPORT_COLUMNS} from old_r
                                           union all select 1, ${REPORT_COLUMNS} from fresh_r)`)}),
     ${grain('hours', 'bucket')},
     ${grain('days', 'bucket::date')}
     select (select count(*) from cs)::int as sessions, (select count(*) from cr)::int as reports`,
    [tx.orgId, ...values],
  );
  // Emptied rows go after the upserts (which a sub-statement of the same statement would not see).
  await tx.query(
    `with h as (delete from analytics_player_hours where org_id = $1::uuid and sessions = 0),
          d as (delete from analytics_player_days where org_id = $1::uuid and sessions = 0),
          hh as (delete from analytics_player_hourly where org_id = $1::uuid and sessions = 0 and reports = 0)
     delete from analytics_player_daily where org_id = $1::uuid and sessions = 0 and reports = 0`,
    [tx.orgId],
  );
  return r.rows[0] ?? { sessions: 0, reports: 0 };
}

async function lockWatermark(tx: Tx): Promise<{ xmin: string; snap: string }> {
  await tx.query(
    `insert into analytics_player_watermarks (org_id) values ($1::uuid) on conflict (org_id) do nothing`,
    [tx.orgId],
  );
  const w = await tx.query<{ xmin: string; snap: string }>(
    `select pg_snapshot_xmin(s.snap)::text as xmin, s.snap::text as snap
       from analytics_player_watermarks w
      cross join lateral (select greatest(w.upto, '1'::xid8)::text as x) u
      cross join lateral (select coalesce(w.snap, (u.x || ':' || u.x || ':')::pg_snapshot) as snap) s
      where w.org_id = $1::uuid
        for update of w`,
    [tx.orgId],
  );
  return w.rows[0] as { xmin: string; snap: string };
}

async function currentSnapshot(tx: Tx): Promise<{ upto: string; snap: string }> {
  // A fresh statement, so its snapshot is taken after the watermark's lock was granted.
  const s = await tx.query<{ upto: string; snap: string }>(
    `select pg_snapshot_xmin(pg_current_snapshot())::text as upto, pg_current_snapshot()::text as snap`,
  );
  return s.rows[0] as { upto: string; snap: string };
}

async function saveWatermark(tx: Tx, upto: string, snap: string) {
  await tx.query(
    `update analytics_player_watermarks set upto = $2::xid8, snap = $3::pg_snapshot, folded_at = now()
      where org_id = $1::uuid`,
    [tx.orgId, upto, snap],
  );
}

/**
 * Folds one organization's new, changed and deleted sessions and reports into the player
 * activity rollups, in the caller's transaction. New: stamped by a transaction visible in this
 * fold's snapshot and not in the last one's (migration 190), so a late commit is never skipped;
 * a session that started days ago lands in its own day; refolding a row retracts what it gave
 * last, so a replay never counts twice. The watermark row is locked first.
 */
export async function foldPlayerActivity(tx: Tx): Promise<PlayerFoldResult> {
  const last = await lockWatermark(tx);
  const { upto, snap } = await currentSnapshot(tx);
  const isNew = `txid >= $2::xid8 and txid < pg_snapshot_xmax($4::pg_snapshot)
                 and pg_visible_in_snapshot(txid, $4::pg_snapshot)
                 and not pg_visible_in_snapshot(txid, $3::pg_snapshot)`;
  const r = await refold(
    tx,
    `select id from player_sessions where org_id = $1::uuid and ${isNew}
     union select item_id from stale where kind = 'session'`,
    `select id from player_reports where org_id = $1::uuid and ${isNew}
     union select item_id from stale where kind = 'report'`,
    [last.xmin, last.snap, snap],
    true,
  );
  await saveWatermark(tx, upto, snap);
  return { ...r, upto };
}

const PLAYER_TABLES = [
  'analytics_session_contributions',
  'analytics_report_contributions',
  'analytics_player_hours',
  'analytics_player_days',
  'analytics_player_hourly',
  'analytics_player_daily',
  'analytics_player_stale',
] as const;

/**
 * Rebuilds one organization's player activity rollups from the raw tables (the backfill, after a
 * change of the org's time zone or rollups suspected wrong). Not for the hot path.
 */
export async function rebuildPlayerActivity(tx: Tx): Promise<PlayerFoldResult> {
  await lockWatermark(tx);
  const { upto, snap } = await currentSnapshot(tx);
  for (const table of PLAYER_TABLES)
    await tx.query(`delete from ${table} where org_id = $1::uuid`, [tx.orgId]);
  const r = await refold(
    tx,
    'select id from player_sessions where org_id = $1::uuid',
    'select id from player_reports where org_id = $1::uuid',
    [],
    false,
  );
  await saveWatermark(tx, upto, snap);
  return { ...r, upto };
}

/** The player activity tables a test compares with a recompute. */
export type PlayerGrain =
  | 'session_contributions'
  | 'report_contributions'
  | 'player_hours'
  | 'player_days'
  | 'player_hourly'
  | 'player_daily';
export const PLAYER_GRAINS: readonly PlayerGrain[] = [
  'session_contributions',
  'report_contributions',
  'player_hours',
  'player_days',
  'player_hourly',
  'player_daily',
];

const COLUMNS: Record<PlayerGrain, string> = {
  session_contributions: 'session_id, bucket, player_id, game_id, platform, build',
  report_contributions: 'report_id, bucket, game_id',
  player_hours: 'dim, bucket, value, player_id, sessions',
  player_days: 'dim, bucket, value, player_id, sessions',
  player_hourly: 'dim, bucket, value, sessions, players, reports',
  player_daily: 'dim, bucket, value, sessions, players, reports',
};
const ORDER: Record<PlayerGrain, string> = {
  session_contributions: 'session_id',
  report_contributions: 'report_id',
  player_hours: 'dim, bucket, value, player_id',
  player_days: 'dim, bucket, value, player_id',
  player_hourly: 'dim, bucket, value',
  player_daily: 'dim, bucket, value',
};

/** The org's stored player activity rows of one table, in a stable order. */
export async function storedPlayerRollups(tx: Tx, grain: PlayerGrain): Promise<Record<string, unknown>[]> {
  const r = await tx.query(
    `select ${COLUMNS[grain]} from analytics_${grain} where org_id = $1::uuid order by ${ORDER[grain]}`,
    [tx.orgId],
  );
  return r.rows;
}

/**
 * The same rows computed afresh from player_sessions and player_reports, writing nothing: what
 * the fold must always equal.
 */
export async function recomputedPlayerRollups(
  tx: Tx,
  grain: PlayerGrain,
): Promise<Record<string, unknown>[]> {
  const bucket = grain === 'player_days' || grain === 'player_daily' ? 'bucket::date' : 'bucket';
  const select: Record<PlayerGrain, string> = {
    session_contributions: `select ${COLUMNS[grain]} from s`,
    report_contributions: `select ${COLUMNS[grain]} from r`,
    player_hours: `select dim, ${bucket} as bucket, value, player_id, count(*)::int as sessions
                     from sd group by 1, 2, 3, 4`,
    player_days: `select dim, ${bucket} as bucket, value, player_id, count(*)::int as sessions
                    from sd group by 1, 2, 3, 4`,
    player_hourly: '',
    player_daily: '',
  };
  const summary = `select dim, bucket, value, sum(s)::int as sessions, sum(p)::int as players, sum(r)::int as reports
     from (select dim, ${bucket} as bucket, value, count(*) as s, count(distinct player_id) as p, 0 as r
             from sd group by 1, 2, 3
           union all
           select dim, ${bucket}, value, 0, 0, count(*) from rd group by 1, 2, 3) x
    group by 1, 2, 3`;
  const r = await tx.query(
    `with tz as (select ${ORG_TIME_ZONE} as tz),
     all_s as (select id from player_sessions where org_id = $1::uuid),
     all_r as (select id from player_reports where org_id = $1::uuid),
     s as (${sessionsOf('all_s')}),
     r as (${reportsOf('all_r')}),
     sd as (${sessionsPerDim('(select 1 as w, * from s)')}),
     rd as (${reportsPerDim('(select 1 as w, * from r)')})
     select * from (${select[grain] || summary}) x order by ${ORDER[grain]}`,
    [tx.orgId],
  );
  return r.rows;
}

/**
 * The organizations with sessions or reports to fold, a page at a time, through the
 * gm_player_activity_orgs_to_fold definer function (ids only).
 */
export function playerOrgsToFold(pool: Pool, page = 500): AsyncGenerator<string> {
  return orgIdPages(pool, 'gm_player_activity_orgs_to_fold', page);
}

import {
  CONTRIBUTION_COLUMNS,
  contributionsOf,
  DIM_KEYS,
  ORG_TIME_ZONE,
  perDimension,
  rollupSelect,
  upsertInto,
} from './analytics-sql.js';
import { orgIdPages } from './organizations.js';
import type { Pool } from './pool.js';
import type { Tx } from './tenant.js';

export interface FoldResult {
  /** Tickets refolded (changed, or deleted and retracted). */
  tickets: number;
  /** The transaction id horizon folded up to (xid8, as text). */
  upto: string;
}

/**
 * Folds one organization's ticket changes since its watermark into the rollups, in the caller's
 * transaction. A ticket that changed is refolded whole: what it contributed last time (kept in
 * `analytics_contributions`) is retracted and its current contribution added, so a replay, a
 * late event or events out of order all end in the same rollups as a full recompute. The
 * watermark is a snapshot (migration 121): the events taken are those of transactions committed
 * as of this fold's snapshot and not of the last one, so an event is never skipped because its
 * transaction committed late, and a long transaction elsewhere holds back only its own events.
 * The watermark row is locked first, so two workers folding one org run one after the other.
 */
export async function foldOrg(tx: Tx): Promise<FoldResult> {
  await tx.query(
    `insert into analytics_watermarks (org_id) values ($1::uuid) on conflict (org_id) do nothing`,
    [tx.orgId],
  );
  // The last snapshot folded (before the first fold with one: every transaction below upto).
  const w = await tx.query<{ xmin: string; snap: string }>(
    `select pg_snapshot_xmin(s.snap)::text as xmin, s.snap::text as snap
       from analytics_watermarks w
      cross join lateral (select greatest(w.upto, '1'::xid8)::text as x) u
      cross join lateral (select coalesce(w.snap, (u.x || ':' || u.x || ':')::pg_snapshot) as snap) s
      where w.org_id = $1::uuid
        for update of w`,
    [tx.orgId],
  );
  const last = w.rows[0] as { xmin: string; snap: string };
  // A fresh statement, so its snapshot is taken after the lock was granted.
  const s = await tx.query<{ upto: string; snap: string }>(
    `select pg_snapshot_xmin(pg_current_snapshot())::text as upto, pg_current_snapshot()::text as snap`,
  );
  const { upto, snap } = s.rows[0] as { upto: string; snap: string };
  // New: committed as of this snapshot, not as of the last. A transaction still running holds
  // back its own events only; the range starts at the last snapshot's xmin (all below is folded).
  const isNew = `txid >= $2::xid8 and txid < pg_snapshot_xmax($4::pg_snapshot)
                 and pg_visible_in_snapshot(txid, $4::pg_snapshot)
                 and not pg_visible_in_snapshot(txid, $3::pg_snapshot)`;
  const changed = `(select distinct ticket_id as id from ticket_events where org_id = $1::uuid and ${isNew}
                    union
                    select ticket_id from ticket_sla_events where org_id = $1::uuid and ${isNew}
                    union
                    select ticket_id from stale)`;
  const tickets = await refold(tx, changed, [last.xmin, last.snap, snap], true);
  await tx.query(
    `update analytics_watermarks set upto = $2::xid8, snap = $3::pg_snapshot, folded_at = now()
      where org_id = $1::uuid`,
    [tx.orgId, upto, snap],
  );
  return { tickets, upto };
}

/**
 * Refolds the tickets of `ticketSet` (SQL naming a relation with an `id` column; it may use
 * the CTE `stale`, the noted deletions taken by this statement, when `takeStale`).
 */
async function refold(tx: Tx, ticketSet: string, values: unknown[], takeStale: boolean): Promise<number> {
  const stale = takeStale
    ? `stale as (delete from analytics_stale_tickets where org_id = $1::uuid returning ticket_id),`
    : '';
  const r = await tx.query<{ tickets: number }>(
    `with ${stale}
     tz as (select ${ORG_TIME_ZONE} as tz),
     changed as materialized (${ticketSet}),
     old as (
       delete from analytics_contributions c using changed s
        where c.org_id = $1::uuid and c.ticket_id = s.id
       returning c.*
     ),
     fresh as materialized (${contributionsOf('changed')}),
     saved as (insert into analytics_contributions (${CONTRIBUTION_COLUMNS}) select * from fresh),
     delta as materialized (
       select -1 as w, ${CONTRIBUTION_COLUMNS} from old
       union all
       select 1, ${CONTRIBUTION_COLUMNS} from fresh
     ),
     hourly as (${upsertInto('analytics_hourly', rollupSelect('delta', 'bucket'))}),
     daily as (${upsertInto('analytics_daily', rollupSelect('delta', 'bucket::date'))}),
     hourly_dim as (${upsertInto('analytics_hourly_dim', rollupSelect(perDimension('delta'), 'bucket', DIM_KEYS))}),
     daily_dim as (${upsertInto('analytics_daily_dim', rollupSelect(perDimension('delta'), 'bucket::date', DIM_KEYS))})
     select count(*)::int as tickets from changed`,
    [tx.orgId, ...values],
  );
  // A bucket whose every contribution was retracted is all zeros: drop it (after the upserts,
  // which a data-modifying CTE of the same statement would not see).
  await tx.query(
    `with h as (delete from analytics_hourly where org_id = $1::uuid and n = 0),
          d as (delete from analytics_daily where org_id = $1::uuid and n = 0),
          hd as (delete from analytics_hourly_dim where org_id = $1::uuid and n = 0)
     delete from analytics_daily_dim where org_id = $1::uuid and n = 0`,
    [tx.orgId],
  );
  return r.rows[0]?.tickets ?? 0;
}

/**
 * Rebuilds one organization's rollups from the raw tables (the backfill, after a new dimension
 * or a change of the org's time zone): everything is retracted and refolded, and the watermark
 * set to this transaction's horizon. Not for the hot path.
 */
export async function rebuildOrg(tx: Tx): Promise<FoldResult> {
  await tx.query(
    `insert into analytics_watermarks (org_id) values ($1::uuid) on conflict (org_id) do nothing`,
    [tx.orgId],
  );
  await tx.query(`select 1 from analytics_watermarks where org_id = $1::uuid for update`, [tx.orgId]);
  const s = await tx.query<{ upto: string; snap: string }>(
    `select pg_snapshot_xmin(pg_current_snapshot())::text as upto, pg_current_snapshot()::text as snap`,
  );
  const { upto, snap } = s.rows[0] as { upto: string; snap: string };
  await tx.query(`delete from analytics_contributions where org_id = $1::uuid`, [tx.orgId]);
  await tx.query(`delete from analytics_hourly where org_id = $1::uuid`, [tx.orgId]);
  await tx.query(`delete from analytics_daily where org_id = $1::uuid`, [tx.orgId]);
  await tx.query(`delete from analytics_hourly_dim where org_id = $1::uuid`, [tx.orgId]);
  await tx.query(`delete from analytics_daily_dim where org_id = $1::uuid`, [tx.orgId]);
  await tx.query(`delete from analytics_stale_tickets where org_id = $1::uuid`, [tx.orgId]);
  const tickets = await refold(tx, `select id from tickets where org_id = $1::uuid`, [], false);
  await tx.query(
    `update analytics_watermarks set upto = $2::xid8, snap = $3::pg_snapshot, folded_at = now()
      where org_id = $1::uuid`,
    [tx.orgId, upto, snap],
  );
  return { tickets, upto };
}

/** One rollup row as compared by tests and the benchmark (key and measures, as text). */
export type RollupRow = Record<string, unknown>;

/** The rollup tables by grain: wide (every dimension) or per dimension. */
export type Grain = 'hourly' | 'daily' | 'hourly_dim' | 'daily_dim';
export const GRAINS: readonly Grain[] = ['hourly', 'daily', 'hourly_dim', 'daily_dim'];

const orderOf = (grain: Grain) =>
  grain.endsWith('_dim')
    ? 'kind, bucket, dim, value'
    : 'kind, bucket, team_id, assignee_id, category_id, source, game_id, platform, build, region, priority';

/** The org's stored rollups of one grain, in a stable order. */
export async function storedRollups(tx: Tx, grain: Grain): Promise<RollupRow[]> {
  const r = await tx.query(
    `select * from analytics_${grain} where org_id = $1::uuid order by ${orderOf(grain)}`,
    [tx.orgId],
  );
  return r.rows;
}

/**
 * The rollups computed afresh from the raw tables, in the stored rows' shape and order, without
 * writing anything: what the incremental fold must always equal (and the benchmark's baseline).
 */
export async function recomputedRollups(tx: Tx, grain: Grain): Promise<RollupRow[]> {
  const bucket = grain.startsWith('hourly') ? 'bucket' : 'bucket::date';
  const select = grain.endsWith('_dim')
    ? rollupSelect(perDimension('c'), bucket, DIM_KEYS)
    : rollupSelect('c', bucket);
  const r = await tx.query(
    `with tz as (select ${ORG_TIME_ZONE} as tz),
     everything as (select id from tickets where org_id = $1::uuid),
     c as (select 1 as w, * from (${contributionsOf('everything')}) x)
     select * from (${select}) r order by ${orderOf(grain)}`,
    [tx.orgId],
  );
  return r.rows;
}

/**
 * The organizations with anything to fold (events or SLA events past their watermark, or noted
 * deletions), a page at a time, through the gm_analytics_orgs_to_fold definer function: the
 * scheduled fold visits only these, so idle organizations cost it nothing.
 */
export function orgsToFold(pool: Pool, page = 500): AsyncGenerator<string> {
  return orgIdPages(pool, 'gm_analytics_orgs_to_fold', page);
}

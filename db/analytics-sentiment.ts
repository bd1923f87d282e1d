import { ORG_TIME_ZONE } from './analytics-sql.js';
import { orgIdPages } from './organizations.js';
import type { Pool } from './pool.js';
import type { Tx } from './tenant.js';

/**
 * Sentiment trend rollups (migration 196): scored player messages per local hour and day, in
 * total (dim `*`) and per game, category and team of their ticket: how many, the sum of their
 * scores and how many of each label. Every measure is a count or a sum, so a week, a range or
 * several values merged are sums of stored rows and an average is exact (sum over count).
 * Folded from `messages` past a watermark as analytics-players.ts folds sessions: a message
 * changed since the last fold is refolded whole (what it gave last is retracted), so a replay
 * never counts twice. A message counts while it is scored and not deleted, under its ticket's
 * current game, category and team (as the ticket rollups count replies; a ticket's change of any
 * of them restamps its messages). Dimension values are text, '' for none.
 */

export interface SentimentFoldResult {
  /** Scored messages whose contribution was added, moved or retracted. */
  messages: number;
  upto: string;
}

/** The sentiment dimensions, as the rollups name them. */
export const SENTIMENT_DIMS = ['game_id', 'category_id', 'team_id'] as const;

/** What the messages of `set` (a relation with an `id` column) contribute: one row per counted message. */
const messagesOf = (set: string) => `select m.org_id, m.id as message_id,
       date_trunc('hour', m.created_at at time zone tz.tz) as bucket,
       coalesce(t.game_id::text, '') as game_id, coalesce(t.category_id::text, '') as category_id,
       coalesce(t.team_id::text, '') as team_id, m.sentiment_score as score, m.sentiment_label as label
  from messages m join ${set} c on c.id = m.id cross join tz
  left join tickets t on t.org_id = m.org_id and t.id = m.ticket_id
 where m.org_id = $1::uuid and m.sentiment_label is not null and m.deleted_at is null`;

const COLUMNS = 'org_id, message_id, bucket, game_id, category_id, team_id, score, label';

/** Weighted contribution rows spread over (dim, value). */
const perDim = (weighted: string) => `select x.w, x.bucket, d.dim, d.value, x.score, x.label
  from ${weighted} x
 cross join lateral (values ('*', ''), ('game_id', x.game_id), ('category_id', x.category_id),
                            ('team_id', x.team_id)) d(dim, value)`;

/** Sums weighted per-dimension rows (`sd`) into rollup rows of `bucket`. */
const summed = (sd: string, bucket: string) => `select dim, ${bucket} as bucket, value, sum(w)::int as n,
       sum(w * score)::bigint as score_sum,
       coalesce(sum(w) filter (where label = 'negative'), 0)::int as negative,
       coalesce(sum(w) filter (where label = 'neutral'), 0)::int as neutral,
       coalesce(sum(w) filter (where label = 'positive'), 0)::int as positive
  from ${sd} group by 1, 2, 3`;

const upsert = (table: string, bucket: string) => `insert into ${table} as t
         (org_id, dim, bucket, value, n, score_sum, negative, neutral, positive)
       select $1::uuid, * from (${summed('sd', bucket)}) s
        where n <> 0 or score_sum <> 0 or negative <> 0 or neutral <> 0 or positive <> 0
       on conflict (org_id, dim, bucket, value) do update set n = t.n + excluded.n,
         score_sum = t.score_sum + excluded.score_sum, negative = t.negative + excluded.negative,
         neutral = t.neutral + excluded.neutral, positive = t.positive + excluded.positive`;

/**
 * Refolds the messages of `set` (SQL naming a relation with an `id` column; it may use the CTE
 * `stale` when `takeStale`): retracts what they contributed last and adds what they contribute
 * now, in one statement; then drops emptied rows.
 */
async function refold(tx: Tx, set: string, values: unknown[], takeStale: boolean): Promise<number> {
  const stale = takeStale
    ? `stale as (delete from analytics_sentiment_stale where org_id = $1::uuid returning message_id),`
    : '';
  const r = await tx.query<{ messages: number }>(
    `with ${stale}
     tz as (select ${ORG_TIME_ZONE} as tz),
     cm as materialized (${set}),
     old as (
       delete from analytics_sentiment_contributions c using cm
        where c.org_id = $1::uuid and c.message_id = cm.id
       returning c.*
     ),
     fresh as materialized (${messagesOf('cm')}),
     saved as (insert into analytics_sentiment_contributions (${COLUMNS}) select * from fresh),
     sd as materialized (${perDim(`(select -1 as w, ${COLUMNS} from old
                                     union all select 1, ${COLUMNS} from fresh)`)}),
     h as (${upsert('analytics_sentiment_hourly', 'bucket')}),
     d as (${upsert('analytics_sentiment_daily', 'bucket::date')})
     select (select count(*) from (select message_id from old union select message_id from fresh) x)::int
            as messages`,
    [tx.orgId, ...values],
  );
  // Emptied rows go after the upserts (which a sub-statement of the same statement would not see).
  await tx.query(
    `with h as (delete from analytics_sentiment_hourly where org_id = $1::uuid and n = 0)
     delete from analytics_sentiment_daily where org_id = $1::uuid and n = 0`,
    [tx.orgId],
  );
  return r.rows[0]?.messages ?? 0;
}

async function lockWatermark(tx: Tx): Promise<{ xmin: string; snap: string }> {
  await tx.query(
    `insert into analytics_sentiment_watermarks (org_id) values ($1::uuid) on conflict (org_id) do nothing`,
    [tx.orgId],
  );
  const w = await tx.query<{ xmin: string; snap: string }>(
    `select pg_snapshot_xmin(s.snap)::text as xmin, s.snap::text as snap
       from analytics_sentiment_watermarks w
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
    `update analytics_sentiment_watermarks set upto = $2::xid8, snap = $3::pg_snapshot, folded_at = now()
      where org_id = $1::uuid`,
    [tx.orgId, upto, snap],
  );
}

/**
 * Folds one organization's new, changed and deleted messages into the sentiment rollups, in the
 * caller's transaction. New: stamped by a transaction visible in this fold's snapshot and not in
 * the last one's (migration 196), so a late commit is never skipped. The watermark row is locked
 * first, so two workers folding one org run one after the other.
 */
export async function foldSentiment(tx: Tx): Promise<SentimentFoldResult> {
  const last = await lockWatermark(tx);
  const { upto, snap } = await currentSnapshot(tx);
  const isNew = `txid is not null and txid >= $2::xid8 and txid < pg_snapshot_xmax($4::pg_snapshot)
                 and pg_visible_in_snapshot(txid, $4::pg_snapshot)
                 and not pg_visible_in_snapshot(txid, $3::pg_snapshot)`;
  const messages = await refold(
    tx,
    `select id from messages where org_id = $1::uuid and ${isNew}
     union select message_id from stale`,
    [last.xmin, last.snap, snap],
    true,
  );
  await saveWatermark(tx, upto, snap);
  return { messages, upto };
}

const TABLES = [
  'analytics_sentiment_contributions',
  'analytics_sentiment_hourly',
  'analytics_sentiment_daily',
  'analytics_sentiment_stale',
] as const;

/**
 * Rebuilds one organization's sentiment rollups from `messages` (the backfill, after a change of
 * the org's time zone or rollups suspected wrong). Not for the hot path.
 */
export async function rebuildSentiment(tx: Tx): Promise<SentimentFoldResult> {
  await lockWatermark(tx);
  const { upto, snap } = await currentSnapshot(tx);
  for (const table of TABLES) await tx.query(`delete from ${table} where org_id = $1::uuid`, [tx.orgId]);
  const messages = await refold(
    tx,
    'select id from messages where org_id = $1::uuid and sentiment_label is not null',
    [],
    false,
  );
  await saveWatermark(tx, upto, snap);
  return { messages, upto };
}

/** The sentiment tables a test compares with a recompute. */
export type SentimentGrain = 'sentiment_contributions' | 'sentiment_hourly' | 'sentiment_daily';
export const SENTIMENT_GRAINS: readonly SentimentGrain[] = [
  'sentiment_contributions',
  'sentiment_hourly',
  'sentiment_daily',
];

const GRAIN_COLUMNS: Record<SentimentGrain, string> = {
  sentiment_contributions: 'message_id, bucket, game_id, category_id, team_id, score, label',
  sentiment_hourly: 'dim, bucket, value, n, score_sum, negative, neutral, positive',
  sentiment_daily: 'dim, bucket, value, n, score_sum, negative, neutral, positive',
};
const ORDER: Record<SentimentGrain, string> = {
  sentiment_contributions: 'message_id',
  sentiment_hourly: 'dim, bucket, value',
  sentiment_daily: 'dim, bucket, value',
};

/** The org's stored sentiment rows of one table, in a stable order. */
export async function storedSentimentRollups(
  tx: Tx,
  grain: SentimentGrain,
): Promise<Record<string, unknown>[]> {
  const r = await tx.query(
    `select ${GRAIN_COLUMNS[grain]} from analytics_${grain} where org_id = $1::uuid order by ${ORDER[grain]}`,
    [tx.orgId],
  );
  return r.rows;
}

/** The same rows computed afresh from `messages`, writing nothing: what the fold must always equal. */
export async function recomputedSentimentRollups(
  tx: Tx,
  grain: SentimentGrain,
): Promise<Record<string, unknown>[]> {
  const select =
    grain === 'sentiment_contributions'
      ? `select ${GRAIN_COLUMNS[grain]} from c`
      : `select * from (${summed('sd', grain === 'sentiment_daily' ? 'bucket::date' : 'bucket')}) s where n <> 0`;
  const r = await tx.query(
    `with tz as (select ${ORG_TIME_ZONE} as tz),
     everything as (select id from messages where org_id = $1::uuid),
     c as (${messagesOf('everything')}),
     sd as (${perDim('(select 1 as w, * from c)')})
     select ${GRAIN_COLUMNS[grain]} from (${select}) x order by ${ORDER[grain]}`,
    [tx.orgId],
  );
  return r.rows;
}

/**
 * The organizations with messages to fold, a page at a time, through the
 * gm_sentiment_orgs_to_fold definer function (ids only).
 */
export function sentimentOrgsToFold(pool: Pool, page = 500): AsyncGenerator<string> {
  return orgIdPages(pool, 'gm_sentiment_orgs_to_fold', page);
}

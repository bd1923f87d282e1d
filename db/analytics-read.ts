import { type DimensionColumn, HIST_BINS, ORG_TIME_ZONE } from './analytics-sql.js';
import type { Tx } from './tenant.js';

/** The dimensions as the API names them, and their rollup columns. */
export const DIMENSION_COLUMNS = {
  team: 'team_id',
  assignee: 'assignee_id',
  category: 'category_id',
  source: 'source',
  game: 'game_id',
  platform: 'platform',
  build: 'build',
  region: 'region',
  priority: 'priority',
} as const satisfies Record<string, DimensionColumn>;
export type Dimension = keyof typeof DIMENSION_COLUMNS;
export const DIMENSION_NAMES = Object.keys(DIMENSION_COLUMNS) as Dimension[];
const UUID_DIMENSIONS = new Set<Dimension>(['team', 'assignee', 'category', 'game']);

export type Bucket = 'hour' | 'day' | 'week';
export type Kind = 'opened' | 'resolved' | 'reply';

export interface RollupQuery {
  /** Local dates (the org's time zone), both included. */
  from: string;
  to: string;
  bucket: Bucket;
  filters: Partial<Record<Dimension, string[]>>;
  groupBy?: Dimension | undefined;
}

/** Summed measures of one bucket and group. */
export interface Sums {
  bucket: string;
  group: string | null;
  n: number;
  durN: number;
  durSum: number;
  durHist: number[];
  sla: number;
  breached: number;
  escalated: number;
  reopened: number;
  merged: number;
  rated: number;
  ratingSum: number;
  ratingHist: number[];
}

/** The org's time zone and today's date there. */
export async function orgClock(tx: Tx): Promise<{ timeZone: string; today: string }> {
  const r = await tx.query<{ tz: string; today: string }>(
    `select ${ORG_TIME_ZONE} as tz, (now() at time zone ${ORG_TIME_ZONE})::date::text as today`,
    [tx.orgId],
  );
  const row = r.rows[0] as { tz: string; today: string };
  return { timeZone: row.tz, today: row.today };
}

const sumArray = (col: string, len: number) =>
  `array[${Array.from({ length: len }, (_, i) => `coalesce(sum(${col}[${i + 1}]), 0)`).join(', ')}]::int[]`;

const bucketLabel: Record<Bucket, string> = {
  hour: `to_char(bucket, 'YYYY-MM-DD"T"HH24:00')`,
  day: 'bucket::text',
  week: `date_trunc('week', bucket)::date::text`,
};

/** Adds the filters' `and col = any($n)` clauses, pushing their values. */
function filterSql(filters: RollupQuery['filters'], values: unknown[]): string {
  let sql = '';
  for (const dim of DIMENSION_NAMES) {
    const wanted = filters[dim];
    if (!wanted?.length) continue;
    values.push(wanted);
    sql += ` and ${DIMENSION_COLUMNS[dim]} = any($${values.length}::${UUID_DIMENSIONS.has(dim) ? 'uuid' : 'text'}[])`;
  }
  return sql;
}

/**
 * The measures of one kind of contribution per bucket (and group), read from the hourly rollup
 * for hour buckets and from the daily one otherwise. Only buckets with rows are returned.
 */
export async function rollupSums(tx: Tx, kind: Kind, q: RollupQuery): Promise<Sums[]> {
  const grain = q.bucket === 'hour' ? 'hourly' : 'daily';
  const values: unknown[] = [tx.orgId, kind, q.from, q.to];
  const range =
    grain === 'hourly'
      ? `bucket >= $3::date::timestamp and bucket < ($4::date + 1)::timestamp`
      : `bucket between $3::date and $4::date`;
  const filters = filterSql(q.filters, values);
  const group = q.groupBy ? `${DIMENSION_COLUMNS[q.groupBy]}::text` : 'null::text';
  const r = await tx.query<Sums>(
    `select ${bucketLabel[q.bucket]} as bucket, ${group} as "group",
            sum(n)::int as n, sum(dur_n)::int as "durN", sum(dur_sum)::float8 as "durSum",
            ${sumArray('dur_hist', HIST_BINS)} as "durHist",
            sum(sla)::int as sla, sum(breached)::int as breached, sum(escalated)::int as escalated,
            sum(reopened)::int as reopened, sum(merged)::int as merged, sum(rated)::int as rated,
            sum(rating_sum)::int as "ratingSum", ${sumArray('rating_hist', 5)} as "ratingHist"
       from analytics_${grain}
      where org_id = $1::uuid and kind = $2::text and ${range}${filters}
      group by 1, 2
      order by 1, 2`,
    values,
  );
  return r.rows;
}

/** Tickets opened and resolved before `from`, per group: where the backlog series starts. */
export async function backlogBefore(tx: Tx, q: RollupQuery): Promise<Map<string | null, number>> {
  const values: unknown[] = [tx.orgId, q.from];
  const filters = filterSql(q.filters, values);
  const group = q.groupBy ? `${DIMENSION_COLUMNS[q.groupBy]}::text` : 'null::text';
  const r = await tx.query<{ group: string | null; backlog: number }>(
    `select ${group} as "group",
            (coalesce(sum(n) filter (where kind = 'opened'), 0)
             - coalesce(sum(n) filter (where kind = 'resolved'), 0))::int as backlog
       from analytics_daily
      where org_id = $1::uuid and kind in ('opened', 'resolved') and bucket < $2::date${filters}
      group by 1`,
    values,
  );
  return new Map(r.rows.map((row) => [row.group, row.backlog]));
}

/** Open tickets per assignee right now (live, from the tickets themselves). */
export async function openPerAssignee(
  tx: Tx,
  filters: RollupQuery['filters'],
): Promise<Map<string | null, number>> {
  const values: unknown[] = [tx.orgId];
  // The live tickets table has the same dimensions under its own column names.
  const live = filterSql(filters, values)
    .replaceAll(' source = ', ' origin = ')
    .replaceAll(' platform = ', ` (custom_fields ->> 'platform') = `)
    .replaceAll(' build = ', ` coalesce(custom_fields ->> 'build', custom_fields ->> 'buildVersion') = `)
    .replaceAll(' region = ', ` (custom_fields ->> 'region') = `);
  const r = await tx.query<{ assignee: string | null; open: number }>(
    `select assignee_id::text as assignee, count(*)::int as open
       from tickets
      where org_id = $1::uuid and status in ('open', 'pending', 'on_hold')${live}
      group by 1`,
    values,
  );
  return new Map(r.rows.map((row) => [row.assignee, row.open]));
}

/** Tickets opened per local weekday (1 Monday .. 7 Sunday) and hour. */
export async function openedHeatmap(tx: Tx, q: RollupQuery): Promise<number[][]> {
  const values: unknown[] = [tx.orgId, q.from, q.to];
  const filters = filterSql(q.filters, values);
  const r = await tx.query<{ dow: number; hour: number; n: number }>(
    `select extract(isodow from bucket)::int as dow, extract(hour from bucket)::int as hour, sum(n)::int as n
       from analytics_hourly
      where org_id = $1::uuid and kind = 'opened'
        and bucket >= $2::date::timestamp and bucket < ($3::date + 1)::timestamp${filters}
      group by 1, 2`,
    values,
  );
  const cells = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => 0));
  for (const row of r.rows) (cells[row.dow - 1] as number[])[row.hour] = row.n;
  return cells;
}

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
  /** The durations again in business time (migration 170). */
  bdurN: number;
  bdurSum: number;
  bdurHist: number[];
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

/** A bucket's label, as bucketsOf (api/analytics-report.ts) lists them; `total` is one for all. */
type Label = Bucket | 'total';
const bucketLabel: Record<Label, string> = {
  hour: `to_char(bucket, 'YYYY-MM-DD"T"HH24:00')`,
  day: 'bucket::text',
  week: `date_trunc('week', bucket)::date::text`,
  total: `'total'`,
};

/** Adds the filters' `and col = any($n)` clauses on the wide rollups, pushing their values. */
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
 * Which rollup answers a query, and how: the per-dimension one (migration 120) when the filters
 * and the grouping name at most one dimension between them, which is what the panel asks for
 * (its total, or one row per value a day), else the wide one keyed by every dimension.
 */
function planOf(
  q: Pick<RollupQuery, 'filters' | 'groupBy'>,
  grain: 'hourly' | 'daily',
  values: unknown[],
): { table: string; where: string; group: string } {
  const named = new Set(DIMENSION_NAMES.filter((d) => q.filters[d]?.length));
  if (q.groupBy) named.add(q.groupBy);
  if (named.size > 1) {
    const where = filterSql(q.filters, values);
    const group = q.groupBy ? `${DIMENSION_COLUMNS[q.groupBy]}::text` : 'null::text';
    return { table: `analytics_${grain}`, where, group };
  }
  const [dim] = [...named];
  values.push(dim ? DIMENSION_COLUMNS[dim] : '*');
  let where = ` and dim = $${values.length}::text`;
  const wanted = dim ? q.filters[dim] : undefined;
  if (dim && wanted?.length) {
    // Stored as text: ids in Postgres's lowercase spelling.
    values.push(UUID_DIMENSIONS.has(dim) ? wanted.map((v) => v.toLowerCase()) : wanted);
    where += ` and value = any($${values.length}::text[])`;
  }
  return { table: `analytics_${grain}_dim`, where, group: q.groupBy ? 'value' : 'null::text' };
}

const MEASURE_SUMS = `sum(n)::int as n, sum(dur_n)::int as "durN", sum(dur_sum)::float8 as "durSum",
            ${sumArray('dur_hist', HIST_BINS)} as "durHist",
            sum(sla)::int as sla, sum(breached)::int as breached, sum(escalated)::int as escalated,
            sum(reopened)::int as reopened, sum(merged)::int as merged, sum(rated)::int as rated,
            sum(rating_sum)::int as "ratingSum", ${sumArray('rating_hist', 5)} as "ratingHist",
            sum(bdur_n)::int as "bdurN", sum(bdur_sum)::float8 as "bdurSum",
            ${sumArray('bdur_hist', HIST_BINS)} as "bdurHist"`;
const MEASURE_COLUMNS =
  'n, dur_n, dur_sum, dur_hist, sla, breached, escalated, reopened, merged, rated, rating_sum, rating_hist, bdur_n, bdur_sum, bdur_hist';

export interface SeriesQuery extends Omit<RollupQuery, 'bucket'> {
  bucket: Label;
  /** Also the period from here to the day before `from`, its labels prefixed `prev:`. */
  previousFrom?: string | undefined;
  /** Also everything before the first period summed under the label `before` (the backlog). */
  before?: boolean;
  /**
   * Only the counts (n, merged; the rest zero, the arrays empty): what volume reports. Summing
   * the 24 + 24 + 5 array elements of rows it does not use was most of the grouped volume's time
   * (bench/README.md, run 5).
   */
  countsOnly?: boolean;
  /**
   * With groupBy: only the `groupLimit` groups with the most rows counted (`n` over the current
   * period, all kinds) keep their own series; the rest are summed into one, `other`. Folded here,
   * in the statement, so an answer grouped by a value players choose (a build, a region) is at
   * most groupLimit + 1 series however many values there are.
   */
  groupLimit?: number | undefined;
}

/**
 * The group key of the folded groups' rows (a NUL can't be in a stored value: Postgres text has
 * none); the routes answer it as the series `{ group: 'other', other: true }`.
 */
export const OTHER_GROUP = '\u0000other';

const COUNT_SUMS = `sum(n)::int as n, 0 as "durN", 0::float8 as "durSum", '{}'::int[] as "durHist",
            0 as sla, 0 as breached, 0 as escalated, 0 as reopened, sum(merged)::int as merged, 0 as rated,
            0 as "ratingSum", '{}'::int[] as "ratingHist", 0 as "bdurN", 0::float8 as "bdurSum",
            '{}'::int[] as "bdurHist"`;

/**
 * The measures of `kinds` per bucket and group, in one statement: the range (and the previous
 * period, and what came before, when asked) read from the hourly rollups for hour buckets and
 * the daily ones otherwise. Only buckets with rows are returned.
 */
export async function rollupSeries(
  tx: Tx,
  kinds: Kind[],
  q: SeriesQuery,
): Promise<Array<Sums & { kind: Kind }>> {
  const start = q.previousFrom ?? q.from;
  const values: unknown[] = [tx.orgId, kinds, start, q.to];
  const grain = q.bucket === 'hour' ? 'hourly' : 'daily';
  const range =
    grain === 'hourly'
      ? `bucket >= $3::date::timestamp and bucket < ($4::date + 1)::timestamp`
      : `bucket between $3::date and $4::date`;
  let label = bucketLabel[q.bucket];
  if (q.previousFrom) {
    values.push(q.from);
    const firstDay = grain === 'hourly' ? `$${values.length}::date::timestamp` : `$${values.length}::date`;
    label = `case when bucket < ${firstDay} then 'prev:' || ${label} else ${label} end`;
  }
  const p = planOf(q, grain, values);
  const columns = q.countsOnly ? 'n, merged' : MEASURE_COLUMNS;
  let sql = `select kind, ${label} as label, ${p.group} as grp, ${columns}
       from ${p.table}
      where org_id = $1::uuid and kind = any($2::text[]) and ${range}${p.where}`;
  if (q.before) {
    const b = planOf(q, 'daily', values);
    sql += ` union all
     select kind, 'before', ${b.group}, ${columns}
       from ${b.table}
      where org_id = $1::uuid and kind = any($2::text[]) and bucket < $3::date${b.where}`;
  }
  let other = 'false';
  if (q.groupBy && q.groupLimit !== undefined) {
    // Each group's count over the current period, then its place by that count (ties by value,
    // so the answer is stable); past the limit a row belongs to the one folded group.
    values.push(q.groupLimit);
    const limit = `$${values.length}::int`;
    sql = `select kind, label, case when place <= ${limit} then grp end as grp, place > ${limit} as other,
                  ${columns}
             from (select r2.*, dense_rank() over (order by counted desc, grp nulls first) as place
                     from (select r1.*,
                                  coalesce(sum(n) filter (where label <> 'before' and label not like 'prev:%')
                                           over (partition by grp), 0) as counted
                             from (${sql}) r1) r2) r3`;
    other = 'other';
  }
  const r = await tx.query<Sums & { kind: Kind; other: boolean }>(
    `select kind, label as bucket, grp as "group", ${other} as other, ${q.countsOnly ? COUNT_SUMS : MEASURE_SUMS}
       from (${sql}) r
      group by 1, 2, 3, 4
      order by 2, 3`,
    values,
  );
  return r.rows.map(({ other: folded, ...row }) => (folded ? { ...row, group: OTHER_GROUP } : row));
}

/**
 * Tickets opened per local weekday (1 Monday .. 7 Sunday) and hour, from the daily rollups' n
 * per local hour (migration 170): one row a day instead of 24 hourly rows, which lay one per heap
 * page of the hourly table and made this the slowest dashboard (bench/README.md, run 5).
 */
export async function openedHeatmap(tx: Tx, q: RollupQuery): Promise<number[][]> {
  const values: unknown[] = [tx.orgId, q.from, q.to];
  const p = planOf({ filters: q.filters }, 'daily', values);
  const r = await tx.query<{ dow: number; hours: number[] }>(
    `select extract(isodow from bucket)::int as dow, ${sumArray('hours', 24)} as hours
       from ${p.table}
      where org_id = $1::uuid and kind = 'opened' and bucket between $2::date and $3::date${p.where}
      group by 1`,
    values,
  );
  const cells = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => 0));
  for (const row of r.rows) cells[row.dow - 1] = row.hours;
  return cells;
}

/**
 * The heatmap as it was read before migration 170, from the hourly rollups: kept as the
 * benchmark's same-run baseline and as the test's check that both agree.
 */
export async function openedHeatmapHourly(tx: Tx, q: RollupQuery): Promise<number[][]> {
  const values: unknown[] = [tx.orgId, q.from, q.to];
  const p = planOf({ filters: q.filters }, 'hourly', values);
  const r = await tx.query<{ dow: number; hour: number; n: number }>(
    `select extract(isodow from bucket)::int as dow, extract(hour from bucket)::int as hour, sum(n)::int as n
       from ${p.table}
      where org_id = $1::uuid and kind = 'opened'
        and bucket >= $2::date::timestamp and bucket < ($3::date + 1)::timestamp${p.where}
      group by 1, 2`,
    values,
  );
  const cells = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => 0));
  for (const row of r.rows) (cells[row.dow - 1] as number[])[row.hour] = row.n;
  return cells;
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
